/**
 * The real daemon as a child process: `python -m monitord --config <tmp>/monitord.toml`, with its
 * data directory, ports and config in a fresh temporary directory. It can be stopped and started
 * again on the same ports and data, as the reconnect test needs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PYTHON } from "./paths";
import { freePorts } from "./ports";
import { ManagedProcess, run } from "./processes";

export interface DaemonOptions {
  /** `[auth] token_ttl_seconds`; the daemon's default (12 h) when omitted. */
  tokenTtlSeconds?: number;
  /** `[push] interval_seconds`. */
  pushIntervalSeconds?: number;
  /** `[push] status_page_interval_seconds` (issue 16); the daemon's default (5 s) when omitted. */
  statusPageIntervalSeconds?: number;
  /** `[agents] offline_after_seconds`; the daemon's default (15 s) when omitted. */
  offlineAfterSeconds?: number;
}

const READY_TIMEOUT_MS = 30_000;

export class Daemon {
  readonly dir: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** Every run's process, oldest first. */
  private readonly runs: ManagedProcess[] = [];

  private constructor(dir: string, httpPort: number, grpcPort: number, options: DaemonOptions) {
    this.dir = dir;
    this.dataDir = join(dir, "data");
    this.configPath = join(dir, "monitord.toml");
    this.httpPort = httpPort;
    this.grpcPort = grpcPort;
    const lines = [
      `data_dir = ${JSON.stringify(this.dataDir)}`,
      "[http]",
      `listen = "127.0.0.1:${httpPort}"`,
      "[grpc]",
      `listen = "127.0.0.1:${grpcPort}"`,
      "[push]",
      `interval_seconds = ${(options.pushIntervalSeconds ?? 1).toFixed(3)}`,
    ];
    if (options.statusPageIntervalSeconds !== undefined) {
      lines.push(`status_page_interval_seconds = ${options.statusPageIntervalSeconds.toFixed(3)}`);
    }
    if (options.tokenTtlSeconds !== undefined) lines.push("[auth]", `token_ttl_seconds = ${options.tokenTtlSeconds}`);
    if (options.offlineAfterSeconds !== undefined) {
      lines.push("[agents]", `offline_after_seconds = ${options.offlineAfterSeconds.toFixed(3)}`);
    }
    writeFileSync(this.configPath, `${lines.join("\n")}\n`);
  }

  /** Writes the config in a new temporary directory; does not start the daemon. */
  static async create(options: DaemonOptions = {}): Promise<Daemon> {
    const [httpPort, grpcPort] = await freePorts(2);
    const dir = mkdtempSync(join(tmpdir(), "monitord-e2e-"));
    return new Daemon(dir, httpPort!, grpcPort!, options);
  }

  /** `http://127.0.0.1:<port>`: the daemon accepts IP literals and localhost as Host. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get grpcAddress(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  get running(): boolean {
    const current = this.runs.at(-1);
    return current !== undefined && current.exitStatus() === null;
  }

  /** Starts the daemon and resolves once `/api/health` answers; rejects with its output if it cannot. */
  async start(): Promise<void> {
    if (this.running) throw new Error("the daemon is already running");
    const process = new ManagedProcess(`monitord #${this.runs.length + 1}`, PYTHON, [
      "-m",
      "monitord",
      "--config",
      this.configPath,
    ]);
    this.runs.push(process);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (process.exitStatus() !== null) {
        throw new Error(`the daemon exited during start-up:\n${process.tail()}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await process.stop();
    throw new Error(`the daemon did not answer /api/health within ${READY_TIMEOUT_MS} ms:\n${process.tail()}`);
  }

  /** SIGTERM; resolves with the exit status once the process has gone. */
  async stop(): Promise<{ code: number | null; signal: string | null }> {
    const current = this.runs.at(-1);
    if (current === undefined) throw new Error("the daemon was never started");
    return current.stop();
  }

  /** The password of `admin`, written to `{data_dir}/initial-admin-password` by the first start. */
  adminPassword(): string {
    return readFileSync(join(this.dataDir, "initial-admin-password"), "utf8").trim();
  }

  /** The admin password as the first start printed it ("password: ..."), or null. */
  printedAdminPassword(): string | null {
    const first = this.runs[0]?.output() ?? "";
    return /^\s*password: (\S+)$/m.exec(first)?.[1] ?? null;
  }

  /** Runs `python -m monitord ARGS --config <this config>`; resolves with its stdout. */
  cli(...args: string[]): Promise<string> {
    return run(PYTHON, ["-m", "monitord", ...args, "--config", this.configPath]);
  }

  /** Output of every run so far. */
  output(): string {
    return this.runs.map((process) => `--- ${process.name}\n${process.output()}`).join("\n");
  }

  /** Log lines at ERROR or above, and tracebacks, from every run. */
  errorLines(): string[] {
    return this.runs.flatMap((process) => process.errorLines());
  }

  /** Stops the daemon if it runs and removes its directory. */
  async dispose(): Promise<void> {
    try {
      if (this.running) await this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** A logged-in REST client for arranging state through the API (CONTRACT §4). */
export class ApiClient {
  private constructor(
    private readonly baseUrl: string,
    readonly token: string,
  ) {}

  static async login(baseUrl: string, username: string, password: string): Promise<ApiClient> {
    const response = await fetch(`${baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (!response.ok) throw new Error(`login as ${username}: HTTP ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { token: string };
    return new ApiClient(baseUrl, body.token);
  }

  /** Sends one request; rejects unless the status is `expectedStatus`. Resolves with the JSON body, if any. */
  async request<T>(method: string, path: string, body?: unknown, expectedStatus = 200): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expectedStatus) {
      throw new Error(`${method} ${path}: expected HTTP ${expectedStatus}, got ${response.status} ${text}`);
    }
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }
}
