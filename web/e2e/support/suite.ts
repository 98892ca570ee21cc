/**
 * The common frame of an e2e file: one daemon (and, if asked, one registered server with its
 * agent) and one Chromium for the whole file; a fresh browser context per test, checked and
 * closed after it; everything stopped and removed after the file, even when a test failed.
 */
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { registerServer, startAgent, type RegisteredServer } from "./agent";
import { launchChromium, openDashboardPage, type DashboardPage } from "./browser";
import { Daemon, type DaemonOptions } from "./daemon";
import { RESULTS_DIR } from "./paths";
import type { ManagedProcess } from "./processes";
import { Cleanup } from "./processes";

export interface SuiteOptions {
  daemon?: DaemonOptions;
  /** Register a server with this name and run an agent for it (this host's figures). */
  agentServer?: string;
  /** Runs once the server is registered, before the daemon starts (e.g. to seed its database). */
  beforeStart?: (daemon: Daemon, local: RegisteredServer | undefined) => Promise<void>;
}

export interface Suite {
  readonly daemon: Daemon;
  /** The server the agent reports; only with `agentServer`. */
  readonly local: RegisteredServer;
  readonly agent: ManagedProcess;
  readonly browser: Browser;
  /** A fresh context (nothing stored) with a watched page, for the current test only. */
  newPage(): Promise<DashboardPage>;
}

/** Registers the file's hooks; the returned object is usable from `beforeAll` on. */
export function useE2ESuite(options: SuiteOptions = {}): Suite {
  const cleanup = new Cleanup();
  let daemon: Daemon | undefined;
  let local: RegisteredServer | undefined;
  let agent: ManagedProcess | undefined;
  let browser: Browser | undefined;
  let current: DashboardPage | null = null;
  let logName = "e2e";

  beforeAll(async ({}, file) => {
    logName = basename(file.file.filepath).replace(/\.e2e\.ts$/, "");
    daemon = await Daemon.create(options.daemon);
    cleanup.defer(() => daemon!.dispose());
    if (options.agentServer !== undefined) local = await registerServer(daemon, options.agentServer);
    await options.beforeStart?.(daemon, local);
    await daemon.start();
    if (local !== undefined) {
      agent = startAgent(daemon, local);
      cleanup.defer(() => agent!.stop());
    }
    browser = await launchChromium();
    cleanup.defer(() => browser!.close());
  });

  afterEach(async () => {
    if (current === null) return;
    const { context, watch } = current;
    current = null;
    await context.close();
    expect(watch.problems(), "console errors, page errors, CSP violations or failed requests").toEqual([]);
    expect(watch.dialogs, "dialogs the page opened").toEqual([]);
  });

  afterAll(async () => {
    try {
      await cleanup.run();
    } finally {
      // Kept for reading after a failure: web/test-results/e2e/<file>.daemon.log and .agent.log.
      if (daemon !== undefined) writeFileSync(join(RESULTS_DIR, `${logName}.daemon.log`), daemon.output());
      if (agent !== undefined) writeFileSync(join(RESULTS_DIR, `${logName}.agent.log`), agent.output());
    }
    const errors = [...(daemon?.errorLines() ?? []), ...(agent?.errorLines() ?? [])];
    expect(errors, "error lines the daemon or agent logged").toEqual([]);
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not available (set up in beforeAll, or not asked for)`);
    return value;
  };
  return {
    get daemon() {
      return ready(daemon, "the daemon");
    },
    get local() {
      return ready(local, "the agent's server");
    },
    get agent() {
      return ready(agent, "the agent");
    },
    get browser() {
      return ready(browser, "the browser");
    },
    async newPage() {
      if (current !== null) throw new Error("one page per test");
      current = await openDashboardPage(ready(browser, "the browser"));
      return current;
    },
  };
}
