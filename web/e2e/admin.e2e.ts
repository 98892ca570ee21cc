/**
 * Administration in real Chromium against the real daemon (issue 14): an admin adds a server,
 * copies the install command, runs it (--no-systemd, temp prefix, no package index) and sees
 * the host go online without a reload; a new token cuts the agent off and the command with it
 * brings it back; a viewer created in the UI sees no admin controls.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import { logIn } from "./support/browser";
import { RESULTS_DIR } from "./support/paths";
import { useE2ESuite } from "./support/suite";

const suite = useE2ESuite({ daemon: { pushIntervalSeconds: 1 } });
const prefix = mkdtempSync(join(tmpdir(), "monitord-e2e-install-"));
const installs: { child: ChildProcess; output: () => string }[] = [];

afterAll(() => {
  for (const { child } of installs) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }
  rmSync(prefix, { recursive: true, force: true });
});

/**
 * Runs the copied command as a container would (no sudo; --no-systemd into a temp prefix), with
 * no package index reachable, the token typed on stdin. Returns once it is started; it keeps
 * running the agent in the foreground.
 */
function runInstallCommand(command: string, token: string) {
  const line = `${command.replace(/^sudo /, "")} --no-systemd --prefix ${prefix}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PIP_CONFIG_FILE: "/dev/null", PIP_INDEX_URL: "http://127.0.0.1:9/simple/" };
  delete env.PYTHONPATH;
  delete env.VIRTUAL_ENV;
  const child = spawn("sh", ["-c", line], { env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(`${token}\n`);
  const install = { child, output: () => output };
  installs.push(install);
  return install;
}

async function stopInstall(install: { child: ChildProcess }) {
  const { child } = install;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("close", resolve));
  process.kill(-child.pid, "SIGTERM");
  await exited;
}

const adminRow = (page: Page, name: string) => page.locator("li.admin-list__item", { hasText: name });

describe("administration in the dashboard", () => {
  test("add a server, paste its command, see it online; a new token cuts it off and brings it back", async () => {
    const { page, context } = await suite.newPage();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: suite.daemon.baseUrl });
    await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
    await page.click('[data-testid="nav-admin-servers"]');
    await page.click("text=Add server");
    await page.fill('[role="dialog"] input[name="name"]', "e2e-installed");
    await page.keyboard.press("Enter");
    const dialog = page.locator('[data-testid="install-dialog"]');
    await dialog.waitFor();
    await page.screenshot({ path: join(RESULTS_DIR, "admin-add-server.png"), fullPage: true });

    await page.click('[data-testid="install-command-copy"]');
    await dialog.locator("text=Copied").waitFor();
    const command = await page.evaluate(() => navigator.clipboard.readText());
    expect(command).toBe(await page.inputValue('[data-testid="install-command"]'));
    expect(command).toContain(`${suite.daemon.baseUrl}/agent/install.sh`);
    expect(command).toContain(`--grpc 127.0.0.1:${suite.daemon.grpcPort}`);
    const token = await page.inputValue('[data-testid="agent-token"]');
    await page.click('[role="dialog"] button:has-text("Close")');

    const first = runInstallCommand(command, token);
    const row = adminRow(page, "e2e-installed");
    await expect
      .poll(() => row.locator("[data-status]").getAttribute("data-status"), { timeout: 90_000, interval: 500 })
      .toBe("online");
    expect(first.output()).toContain("running the agent in the foreground");

    // A new token from the UI: the running agent is refused from now on.
    await row.locator('button:has-text("New token")').click();
    await page.locator('[data-testid="confirm-dialog"] button:has-text("New token")').click();
    const newToken = await page.inputValue('[data-testid="agent-token"]');
    expect(newToken).not.toBe(token);
    const newCommand = await page.inputValue('[data-testid="install-command"]');
    await page.click('[role="dialog"] button:has-text("Close")');
    await expect.poll(() => first.output(), { timeout: 30_000 }).toContain("the daemon rejected this agent's token");
    await stopInstall(first);

    // The same command with the new token: the host reports again, still without a reload.
    await expect
      .poll(() => row.locator("[data-status]").getAttribute("data-status"), { timeout: 30_000, interval: 500 })
      .toBe("offline");
    const second = runInstallCommand(newCommand, newToken);
    await expect
      .poll(() => row.locator("[data-status]").getAttribute("data-status"), { timeout: 60_000, interval: 500 })
      .toBe("online");
    expect(second.output()).not.toContain("rejected");
    await stopInstall(second);
  }, 180_000);

  test("a viewer created in the UI sees no admin controls", async () => {
    const { page } = await suite.newPage();
    await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
    await page.click('[data-testid="nav-users"]');
    await page.click("text=Add user");
    await page.fill('[role="dialog"] input[name="username"]', "vera");
    await page.fill('[role="dialog"] input[name="password"]', "viewer-password");
    await page.click('[data-testid="add-user-dialog"] button[type="submit"]');
    await page.locator('[data-testid="user-vera"]').waitFor();
    await page.screenshot({ path: join(RESULTS_DIR, "admin-users.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(RESULTS_DIR, "admin-users-phone.png"), fullPage: true });

    const viewer = await suite.browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 } });
    try {
      const viewerPage = await viewer.newPage();
      await logIn(viewerPage, suite.daemon.baseUrl, "vera", "viewer-password");
      expect(await viewerPage.locator('[data-testid="nav-account"]').count()).toBe(1);
      expect(await viewerPage.locator('[data-testid="nav-admin-servers"], [data-testid="nav-users"]').count()).toBe(0);
      await viewerPage.goto(`${suite.daemon.baseUrl}/admin/servers`);
      await viewerPage.locator('[data-testid="nav-account"]').waitFor();
      expect(await viewerPage.locator('[data-testid="admin-servers-page"], button:has-text("Add server")').count()).toBe(0);
    } finally {
      await viewer.close();
    }
  });
});
