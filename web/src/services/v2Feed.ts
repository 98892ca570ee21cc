/**
 * `monitord.v2` (README "Live feed protocols"): a snapshot, then one compact delta per push.
 * This module turns them back into the v1 message the store already takes, so the pages see
 * the same list whichever protocol the daemon chose.
 *
 *   snapshot {epoch, seq, fields, servers}            the whole list
 *   delta {epoch, seq, baseSeq, rows, upserts, removed}
 *     rows     [id, tMs, ...values in `fields` order]: the server's new latestMetrics, and
 *              lastSeenAt = tMs
 *     upserts  whole servers (new, renamed, new status or facts)
 *     removed  ids
 *
 * A delta whose epoch or baseSeq is not what this client holds cannot be applied: the caller
 * reconnects, which starts again from a snapshot.
 */
import { markReconciled } from "../store/reconcile";
import type { FullServerListPushType, LatestPerformanceMetric, VpsListItemResponse } from "../types";

export const SUBPROTOCOL_V2 = "monitord.v2";

export interface V2Snapshot {
  type: "snapshot";
  epoch: number;
  seq: number;
  fields: string[];
  servers: VpsListItemResponse[];
}

export interface V2Delta {
  type: "delta";
  epoch: number;
  seq: number;
  baseSeq: number;
  rows: (number | string)[][];
  upserts: VpsListItemResponse[];
  removed: number[];
}

export type V2Message = V2Snapshot | V2Delta;

/** The daemon's row fields today, in its order: rows with exactly these take the fast path. */
const KNOWN_FIELDS = [
  "cpuUsagePercent",
  "memoryUsageBytes",
  "memoryTotalBytes",
  "swapUsageBytes",
  "swapTotalBytes",
  "diskUsedBytes",
  "diskTotalBytes",
  "diskReadBps",
  "diskWriteBps",
  "networkRxInstantBps",
  "networkTxInstantBps",
  "networkRxTotalBytes",
  "networkTxTotalBytes",
  "load1",
  "load5",
  "load15",
  "processCount",
  "tcpConnections",
  "udpConnections",
  "uptimeSeconds",
] as const;

type Row = (number | string)[];

/**
 * One object literal of a fixed shape: V8 gives every sample the same hidden class, so the
 * pages read them fast (objects built key by key from `fields` end up in dictionary mode).
 */
function knownMetrics(time: string, row: Row): LatestPerformanceMetric {
  const v = row as number[];
  return {
    time,
    cpuUsagePercent: v[2]!,
    memoryUsageBytes: v[3]!,
    memoryTotalBytes: v[4]!,
    swapUsageBytes: v[5]!,
    swapTotalBytes: v[6]!,
    diskUsedBytes: v[7]!,
    diskTotalBytes: v[8]!,
    diskReadBps: v[9]!,
    diskWriteBps: v[10]!,
    networkRxInstantBps: v[11]!,
    networkTxInstantBps: v[12]!,
    networkRxTotalBytes: v[13]!,
    networkTxTotalBytes: v[14]!,
    load1: v[15]!,
    load5: v[16]!,
    load15: v[17]!,
    processCount: v[18]!,
    tcpConnections: v[19]!,
    udpConnections: v[20]!,
    uptimeSeconds: v[21]!,
  };
}

/** Whether a decoded frame is a v2 message (the envelope only; see `V2ListState.apply`). */
export function isV2Message(decoded: unknown): decoded is V2Message {
  if (typeof decoded !== "object" || decoded === null) return false;
  const type = (decoded as { type?: unknown }).type;
  return type === "snapshot" || type === "delta";
}

/** The list a v2 client holds, and the sequence number it is at. */
export class V2ListState {
  private epoch: number | null = null;
  private seq = -1;
  private fields: string[] = [];
  private metricsOf: (time: string, row: Row) => LatestPerformanceMetric = knownMetrics;
  private servers = new Map<number, VpsListItemResponse>();
  private list: VpsListItemResponse[] = [];  // a new array only when something changed

  /** Forgets everything (a new connection starts from its snapshot). */
  reset(): void {
    this.epoch = null;
    this.seq = -1;
    this.servers = new Map();
    this.list = [];
  }

  /**
   * Applies `message`; the whole list as a v1 push, or why it cannot be applied (a malformed
   * message, or a delta for another epoch or base: the caller must reconnect).
   * `receivedAt` stands in for v1's generatedAt, which v2 messages do not carry.
   */
  apply(message: V2Message, receivedAt: string): FullServerListPushType | string {
    if (message.type === "snapshot") {
      if (!Array.isArray(message.servers) || !Array.isArray(message.fields)) return "malformed snapshot";
      this.epoch = message.epoch;
      this.seq = message.seq;
      this.fields = message.fields;
      const known =
        message.fields.length === KNOWN_FIELDS.length && KNOWN_FIELDS.every((field, i) => message.fields[i] === field);
      this.metricsOf = known ? knownMetrics : (time, row) => this.anyMetrics(time, row);
      this.list = [...message.servers].sort((a, b) => a.id - b.id);
      this.servers = new Map(this.list.map((server) => [server.id, server]));
      return { type: "fullServerList", generatedAt: receivedAt, servers: this.list };
    }
    if (message.epoch !== this.epoch || message.baseSeq !== this.seq) {
      return `delta ${message.epoch}/${message.baseSeq} does not follow ${String(this.epoch)}/${this.seq}`;
    }
    if (!Array.isArray(message.rows) || !Array.isArray(message.upserts) || !Array.isArray(message.removed)) {
      return "malformed delta";
    }
    let reorder = false;
    for (const id of message.removed) this.servers.delete(id);
    for (const server of message.upserts) {
      if (!this.servers.has(server.id)) reorder = true;
      this.servers.set(server.id, server);
    }
    // Rows of one tick mostly share a few times: each is formatted once.
    let lastMs = Number.NaN;
    let time = "";
    for (const row of message.rows) {
      const id = row[0] as number;
      const server = this.servers.get(id);
      if (server === undefined) return `row for unknown server ${id}`;
      if (row[1] !== lastMs) {
        lastMs = row[1] as number;
        time = new Date(lastMs).toISOString();
      }
      this.servers.set(id, { ...server, lastSeenAt: time, latestMetrics: this.metricsOf(time, row) });
    }
    this.seq = message.seq;
    if (message.rows.length || message.upserts.length || message.removed.length) {
      this.list = Array.from(this.servers.values());
      if (reorder) this.list.sort((a, b) => a.id - b.id);
      // Unchanged servers are the objects the previous list had: nothing for the store to compare.
      markReconciled(this.list);
    }
    return { type: "fullServerList", generatedAt: receivedAt, servers: this.list };
  }

  /** A sample from a row whose fields are not the ones this build knows (a newer daemon). */
  private anyMetrics(time: string, row: Row): LatestPerformanceMetric {
    const metrics: Record<string, number | string> = { time };
    this.fields.forEach((field, index) => {
      metrics[field] = row[index + 2] as number;
    });
    return metrics as unknown as LatestPerformanceMetric;
  }
}
