/**
 * The rolling window of recent samples per watched server (one whose live charts are on screen).
 *
 * Pure functions over immutable data: each push returns a new window that shares every
 * untouched array with the previous one, so a chart subscribed to one server re-renders only
 * when that server got a new sample. Memory is bounded twice over: by age (relative to each
 * server's newest sample, so a skewed agent clock cannot empty or bloat its window) and by a
 * hard sample count; servers that leave the list or stop being watched leave the window.
 */
import type { LatestPerformanceMetric, VpsListItemResponse } from "../types";

/**
 * One compact sample: only what the charts draw, to keep ~10 min of 1 s samples small. History
 * points from the API take the same shape, so live and ranged charts share one drawing path.
 */
export interface RollingSample {
  /** Sample time (for a history point: its bucket's start), epoch ms. */
  t: number;
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  swapUsedBytes: number;
  diskUsedBytes: number;
  rxBps: number;
  txBps: number;
  diskReadBps: number;
  diskWriteBps: number;
  load1: number;
  load5: number;
  load15: number;
}

export type RollingWindow = ReadonlyMap<number, readonly RollingSample[]>;

export interface RollingWindowOptions {
  /** Samples older than the newest one minus this are dropped. */
  windowMs: number;
  /** Hard cap per server, whatever the timestamps say. */
  maxSamples: number;
}

/** 10 minutes; agents sample every second but the push arrives every ~2 s. */
export const DEFAULT_ROLLING_WINDOW: RollingWindowOptions = {
  windowMs: 10 * 60 * 1000,
  maxSamples: 600,
};

export const EMPTY_WINDOW: RollingWindow = new Map();

export function toRollingSample(metrics: LatestPerformanceMetric, t: number): RollingSample {
  return {
    t,
    cpuPercent: metrics.cpuUsagePercent,
    memoryUsedBytes: metrics.memoryUsageBytes,
    memoryTotalBytes: metrics.memoryTotalBytes,
    swapUsedBytes: metrics.swapUsageBytes,
    diskUsedBytes: metrics.diskUsedBytes,
    rxBps: metrics.networkRxInstantBps,
    txBps: metrics.networkTxInstantBps,
    diskReadBps: metrics.diskReadBps,
    diskWriteBps: metrics.diskWriteBps,
    load1: metrics.load1,
    load5: metrics.load5,
    load15: metrics.load15,
  };
}

/** Appends `sample` and drops what falls outside the window; `samples` is left untouched. */
export function appendSample(
  samples: readonly RollingSample[],
  sample: RollingSample,
  options: RollingWindowOptions,
): readonly RollingSample[] {
  const oldestKept = sample.t - options.windowMs;
  let start = Math.max(0, samples.length + 1 - options.maxSamples);
  while (start < samples.length && samples[start]!.t < oldestKept) start += 1;
  const next = samples.slice(start);
  next.push(sample);
  return next;
}

/**
 * A server's window filled in with older samples from the history API (`seed`, any order), so
 * a chart opened now is full at once. Pushed samples win where both have one: only seed
 * samples older than the oldest pushed one are taken. Age and count limits apply as always.
 * Returns `samples` itself when the seed adds nothing.
 */
export function seedSamples(
  samples: readonly RollingSample[],
  seed: readonly RollingSample[],
  options: RollingWindowOptions,
): readonly RollingSample[] {
  const oldestPushed = samples[0]?.t ?? Number.POSITIVE_INFINITY;
  const older = seed.filter((s) => Number.isFinite(s.t) && s.t < oldestPushed).sort((a, b) => a.t - b.t);
  if (older.length === 0) return samples;
  const merged = [...older, ...samples];
  const oldestKept = merged[merged.length - 1]!.t - options.windowMs;
  let start = Math.max(0, merged.length - options.maxSamples);
  while (start < merged.length && merged[start]!.t < oldestKept) start += 1;
  const kept = merged.slice(start);
  return kept.length === samples.length ? samples : kept;
}

/** The ids whose window is kept: a set, or the keys of a map (e.g. id → number of watchers). */
export type WatchedIds = Pick<ReadonlySet<number>, "has" | "size">;

/**
 * The window after one push, kept only for the `watched` servers (those on screen): a sample is
 * added for each whose `latestMetrics.time` moved forward (an offline server repeats its last
 * sample, which must not be counted twice). With nothing watched it allocates nothing, so a
 * list of thousands of servers costs one `Set.has` per server and push, not a window each.
 */
export function advanceWindow(
  previous: RollingWindow,
  servers: readonly VpsListItemResponse[],
  watched: WatchedIds,
  options: RollingWindowOptions = DEFAULT_ROLLING_WINDOW,
): RollingWindow {
  if (watched.size === 0) return EMPTY_WINDOW;
  const next = new Map<number, readonly RollingSample[]>();
  for (const server of servers) {
    if (!watched.has(server.id)) continue;
    const samples = previous.get(server.id) ?? [];
    const sample = latestSample(server);
    const last = samples[samples.length - 1];
    if (sample === null || (last !== undefined && sample.t <= last.t)) {
      if (samples.length > 0) next.set(server.id, samples);
      continue;
    }
    next.set(server.id, appendSample(samples, sample, options));
  }
  return next;
}

/** `server`'s newest sample in compact form, or null without metrics or with an unparsable time. */
export function latestSample(server: VpsListItemResponse): RollingSample | null {
  const metrics = server.latestMetrics;
  if (metrics === null) return null;
  const t = Date.parse(metrics.time);
  return Number.isNaN(t) ? null : toRollingSample(metrics, t);
}
