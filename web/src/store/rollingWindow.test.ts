// @vitest-environment node
import { describe, expect, it } from "vitest";
import { makeMetrics, makeServer } from "../test/fixtures";
import type { VpsListItemResponse } from "../types";
import {
  advanceWindow,
  appendSample,
  DEFAULT_ROLLING_WINDOW,
  EMPTY_WINDOW,
  latestSample,
  seedSamples,
  toRollingSample,
  type RollingSample,
  type RollingWindow,
} from "./rollingWindow";

const T0 = Date.parse("2025-01-31T12:00:00Z");
/** Every id these tests use, watched. */
const ALL: ReadonlySet<number> = new Set(Array.from({ length: 100 }, (_, i) => i + 1));

function serverAt(id: number, offsetMs: number, cpu = 1): VpsListItemResponse {
  return makeServer({
    id,
    latestMetrics: makeMetrics({ time: new Date(T0 + offsetMs).toISOString(), cpuUsagePercent: cpu }),
  });
}

describe("advanceWindow", () => {
  it("appends one compact sample per new metrics time", () => {
    let window: RollingWindow = EMPTY_WINDOW;
    window = advanceWindow(window, [serverAt(1, 0, 5)], ALL);
    window = advanceWindow(window, [serverAt(1, 2000, 7)], ALL);
    expect(window.get(1)).toEqual([
      toRollingSample(makeMetrics({ time: "", cpuUsagePercent: 5 }), T0),
      toRollingSample(makeMetrics({ time: "", cpuUsagePercent: 7 }), T0 + 2000),
    ]);
  });

  it("does not count a repeated sample twice (offline servers repeat their last one)", () => {
    let window = advanceWindow(EMPTY_WINDOW, [serverAt(1, 0)], ALL);
    const once = window.get(1);
    window = advanceWindow(window, [serverAt(1, 0)], ALL);
    window = advanceWindow(window, [serverAt(1, -5000)], ALL);
    expect(window.get(1)).toBe(once);
    expect(window.get(1)).toHaveLength(1);
  });

  it("shares the arrays of servers without a new sample", () => {
    const first = advanceWindow(EMPTY_WINDOW, [serverAt(1, 0), serverAt(2, 0)], ALL);
    const second = advanceWindow(first, [serverAt(1, 0), serverAt(2, 1000)], ALL);
    expect(second.get(1)).toBe(first.get(1));
    expect(second.get(2)).not.toBe(first.get(2));
  });

  it("drops servers that left the list", () => {
    const first = advanceWindow(EMPTY_WINDOW, [serverAt(1, 0), serverAt(2, 0)], ALL);
    const second = advanceWindow(first, [serverAt(2, 1000)], ALL);
    expect([...second.keys()]).toEqual([2]);
  });

  it("keeps no entry for a server without metrics, and ignores an unparsable time", () => {
    const window = advanceWindow(EMPTY_WINDOW, [
      makeServer({ id: 1, latestMetrics: null, status: "pending" }),
      makeServer({ id: 2, latestMetrics: makeMetrics({ time: "not a time" }) }),
    ], ALL);
    expect(window.size).toBe(0);
  });

  it("forgets samples older than the window, measured from the server's newest sample", () => {
    const options = { windowMs: 10_000, maxSamples: 1000 };
    let window: RollingWindow = EMPTY_WINDOW;
    for (let second = 0; second <= 30; second += 1) {
      window = advanceWindow(window, [serverAt(1, second * 1000)], ALL, options);
    }
    const times = window.get(1)!.map((s) => (s.t - T0) / 1000);
    expect(times[0]).toBe(20);
    expect(times[times.length - 1]).toBe(30);
    expect(times).toHaveLength(11);
  });

  it("never holds more than maxSamples, whatever the timestamps", () => {
    const options = { windowMs: Number.MAX_SAFE_INTEGER, maxSamples: 5 };
    let window: RollingWindow = EMPTY_WINDOW;
    for (let i = 0; i < 50; i += 1) window = advanceWindow(window, [serverAt(1, i, i)], ALL, options);
    expect(window.get(1)!.map((s) => s.cpuPercent)).toEqual([45, 46, 47, 48, 49]);
  });

  it("stays bounded for many servers over a long run with the default window", () => {
    let window: RollingWindow = EMPTY_WINDOW;
    const servers = 40;
    // 30 minutes of pushes every 2 s, samples every 2 s.
    for (let tick = 0; tick < 900; tick += 1) {
      const list = Array.from({ length: servers }, (_, i) => serverAt(i + 1, tick * 2000));
      window = advanceWindow(window, list, ALL);
    }
    for (const samples of window.values()) {
      expect(samples.length).toBeLessThanOrEqual(DEFAULT_ROLLING_WINDOW.maxSamples);
      const span = samples[samples.length - 1]!.t - samples[0]!.t;
      expect(span).toBeLessThanOrEqual(DEFAULT_ROLLING_WINDOW.windowMs);
      expect(samples.length).toBe(301);
    }
  });
});

describe("advanceWindow keeps windows only for watched servers", () => {
  it("adds samples for the watched servers and none for the others", () => {
    const list = (offsetMs: number) => Array.from({ length: 1000 }, (_, i) => serverAt(i + 1, offsetMs));
    let window = advanceWindow(EMPTY_WINDOW, list(0), new Set([7]));
    window = advanceWindow(window, list(2000), new Set([7]));
    expect([...window.keys()]).toEqual([7]);
    expect(window.get(7)).toHaveLength(2);
  });

  it("with nothing watched returns the one empty window, whatever the list", () => {
    const list = Array.from({ length: 1000 }, (_, i) => serverAt(i + 1, 0));
    const watched = new Set<number>();
    expect(advanceWindow(EMPTY_WINDOW, list, watched)).toBe(EMPTY_WINDOW);
    const kept = advanceWindow(EMPTY_WINDOW, list, new Set([1, 2]));
    expect(advanceWindow(kept, list, watched)).toBe(EMPTY_WINDOW);
  });

  it("drops the window of a server no longer watched", () => {
    const first = advanceWindow(EMPTY_WINDOW, [serverAt(1, 0), serverAt(2, 0)], new Set([1, 2]));
    const second = advanceWindow(first, [serverAt(1, 1000), serverAt(2, 1000)], new Set([2]));
    expect([...second.keys()]).toEqual([2]);
  });

  it("accepts a map's keys as the watched ids", () => {
    const watchers = new Map([[3, 2]]);
    const window = advanceWindow(EMPTY_WINDOW, [serverAt(3, 0), serverAt(4, 0)], watchers);
    expect([...window.keys()]).toEqual([3]);
  });
});

describe("latestSample", () => {
  it("is null without metrics or with an unparsable time", () => {
    expect(latestSample(makeServer({ id: 1, latestMetrics: null, status: "pending" }))).toBeNull();
    expect(latestSample(makeServer({ id: 1, latestMetrics: makeMetrics({ time: "later" }) }))).toBeNull();
    expect(latestSample(serverAt(1, 2000, 9))).toMatchObject({ t: T0 + 2000, cpuPercent: 9 });
  });
});

describe("appendSample", () => {
  it("leaves its input untouched", () => {
    const original = [toRollingSample(makeMetrics(), 1), toRollingSample(makeMetrics(), 2)];
    const copy = [...original];
    appendSample(original, toRollingSample(makeMetrics(), 3), { windowMs: 1, maxSamples: 2 });
    expect(original).toEqual(copy);
  });
});

describe("seedSamples", () => {
  const sampleAt = (offsetMs: number, cpu = 0): RollingSample =>
    toRollingSample(makeMetrics({ cpuUsagePercent: cpu }), T0 + offsetMs);

  it("fills an empty window with the seed, oldest first", () => {
    const seeded = seedSamples([], [sampleAt(4000, 2), sampleAt(0, 0), sampleAt(2000, 1)], DEFAULT_ROLLING_WINDOW);
    expect(seeded.map((s) => s.cpuPercent)).toEqual([0, 1, 2]);
  });

  it("takes only seed samples older than the oldest pushed one", () => {
    const pushed = [sampleAt(4000, 40), sampleAt(6000, 60)];
    const seeded = seedSamples(pushed, [sampleAt(0, 0), sampleAt(2000, 2), sampleAt(4000, -1), sampleAt(6000, -1)],
      DEFAULT_ROLLING_WINDOW);
    expect(seeded.map((s) => s.cpuPercent)).toEqual([0, 2, 40, 60]);
  });

  it("keeps to the window's age and count limits", () => {
    const options = { windowMs: 5000, maxSamples: 3 };
    const seeded = seedSamples([sampleAt(10_000, 10)], [0, 4000, 6000, 8000].map((t) => sampleAt(t, t / 1000)), options);
    expect(seeded.map((s) => s.cpuPercent)).toEqual([6, 8, 10]);
    expect(seedSamples([sampleAt(10_000, 10)], [sampleAt(1000)], options).map((s) => s.cpuPercent)).toEqual([10]);
  });

  it("returns the window itself when the seed adds nothing", () => {
    const pushed = [sampleAt(0)];
    expect(seedSamples(pushed, [], DEFAULT_ROLLING_WINDOW)).toBe(pushed);
    expect(seedSamples(pushed, [sampleAt(0), sampleAt(1000)], DEFAULT_ROLLING_WINDOW)).toBe(pushed);
  });
});
