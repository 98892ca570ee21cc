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

    for (const range of RANGES) {
      await detail.getByTestId(`range-${range}`).click();
      expect(await detail.getByTestId(`range-${range}`).getAttribute("aria-pressed")).toBe("true");
      const charts = detail.locator(`[data-testid="history-chart"][data-range="${range}"]`);
      // Every chart of this range shows at least two points (a line, not a dot), from the
      // seeded history and the live agent.
      const pointsPerChart = () =>
        charts.evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute("data-points"))));
      await expect
        .poll(pointsPerChart, { timeout: 20_000, interval: 200, message: `${range}: points per chart` })
        .toSatisfy((points: number[]) => points.length >= MIN_CHARTS && points.every((count) => count >= 2));
      // Painted: each chart's canvas carries its lines, i.e. pixels in the colour of one of its
      // series' legend markers (axes and grid are drawn in other colours; a series at zero may
      // lie under another, so any of them counts).
      const linePixelsPerChart = () =>
        charts.evaluateAll((nodes) =>
        nodes.map((node) => {
          const canvas = node.querySelector("canvas");
          const markers = [...node.querySelectorAll(".u-legend .u-series:not(:first-child) .u-marker")];
          if (canvas === null || markers.length === 0 || canvas.width === 0 || canvas.height === 0) return 0;
          const colours = markers.map((marker) => (getComputedStyle(marker).borderColor.match(/\d+/g) ?? []).map(Number));
          // Read through a copy made for reading, as Chromium asks of repeated readbacks.
          const copy = document.createElement("canvas");
          copy.width = canvas.width;
          copy.height = canvas.height;
          const reader = copy.getContext("2d", { willReadFrequently: true })!;
          reader.drawImage(canvas, 0, 0);
          const pixels = reader.getImageData(0, 0, copy.width, copy.height).data;
          let lineColoured = 0;
          for (let index = 0; index < pixels.length; index += 4) {
            if (pixels[index + 3]! <= 200) continue;
            const [r, g, b] = [pixels[index]!, pixels[index + 1]!, pixels[index + 2]!];
            if (colours.some(([cr, cg, cb]) => Math.abs(r - cr!) + Math.abs(g - cg!) + Math.abs(b - cb!) < 30)) {
              lineColoured += 1;
            }
          }
          return lineColoured;
        }),
      );
      await expect
        .poll(linePixelsPerChart, { timeout: 10_000, interval: 200, message: `${range}: line-coloured pixels per chart` })
        .toSatisfy((counts: number[]) => counts.length >= MIN_CHARTS && counts.every((count) => count > 20));
    }
    await page.screenshot({ path: join(RESULTS_DIR, "history-30d.png"), fullPage: true });
  });
});
