/**
 * The real agent as a child process, reporting this host to a {@link Daemon} over gRPC.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Daemon } from "./daemon";
import { PYTHON } from "./paths";
import { ManagedProcess } from "./processes";

export interface RegisteredServer {
  id: number;
  name: string;
  tokenFile: string;
}

/** `python -m monitord server add NAME --token-file F`: registers a server in the daemon's database. */
export async function registerServer(daemon: Daemon, name: string): Promise<RegisteredServer> {
  const tokenFile = join(daemon.dir, `${name}.token`);
  const output = await daemon.cli("server", "add", name, "--token-file", tokenFile);
  const match = /^server (\d+) registered/m.exec(output);
  if (match === null) throw new Error(`unexpected output from server add:\n${output}`);
  return { id: Number(match[1]), name, tokenFile };
}

export interface AgentOptions {
  /**
   * The hostname the agent reports instead of this host's (for hostile-input tests): the real
   * agent runs with `socket.gethostname` replaced, so everything else it sends stays real.
   */
  hostname?: string;
}

/**
 * Starts `python -m monitord.agent` for `server`, sampling every 0.5 s and retrying a lost
 * daemon within a second (the reconnect test restarts the daemon).
 */
export function startAgent(daemon: Daemon, server: RegisteredServer, options: AgentOptions = {}): ManagedProcess {
  const configPath = join(daemon.dir, `${server.name}.agent.toml`);
  writeFileSync(
    configPath,
    [
      `server = "${daemon.grpcAddress}"`,
      `token_file = ${JSON.stringify(server.tokenFile)}`,
      "interval_seconds = 0.5",
      "reconnect_max_seconds = 1.0",
      "",
    ].join("\n"),
  );
  const agentArgs = ["--config", configPath];
  if (options.hostname === undefined) {
    return new ManagedProcess(`agent ${server.name}`, PYTHON, ["-m", "monitord.agent", ...agentArgs]);
  }
  const launcher = [
    "import runpy, socket, sys",
    `socket.gethostname = lambda: ${JSON.stringify(options.hostname)}`,
    'runpy.run_module("monitord.agent", run_name="__main__", alter_sys=True)',
  ].join("\n");
  return new ManagedProcess(`agent ${server.name}`, PYTHON, ["-c", launcher, ...agentArgs]);
}
