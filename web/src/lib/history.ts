/**
 * The history charts' logic, free of React and uPlot: which range asks the daemon for what,
 * how points become chart columns with gaps where the agent was silent, and what each chart
 * draws. `GET /api/servers/{id}/metrics` is described in monitord/history/ranges.py.
 */
import type { MessageKey } from "../i18n/messages";
import { toRollingSample, type RollingSample } from "../store/rollingWindow";
import type { MetricPoint } from "../types";
import { formatBytes, formatLoad, formatPercent, formatRate } from "./format";

export type HistoryRange = "live" | "1h" | "24h" | "7d" | "30d";

export const HISTORY_RANGES: readonly HistoryRange[] = ["live", "1h", "24h", "7d", "30d"];

export interface RangeSpec {
  spanMs: number;
  /** Seconds per point asked of the daemon (it may answer with a coarser one). */
  stepSeconds: number;
  /** How often the chart asks again while shown; 0: never (live follows the push). */
  refreshMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * About 300-700 points each: enough for any chart width, cheap to fetch and draw. Live asks
 * for the rolling window's span once, at the push interval, to seed it.
 */
export const RANGE_SPECS: Readonly<Record<HistoryRange, RangeSpec>> = {
  live: { spanMs: 10 * MINUTE_MS, stepSeconds: 2, refreshMs: 0 },
  "1h": { spanMs: HOUR_MS, stepSeconds: 10, refreshMs: 10_000 },
  "24h": { spanMs: DAY_MS, stepSeconds: 120, refreshMs: MINUTE_MS },
  "7d": { spanMs: 7 * DAY_MS, stepSeconds: 900, refreshMs: 5 * MINUTE_MS },
  "30d": { spanMs: 30 * DAY_MS, stepSeconds: 3600, refreshMs: 10 * MINUTE_MS },
};

/** Live draws a gap where pushed samples are further apart than this (pushes come every ~2 s). */
export const LIVE_GAP_MS = 10_000;

export interface RangeQuery {
  /** RFC 3339, as the API takes them. */
  from: string;
  to: string;
  step: number;
  fromMs: number;
  toMs: number;
}

/**
 * What to ask for `range` at `nowMs`: the span up to now, its start moved back to a whole step
 * so the first bucket is whole (the daemon aligns buckets to multiples of the step).
 */
export function rangeQuery(range: HistoryRange, nowMs: number): RangeQuery {
  const { spanMs, stepSeconds } = RANGE_SPECS[range];
  const stepMs = stepSeconds * 1000;
  const fromMs = Math.floor((nowMs - spanMs) / stepMs) * stepMs;
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(nowMs).toISOString(),
    step: stepSeconds,
    fromMs,
    toMs: nowMs,
  };
}

/** History points as the rolling window's samples, oldest first; unparsable times are dropped. */
export function pointsToSamples(points: readonly MetricPoint[]): RollingSample[] {
  const samples: RollingSample[] = [];
  for (const point of points) {
    const t = Date.parse(point.time);
    if (!Number.isNaN(t)) samples.push(toRollingSample(point, t));
  }
  return samples.sort((a, b) => a.t - b.t);
}

/** Samples with a `null` wherever two neighbours are more than `maxGapMs` apart. */
export interface GappedSamples {
  /** Epoch seconds (uPlot's unit), ascending. */
  times: number[];
  samples: Array<RollingSample | null>;
}

/**
 * Marks silences: between two samples further apart than allowed a null row is put at the first
 * moment one was due, and uPlot (spanGaps off) breaks the line there instead of joining the
 * two across the silence.
 *
 * Allowed is `maxGapMs` (for history points the step: buckets are one step apart) or, for an
 * agent that reports less often than that, one and a half times its usual spacing (the lower
 * median distance between neighbours). Without the latter, an agent reporting every 30 s would leave
 * every other 10 s bucket empty and its 1 h chart would be isolated points, which draw nothing.
 */
export function withGaps(samples: readonly RollingSample[], maxGapMs: number): GappedSamples {
  const spacingMs = Math.max(maxGapMs, medianSpacingMs(samples));
  const allowedMs = spacingMs > maxGapMs ? spacingMs * 1.5 : maxGapMs;
  const times: number[] = [];
  const rows: Array<RollingSample | null> = [];
  let previous: RollingSample | undefined;
  for (const sample of samples) {
    if (previous !== undefined && sample.t - previous.t > allowedMs) {
      times.push((previous.t + spacingMs) / 1000);
      rows.push(null);
    }
    times.push(sample.t / 1000);
    rows.push(sample);
    previous = sample;
  }
  return { times, samples: rows };
}

/** The lower median distance between neighbouring samples (0 with fewer than two): with few
 *  samples, a silence among them must not pass for the usual spacing. */
function medianSpacingMs(samples: readonly RollingSample[]): number {
  const spacings: number[] = [];
  for (let index = 1; index < samples.length; index += 1) spacings.push(samples[index]!.t - samples[index - 1]!.t);
  if (spacings.length === 0) return 0;
  spacings.sort((a, b) => a - b);
  return spacings[Math.floor((spacings.length - 1) / 2)]!;
}

export interface ChartSeriesDef {
  label: MessageKey;
  colorVar: string;
  value(sample: RollingSample): number;
}

export interface ChartDef {
  id: "cpu" | "memory" | "swap" | "disk" | "diskIo" | "network" | "load";
  title: MessageKey;
  series: readonly ChartSeriesDef[];
  /** Axis ticks and the legend: human units. */
  format(value: number): string;
  /** The tooltip: the value as sent, to the byte or the hundredth. */
  formatExact(value: number, locale: string): string;
  yRange?: [number, number];
}

const exactNumber = (value: number, locale: string, fractionDigits = 0) =>
  value.toLocaleString(locale, { maximumFractionDigits: fractionDigits });

const bytesChart = (
  id: ChartDef["id"],
  title: MessageKey,
  series: readonly ChartSeriesDef[],
): ChartDef => ({
  id,
  title,
  series,
  format: (value) => formatBytes(value),
  formatExact: (value, locale) => `${exactNumber(value, locale)} B`,
});

const rateChart = (id: ChartDef["id"], title: MessageKey, series: readonly ChartSeriesDef[]): ChartDef => ({
  id,
  title,
  series,
  format: (value) => formatRate(value),
  formatExact: (value, locale) => `${exactNumber(value, locale, 1)} B/s`,
});

export const HISTORY_CHARTS: readonly ChartDef[] = [
  {
    id: "cpu",
    title: "chart.cpu",
    series: [{ label: "metric.cpu", colorVar: "--chart-cpu", value: (s) => s.cpuPercent }],
    format: (value) => formatPercent(value, 0),
    formatExact: (value, locale) => `${exactNumber(value, locale, 2)}%`,
    yRange: [0, 100],
  },
  bytesChart("memory", "chart.memory", [
    { label: "chart.used", colorVar: "--chart-memory", value: (s) => s.memoryUsedBytes },
  ]),
  bytesChart("swap", "chart.swap", [{ label: "chart.used", colorVar: "--chart-swap", value: (s) => s.swapUsedBytes }]),
  bytesChart("disk", "chart.disk", [{ label: "chart.used", colorVar: "--chart-disk", value: (s) => s.diskUsedBytes }]),
  rateChart("diskIo", "chart.diskIo", [
    { label: "chart.read", colorVar: "--chart-rx", value: (s) => s.diskReadBps },
    { label: "chart.write", colorVar: "--chart-tx", value: (s) => s.diskWriteBps },
  ]),
  rateChart("network", "chart.network", [
    { label: "chart.rx", colorVar: "--chart-rx", value: (s) => s.rxBps },
    { label: "chart.tx", colorVar: "--chart-tx", value: (s) => s.txBps },
  ]),
  {
    id: "load",
    title: "chart.load",
    series: [
      { label: "chart.load1", colorVar: "--chart-cpu", value: (s) => s.load1 },
      { label: "chart.load5", colorVar: "--chart-memory", value: (s) => s.load5 },
      { label: "chart.load15", colorVar: "--chart-tx", value: (s) => s.load15 },
    ],
    format: (value) => formatLoad(value),
    formatExact: (value, locale) => exactNumber(value, locale, 2),
  },
];

/** One column per series of `chart`, null where `gapped` has a gap. */
export function chartColumns(chart: ChartDef, gapped: GappedSamples): Array<Array<number | null>> {
  return chart.series.map((series) => gapped.samples.map((sample) => (sample === null ? null : series.value(sample))));
}

/** How many moments have at least one value drawn (the `data-points` test hook). */
export function drawnPoints(columns: ReadonlyArray<ReadonlyArray<number | null>>): number {
  const length = columns[0]?.length ?? 0;
  let drawn = 0;
  for (let index = 0; index < length; index += 1) {
    if (columns.some((column) => column[index] !== null && column[index] !== undefined)) drawn += 1;
  }
  return drawn;
}

/** A value in the tooltip: human units with the exact figure beside it, or a dash in a gap. */
export function tooltipValue(chart: ChartDef, value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${chart.format(value)} (${chart.formatExact(value, locale)})`;
}

/** A tooltip's time line: date and time to the second, in the reader's locale. */
export function tooltipTime(epochSeconds: number, locale: string): string {
  return new Date(epochSeconds * 1000).toLocaleString(locale, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}
