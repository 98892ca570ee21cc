/**
 * Display formatting. Pure and locale-parameterised so tests pin exact strings.
 * Missing or invalid values render as an em dash rather than "NaN" or "0".
 */

export const EMPTY = "—";

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

function isUsable(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/** Binary units, as `free -h` and `df -h` show them: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number | null | undefined, fractionDigits = 1): string {
  if (!isUsable(bytes)) return EMPTY;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Whole bytes never have a fraction; large values need no false precision either.
  const digits = unit === 0 || value >= 100 ? 0 : fractionDigits;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** A byte rate: 2048 → "2.0 KiB/s". */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (!isUsable(bytesPerSecond)) return EMPTY;
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatPercent(percent: number | null | undefined, fractionDigits = 1): string {
  if (!isUsable(percent)) return EMPTY;
  return `${percent.toFixed(fractionDigits)}%`;
}

/** used / total as a percentage, or null when the total is unknown or zero. */
export function usagePercent(used: number | null | undefined, total: number | null | undefined): number | null {
  if (!isUsable(used) || !isUsable(total) || total === 0) return null;
  return (used / total) * 100;
}

export interface DurationUnits {
  day: string;
  hour: string;
  minute: string;
  second: string;
  /** Between a number and its unit ("" for "3d", " " for "3 d"). */
  joiner: string;
}

export const ENGLISH_DURATION_UNITS: DurationUnits = {
  day: "d",
  hour: "h",
  minute: "m",
  second: "s",
  joiner: "",
};

/** The two largest non-zero units: 93784 → "1d 2h", 3725 → "1h 2m", 42 → "42s". */
export function formatUptime(
  seconds: number | null | undefined,
  units: DurationUnits = ENGLISH_DURATION_UNITS,
): string {
  if (!isUsable(seconds)) return EMPTY;
  const total = Math.floor(seconds);
  const parts: Array<[number, string]> = [
    [Math.floor(total / 86_400), units.day],
    [Math.floor((total % 86_400) / 3600), units.hour],
    [Math.floor((total % 3600) / 60), units.minute],
    [total % 60, units.second],
  ];
  const first = parts.findIndex(([amount]) => amount > 0);
  if (first === -1) return `0${units.joiner}${units.second}`;
  return parts
    .slice(first, first + 2)
    .filter(([amount], index) => index === 0 || amount > 0)
    .map(([amount, unit]) => `${amount}${units.joiner}${unit}`)
    .join(" ");
}

const relativeFormatters = new Map<string, Intl.RelativeTimeFormat>();

function relativeFormatter(locale: string): Intl.RelativeTimeFormat {
  let formatter = relativeFormatters.get(locale);
  if (formatter === undefined) {
    formatter = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "long" });
    relativeFormatters.set(locale, formatter);
  }
  return formatter;
}

/**
 * "just now" under 10 s, then seconds, minutes, hours, days ago. Coarse on purpose: a label
 * that stays the same between pushes lets a memoised list row skip re-rendering.
 */
export function formatRelativeTime(
  iso: string | null | undefined,
  nowMs: number,
  locale: string,
): string {
  if (iso === null || iso === undefined || iso === "") return EMPTY;
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return EMPTY;
  const seconds = Math.round((nowMs - then) / 1000);
  const formatter = relativeFormatter(locale);
  // Clock skew between daemon and browser can put a fresh sample slightly in the future.
  if (seconds < 10) return formatter.format(0, "second");
  if (seconds < 60) return formatter.format(-Math.floor(seconds / 10) * 10, "second");
  if (seconds < 3600) return formatter.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 86_400) return formatter.format(-Math.floor(seconds / 3600), "hour");
  return formatter.format(-Math.floor(seconds / 86_400), "day");
}

/** Local date and time, e.g. "1/31/2025, 12:00:00 PM". */
export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (iso === null || iso === undefined || iso === "") return EMPTY;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return EMPTY;
  return date.toLocaleString(locale);
}

/** Local time of day for an epoch-ms instant, e.g. "12:00:05". */
export function formatClockTime(epochMs: number, locale: string): string {
  return new Date(epochMs).toLocaleTimeString(locale);
}

/** Agent-supplied text, or a dash when missing. */
export function textOrDash(value: string | null | undefined): string {
  return value === null || value === undefined || value.trim() === "" ? EMPTY : value;
}

export function formatLoad(load: number | null | undefined): string {
  if (!isUsable(load)) return EMPTY;
  return load.toFixed(2);
}

export function formatCount(value: number | null | undefined, locale: string): string {
  if (!isUsable(value)) return EMPTY;
  return Math.round(value).toLocaleString(locale);
}
