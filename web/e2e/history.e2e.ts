/**
 * The detail page's history charts in real headless Chromium, against a real daemon and a real
 * agent: each range (live, 1 h, 24 h, 7 d, 30 d) draws every chart with points, and the charts
 * are painted on their canvases, not just mounted.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { logIn, serverRow } from "./support/browser";
import { PYTHON, RESULTS_DIR, SUPPORT_DIR } from "./support/paths";
import { run } from "./support/processes";
import { useE2ESuite } from "./support/suite";

const RANGES = ["live", "1h", "24h", "7d", "30d"] as const;
// One chart per figure group the issue names: CPU, memory, swap, disk use, disk IO, network, load.
const MIN_CHARTS = 7;

// Thirty days of history at one sample per 5 min, written before the daemon starts (its
// maintenance rolls them up), so every range has a line to draw; the live agent adds the rest.
const suite = useE2ESuite({
  daemon: { pushIntervalSeconds: 1 },
  agentServer: "e2e-history",
  beforeStart: async (daemon, local) => {
    const seeded = await run(PYTHON, [join(SUPPORT_DIR, "seed_history.py"), daemon.dataDir, String(local!.id)]);
    expect(seeded).toMatch(/^seeded 8640 samples/);
  },
});

describe("history charts on the detail page", () => {
  test("every range draws every chart with points, over seeded and live history", async () => {
    const { page } = await suite.newPage();
    await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
    await serverRow(page, suite.local.id).locator('td[data-label="Name"] a').click();
    const detail = page.locator(`[data-testid="server-detail"][data-server-id="${suite.local.id}"]`);
    await detail.waitFor();

    const drawn: Record<string, number[]> = {};
    for (const range of RANGES) {
      await detail.getByTestId(`range-${range}`).click();
      expect(await detail.getByTestId(`range-${range}`).getAttribute("aria-pressed")).toBe("true");
      const charts = detail.locator(`[data-testid="history-chart"][data-range="${range}"]`);
      // Every chart of this range shows at least two points (a line, not a dot): the agent
      // reports every 0.5 s, and the API serves the newest raw samples for the long ranges too.
      const pointsPerChart = () =>
        charts.evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute("data-points"))));
      await expect
        .poll(pointsPerChart, { timeout: 20_000, interval: 200, message: `${range}: points per chart` })
        .toSatisfy((points: number[]) => points.length >= MIN_CHARTS && points.every((count) => count >= 2));
      drawn[range] = await pointsPerChart();
      // Painted: each chart's canvas has coloured pixels inside the plot area.
      const painted = await charts.evaluateAll((nodes) =>
        nodes.map((node) => {
          const canvas = node.querySelector("canvas");
          if (canvas === null || canvas.width === 0 || canvas.height === 0) return 0;
          const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
          let opaque = 0;
          for (let index = 3; index < pixels.length; index += 4) if (pixels[index]! > 0) opaque += 1;
          return opaque;
        }),
      );
      expect(painted.every((opaque) => opaque > 100), `${range}: painted pixels per chart ${painted}`).toBe(true);
    }
    expect(Object.keys(drawn)).toEqual([...RANGES]);
    await page.screenshot({ path: join(RESULTS_DIR, "history-30d.png"), fullPage: true });
  });
});
