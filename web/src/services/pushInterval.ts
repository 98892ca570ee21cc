/**
 * How often the daemon pushes, as the dashboard learns it from the gaps between frames.
 *
 * The daemon sends one list right after the upgrade and then one every `push.interval_seconds`
 * (CONTRACT §5), but it does not tell the client that interval. A silently dead path (a
 * dropped NAT entry, a proxy that stopped forwarding) shows only as frames that stop coming,
 * so the client needs the interval to tell "quiet" from "dead". Until it has seen one it
 * assumes the daemon's default, 2 s.
 *
 * - The first frame of a connection comes from the route, off the daemon's tick grid, so the
 *   gap after it is only a lower bound for the interval; later gaps are the interval (or a
 *   multiple of it, when ticks were skipped or a stale snapshot dropped).
 * - The estimate is the median of the last few gaps, so one skipped tick does not move it.
 *   Gaps below a floor are ignored: frames delivered together after the page was busy say
 *   nothing about the interval, and must not make the watchdog trigger-happy.
 * - A stall may also mean the guess was too short (a daemon pushing every 10 s looks dead
 *   after 3 × 2 s). So each stall forgets the gaps and doubles the assumption, up to a ceiling:
 *   a longer interval costs at most a few reconnects to learn, never a reconnect loop.
 */

export interface PushIntervalOptions {
  /** Assumed before any gap was seen: the daemon's default `push.interval_seconds`. */
  defaultMs: number;
  /** The estimate never goes below this. */
  floorMs: number;
  /** Doubling after stalls stops here. */
  ceilingMs: number;
  /** How many recent gaps the median is taken over. */
  keepGaps: number;
}

export const DEFAULT_PUSH_INTERVAL: PushIntervalOptions = {
  defaultMs: 2000,
  floorMs: 1000,
  ceilingMs: 60_000,
  keepGaps: 5,
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export class PushIntervalEstimate {
  private readonly options: PushIntervalOptions;
  private assumedMs: number;
  /** Gaps between ticks seen, newest last; kept across reconnects (it is the same daemon). */
  private gaps: number[] = [];
  private lastFrameAt: number | null = null;
  private framesThisConnection = 0;

  constructor(options: PushIntervalOptions = DEFAULT_PUSH_INTERVAL) {
    this.options = options;
    this.assumedMs = options.defaultMs;
  }

  /** The push interval the watchdog should expect now, ms. */
  get intervalMs(): number {
    if (this.gaps.length === 0) return this.assumedMs;
    return Math.max(this.options.floorMs, median(this.gaps));
  }

  /** A new connection opened: its first frame is not on the tick grid. */
  connectionOpened(): void {
    this.lastFrameAt = null;
    this.framesThisConnection = 0;
  }

  /** A frame arrived at `now` (epoch ms). */
  frameReceived(now: number): void {
    if (this.lastFrameAt !== null) {
      const gap = now - this.lastFrameAt;
      if (gap < this.options.floorMs) {
        // Frames delivered together (the page was busy) say nothing about the interval.
      } else if (this.framesThisConnection >= 2) {
        this.gaps.push(gap);
        if (this.gaps.length > this.options.keepGaps) this.gaps.shift();
      } else if (this.gaps.length === 0) {
        // The gap after the route's frame: the interval is at least this long.
        this.assumedMs = Math.min(this.options.ceilingMs, Math.max(this.assumedMs, gap));
      }
    }
    this.lastFrameAt = now;
    this.framesThisConnection += 1;
  }

  /** No frame came for the watchdog's limit: perhaps the interval is longer than thought. */
  stalled(): void {
    this.assumedMs = Math.min(this.options.ceilingMs, 2 * this.intervalMs);
    this.gaps = [];
  }
}
