/**
 * Child processes the tests start (daemon, agent): output kept for failure messages, stopped
 * with SIGTERM then SIGKILL, and killed outright if the test worker exits without stopping them.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";

const running = new Set<ChildProcess>();
// Last resort for a worker that dies mid-test: never leave a daemon holding a port.
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

const MAX_OUTPUT_CHARS = 1_000_000;
/** Python log lines at these levels (monitord's format: date time LEVEL logger: message), and tracebacks. */
const ERROR_LINE = /^\S+ \S+ (ERROR|CRITICAL) |^Traceback /;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly name: string;
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private outputText = "";
  private exit: Exit | null = null;

  constructor(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.name = name;
    this.child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PYTHONUNBUFFERED: "1", ...env },
    });
    running.add(this.child);
    const keep = (chunk: Buffer) => {
      this.outputText += chunk.toString("utf8");
      if (this.outputText.length > MAX_OUTPUT_CHARS) this.outputText = this.outputText.slice(-MAX_OUTPUT_CHARS);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.on("error", (error) => {
        this.outputText += `\n[${name}: ${error.message}]\n`;
      });
      this.child.on("close", (code, signal) => {
        running.delete(this.child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string {
    return this.outputText;
  }

  /** The exit status, or null while it runs. */
  exitStatus(): Exit | null {
    return this.exit;
  }

  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. Returns how it ended. */
  async stop(timeoutMs = 10_000): Promise<Exit> {
    if (this.exit !== null) return this.exit;
    this.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  /** Log lines at ERROR or above, and tracebacks. */
  errorLines(): string[] {
    return this.outputText.split("\n").filter((line) => ERROR_LINE.test(line));
  }

  /** The last `lines` lines of output, for error messages. */
  tail(lines = 30): string {
    return this.outputText.trimEnd().split("\n").slice(-lines).join("\n");
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? "");
  });
}

/** Runs the registered cleanups in reverse order, all of them, then throws the first error. */
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];

  defer(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
