/**
 * The live connection survives a daemon restart: stopping the daemon turns the indicator to
 * `reconnecting`, and starting it again on the same ports brings the page back to `connected`
 * by itself, without a reload.
 */
import { expect, test } from "vitest";
import { logIn, serverRow, waitForConnectionStatus } from "./support/browser";
import { PushLog } from "./support/pushes";
import { useE2ESuite } from "./support/suite";

const suite = useE2ESuite({ daemon: { pushIntervalSeconds: 1 }, agentServer: "e2e-local" });

test("a daemon restart shows reconnecting, then connected again without a page reload", async () => {
  const { page, watch } = await suite.newPage();
  const log = PushLog.attach(page);
  await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
  const status = serverRow(page, suite.local.id).locator('td[data-label="Status"]');
  await expect.poll(() => status.innerText()).toBe("Online");

  // Proof of no reload: a reload would drop this marker and start a new navigation.
  const page0 = await page.evaluate(() => {
    const marker = crypto.randomUUID();
    (window as unknown as { __e2eMarker: string }).__e2eMarker = marker;
    return { marker, timeOrigin: performance.timeOrigin };
  });
  // Every connection status the indicator shows from here on, in order.
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

  // While the daemon is away, the browser's failed attempts (WebSocket retries, the session
  // check on /api/auth/me) are expected; only those, and only until it is back.
  const endAllowance = [
    watch.allow(/^console\.error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws\/servers' failed/),
    watch.allow(/^console\.error: Failed to load resource: net::ERR_CONNECTION_REFUSED$/),
    watch.allow(/^request failed: GET http:\/\/127\.0\.0\.1:\d+\/api\/auth\/me \(net::ERR_CONNECTION_REFUSED\)$/),
  ];

  const stoppedAt = Date.now();
  expect(await suite.daemon.stop(), "the daemon's exit on SIGTERM").toEqual({ code: 0, signal: null });
  await waitForConnectionStatus(page, "reconnecting", 5_000);

  await suite.daemon.start();
  const restartedAt = Date.now();
  // Retries run 1, 2, 4, 8 s apart from the drop; the daemon is back within a few seconds,
  // so one of the first four attempts (at most 15 s after the drop) finds it.
  await waitForConnectionStatus(page, "connected", 25_000);
  const reconnectedAt = Date.now();
  for (const end of endAllowance) end();

  const page1 = await page.evaluate(() => ({
    marker: (window as unknown as { __e2eMarker?: string }).__e2eMarker,
    timeOrigin: performance.timeOrigin,
    navigations: performance.getEntriesByType("navigation").length,
  }));
  expect(page1).toEqual({ ...page0, navigations: 1 });
  const statuses = await page.evaluate(() => (window as unknown as { __e2eStatuses: string[] }).__e2eStatuses);
  expect(statuses[0]).toBe("connected");
  expect(statuses).toContain("reconnecting");
  expect(statuses.at(-1)).toBe("connected");
  expect(statuses.filter((s) => !["connected", "reconnecting", "error"].includes(s))).toEqual([]);

  // Live again: new pushes arrive, and the agent, back too, has the server online again.
  const pushes = log.pushes.length;
  await expect.poll(() => log.pushes.length, { timeout: 10_000 }).toBeGreaterThan(pushes);
  await expect.poll(() => status.innerText(), { timeout: 15_000 }).toBe("Online");
  console.log(
    `daemon down for ${restartedAt - stoppedAt} ms; page connected again ${reconnectedAt - restartedAt} ms ` +
      `after the restart; statuses: ${statuses.join(" → ")}`,
  );
});
