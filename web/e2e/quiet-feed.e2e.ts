/**
 * A live feed that goes silent while its socket stays open (a dead path: nothing is closed,
 * nothing arrives) is noticed by the page: it shows `reconnecting` and connects again by
 * itself. A proxy in front of the real daemon lets the first WebSocket through up to its first
 * list and then forwards nothing more.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { logIn, serverRow, waitForConnectionStatus } from "./support/browser";
import { PushLog } from "./support/pushes";
import { QuietProxy } from "./support/quietProxy";
import { useE2ESuite } from "./support/suite";

const suite = useE2ESuite({ daemon: { pushIntervalSeconds: 1 }, agentServer: "e2e-local" });
let proxy: QuietProxy;

beforeAll(async () => {
  proxy = await QuietProxy.start(suite.daemon.httpPort);
});

afterAll(async () => {
  await proxy?.close();
});

test("a feed that goes quiet after its first list shows reconnecting, then reconnects", async () => {
  const { page } = await suite.newPage();
  const log = PushLog.attach(page);
  proxy.quietNext(1);
  await logIn(page, proxy.baseUrl, "admin", suite.daemon.adminPassword());
  const connectedAt = Date.now();
  // The one list that came through is shown.
  await serverRow(page, suite.local.id).waitFor();
  expect(proxy.quieted).toBe(1);
  await page.evaluate(() => {
    const statuses: string[] = [];
    (window as unknown as { __e2eStatuses: string[] }).__e2eStatuses = statuses;
    const record = () => {
      const now = document.querySelector('[data-testid="connection-status"]')?.getAttribute("data-status") ?? "(none)";
      if (statuses.at(-1) !== now) statuses.push(now);
    };
    record();
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-status"],
    });
  });

  // Before any gap between pushes was seen the page assumes the daemon's default 2 s
  // interval, so it gives up after 3 × 2 s of silence.
  await waitForConnectionStatus(page, "reconnecting", 15_000);
  const silentMs = Date.now() - connectedAt;
  expect(silentMs).toBeGreaterThanOrEqual(5_000);
  expect(log.pushes).toHaveLength(1);

  // The retry (within 1 s) goes through the proxy untouched: connected and live again.
  await waitForConnectionStatus(page, "connected", 10_000);
  const reconnectedAt = Date.now();
  await expect.poll(() => log.pushes.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
  expect(await serverRow(page, suite.local.id).locator('td[data-label="Status"]').innerText()).toBe("Online");
  const statuses = await page.evaluate(() => (window as unknown as { __e2eStatuses: string[] }).__e2eStatuses);
  expect(statuses).toEqual(["connected", "reconnecting", "connected"]);
  expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);
  console.log(
    `quiet feed noticed ${silentMs} ms after connecting; connected again ${reconnectedAt - connectedAt - silentMs} ms later`,
  );
});
