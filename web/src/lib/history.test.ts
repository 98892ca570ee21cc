// @vitest-environment node
import { describe, expect, it } from "vitest";
import { toRollingSample, type RollingSample } from "../store/rollingWindow";
import { GIB, makeMetrics } from "../test/fixtures";
import {
  chartColumns,
  drawnPoints,
  HISTORY_CHARTS,
  HISTORY_RANGES,
  pointsToSamples,
  RANGE_SPECS,
  rangeQuery,
  tooltipValue,
  withGaps,
} from "./history";

const NOW = Date.parse("2025-01-31T12:34:56.789Z");

function at(t: number, overrides: Parameters<typeof makeMetrics>[0] = {}): RollingSample {
  return toRollingSample(makeMetrics(overrides), t);
}

function chart(id: string) {
  const found = HISTORY_CHARTS.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no chart ${id}`);
  return found;
}

describe("rangeQuery", () => {
  it("asks for the range up to now, its start moved back to a whole step", () => {
    expect(rangeQuery("1h", NOW)).toEqual({
      from: "2025-01-31T11:34:50.000Z",
      to: "2025-01-31T12:34:56.789Z",
      step: 10,
      fromMs: Date.parse("2025-01-31T11:34:50Z"),
      toMs: NOW,
    });
    expect(rangeQuery("24h", NOW)).toMatchObject({ from: "2025-01-30T12:34:00.000Z", step: 120 });
    expect(rangeQuery("7d", NOW)).toMatchObject({ from: "2025-01-24T12:30:00.000Z", step: 900 });
    expect(rangeQuery("30d", NOW)).toMatchObject({ from: "2025-01-01T12:00:00.000Z", step: 3600 });
    expect(rangeQuery("live", NOW)).toMatchObject({ from: "2025-01-31T12:24:56.000Z", step: 2 });
  });

  it("keeps every range within a few hundred points and well under the daemon's cap", () => {
    for (const range of HISTORY_RANGES) {
      const { spanMs, stepSeconds } = RANGE_SPECS[range];
      const points = spanMs / (stepSeconds * 1000);
      expect(points).toBeGreaterThanOrEqual(300);
      expect(points).toBeLessThanOrEqual(1000);
    }
    expect(HISTORY_RANGES).toEqual(["live", "1h", "24h", "7d", "30d"]);
  });
});

describe("pointsToSamples", () => {
  it("turns API points into window samples, oldest first, dropping unparsable times", () => {
    const points = [
      makeMetrics({ time: "2025-01-31T12:00:10Z", cpuUsagePercent: 2, swapUsageBytes: 5, load15: 0.5 }),
      makeMetrics({ time: "garbage" }),
      makeMetrics({ time: "2025-01-31T12:00:00Z", cpuUsagePercent: 1, diskUsedBytes: 7 * GIB }),
    ];
    const samples = pointsToSamples(points);
    expect(samples.map((s) => [s.t, s.cpuPercent])).toEqual([
      [Date.parse("2025-01-31T12:00:00Z"), 1],
      [Date.parse("2025-01-31T12:00:10Z"), 2],
    ]);
    expect(samples[0]!.diskUsedBytes).toBe(7 * GIB);
    expect([samples[1]!.swapUsedBytes, samples[1]!.load15]).toEqual([5, 0.5]);
  });
});

describe("withGaps", () => {
  it("puts a null where neighbours are further apart than allowed, and nowhere else", () => {
    const samples = [at(0), at(10_000), at(20_000), at(60_000), at(70_000), at(200_000)];
    const gapped = withGaps(samples, 10_000);
    expect(gapped.times).toEqual([0, 10, 20, 30, 60, 70, 80, 200]);
    expect(gapped.samples.map((s) => (s === null ? null : s.t))).toEqual([
      0, 10_000, 20_000, null, 60_000, 70_000, null, 200_000,
    ]);
  });

  it("joins an agent that reports less often than the step, and still breaks at its silences", () => {
    // Every 30 s against 10 s buckets: each sample a step or two from the next would otherwise
    // be cut off on both sides, and isolated points draw nothing.
    const samples = [at(0), at(30_000), at(60_000), at(90_000), at(300_000), at(330_000)];
    const gapped = withGaps(samples, 10_000);
    expect(gapped.samples.map((s) => (s === null ? null : s.t))).toEqual([
      0, 30_000, 60_000, 90_000, null, 300_000, 330_000,
    ]);
    expect(gapped.times[4]).toBe(120); // the silence begins when the next report was due
  });

  it("draws no gap for an empty or single-sample series", () => {
    expect(withGaps([], 1000)).toEqual({ times: [], samples: [] });
    expect(withGaps([at(5000)], 1000).samples).toHaveLength(1);
  });
});

describe("the charts", () => {
  it("cover CPU, memory, swap, disk use, disk IO, network and load", () => {
    expect(HISTORY_CHARTS.map((c) => c.id)).toEqual(["cpu", "memory", "swap", "disk", "diskIo", "network", "load"]);
    expect(chart("cpu").yRange).toEqual([0, 100]);
    expect(chart("load").series).toHaveLength(3);
  });

  it("give one column per series, null in a gap, and count the moments drawn", () => {
    const gapped = withGaps(
      [
        at(0, { networkRxInstantBps: 100, networkTxInstantBps: 50 }),
        at(10_000, { networkRxInstantBps: 300, networkTxInstantBps: 70 }),
        at(60_000, { networkRxInstantBps: 200, networkTxInstantBps: 90 }),
      ],
      10_000,
    );
    const columns = chartColumns(chart("network"), gapped);
    expect(columns).toEqual([
      [100, 300, null, 200],
      [50, 70, null, 90],
    ]);
    expect(drawnPoints(columns)).toBe(3);
    expect(drawnPoints([])).toBe(0);
  });

  it("format values for people, with the exact figure in the tooltip", () => {
    expect(tooltipValue(chart("memory"), 1.5 * GIB, "en")).toBe("1.5 GiB (1,610,612,736 B)");
    expect(tooltipValue(chart("network"), 2048.25, "en")).toBe("2.0 KiB/s (2,048.3 B/s)");
    expect(tooltipValue(chart("cpu"), 12.3456, "en")).toBe("12% (12.35%)");
    expect(tooltipValue(chart("load"), 0.256, "en")).toBe("0.26 (0.26)");
    expect(tooltipValue(chart("swap"), null, "en")).toBe("—");
    expect(chart("diskIo").format(3 * 1024 * 1024)).toBe("3.0 MiB/s");
  });
});
