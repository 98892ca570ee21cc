/**
 * Tags, grants and public status pages (issue 16) in real Chromium against a real daemon and
 * agent: an admin tags servers and creates a page in the UI; a viewer with a tag grant sees only
 * those servers, also after a reload; a logged-out browser follows the status page live while
 * the agent goes offline, and nothing on it names the host.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import type { Page } from "playwright-core";
import { logIn, recordSocketCloses, serverRow, socketCloseCodes } from "./support/browser";
import { ApiClient } from "./support/daemon";
import { RESULTS_DIR } from "./support/paths";
import { useE2ESuite } from "./support/suite";

const suite = useE2ESuite({
  daemon: { pushIntervalSeconds: 1, statusPageIntervalSeconds: 1, offlineAfterSeconds: 3 },
  agentServer: "e2e-web",
});
let admin: ApiClient;
let dbId: number;

async function rowIds(page: Page): Promise<number[]> {
  const rows = await page.locator('[data-testid="server-row"]').all();
  return Promise.all(rows.map(async (row) => Number(await row.getAttribute("data-server-id"))));
}

beforeAll(async () => {
  admin = await ApiClient.login(suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
  const created = await admin.request<{ server: { id: number } }>("POST", "/api/servers", { name: "e2e-db" }, 201);
  dbId = created.server.id;
});

describe("tags, grants and status pages", () => {
  test("an admin tags servers in the list and creates a status page", async () => {
    const { page } = await suite.newPage();
    await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
    await page.click('[data-testid="tag-editor"] summary');
    // One server at a time ...
    await page.check(`[data-testid="tag-editor"] input[data-server-id="${suite.local.id}"]`);
    await page.fill('[data-testid="tag-editor"] input[name="tag"]', "web");
    await page.click('[data-testid="tag-editor"] button:has-text("Add tag")');
    await page.waitForSelector('[data-testid="tag-editor"] [role="status"]:has-text("1 servers")');
    // ... and many at once.
    await page.click('[data-testid="tag-editor"] button:has-text("Select all")');
    await page.fill('[data-testid="tag-editor"] input[name="tag"]', "fleet");
    await page.click('[data-testid="tag-editor"] button:has-text("Add tag")');
    await page.waitForSelector('[data-testid="tag-editor"] [role="status"]:has-text("2 servers")');

    // Filtered by a tag, in the URL; then grouped with per-group counts.
    await expect.poll(() => page.locator('select[name="tag"] option').allInnerTexts()).toEqual(["All tags", "fleet", "web"]);
    await page.selectOption('select[name="tag"]', "web");
    await page.waitForURL(/\?tag=web$/);
    await expect.poll(() => page.locator('[data-testid="server-row"]').count()).toBe(1);
    expect(await serverRow(page, suite.local.id).count()).toBe(1);
    await page.selectOption('select[name="tag"]', "");
    await page.check('input[name="group"]');
    await page.waitForURL(/\?group=tag$/);
    const fleetGroup = page.locator('details.tag-group[data-tag="fleet"]');
    await expect.poll(() => fleetGroup.locator('[data-testid="group-counts"]').innerText()).toMatch(/^2 servers · [12] online/);
    await fleetGroup.locator("summary").click(); // collapsible
    expect(await fleetGroup.getAttribute("open")).toBeNull();

    await page.click('a:has-text("Status pages")');
    await page.waitForURL(/\/status-pages$/);
    await page.fill('input[name="slug"]', "fleet");
    await page.fill('input[name="title"]', "Fleet status");
    await page.fill('textarea[name="description"]', "Our servers, live.");
    await page.fill('input[name="tags"]', "fleet");
    await page.check('input[name="field"][value="cpu"]');
    await page.click('[data-testid="status-page-form"] button[type="submit"]');
    await page.waitForSelector('[data-testid="status-pages"] li[data-slug="fleet"]');
  });

  test("a viewer with a tag grant sees only those servers, after a reload and after a grant change", async () => {
    const user = await admin.request<{ id: number }>(
      "POST",
      "/api/users",
      { username: "vera", password: "viewer-password", role: "viewer" },
      201,
    );
    await admin.request("PATCH", `/api/servers/${dbId}`, { tags: ["db", "fleet"] });
    await admin.request("PUT", `/api/users/${user.id}/grant`, { all: false, tags: ["db"], serverIds: [] });
    const { page } = await suite.newPage();
    await logIn(page, suite.daemon.baseUrl, "vera", "viewer-password");
    await expect.poll(() => page.locator('[data-testid="server-row"]').count()).toBe(1);
    expect(await serverRow(page, dbId).count()).toBe(1);
    expect(await page.locator('[data-testid="tag-editor"]').count()).toBe(0);
    await page.reload();
    await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]');
    await expect.poll(() => page.locator('[data-testid="server-row"]').count()).toBe(1);
    expect(await serverRow(page, suite.local.id).count()).toBe(0);

    // A new grant closes the open socket (4403); the dashboard reconnects by itself and shows
    // the new set, without a reload.
    await recordSocketCloses(page);
    await page.reload();
    await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]');
    await admin.request("PUT", `/api/users/${user.id}/grant`, { all: false, tags: ["web"], serverIds: [] });
    await expect.poll(() => socketCloseCodes(page)).toEqual([4403]);
    await expect.poll(() => rowIds(page)).toEqual([suite.local.id]);
    await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]');
  });

  test("a logged-out browser follows the status page live as the agent goes offline", async () => {
    const { page } = await suite.newPage();
    await page.goto(`${suite.daemon.baseUrl}/status/fleet`);
    await page.waitForSelector('[data-testid="status-page"][data-live="true"]');
    const web = page.locator('[data-testid="status-server"]', { hasText: "e2e-web" });
    await expect.poll(() => web.getAttribute("data-status"), { timeout: 15_000 }).toBe("online");
    expect(await page.locator("h1").innerText()).toBe("Fleet status");
    await page.screenshot({ path: join(RESULTS_DIR, "status-page.png"), fullPage: true });
    // Usable at phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 740 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(RESULTS_DIR, "status-page-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    const text = await page.content();
    expect(text).not.toContain(hostname());
    expect(page.url()).toBe(`${suite.daemon.baseUrl}/status/fleet`);

    await suite.agent.stop();
    await expect.poll(() => web.getAttribute("data-status"), { timeout: 20_000 }).toBe("offline");
    await page.screenshot({ path: join(RESULTS_DIR, "status-page-offline.png"), fullPage: true });
  });
});
