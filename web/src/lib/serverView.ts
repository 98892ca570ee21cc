/**
 * Filtering, sorting and counting for the server list. Pure, so the list page can memoise
 * on (servers, view) and tests can pin the order.
 */
import type { ServerStatus, VpsListItemResponse } from "../types";
import { usagePercent } from "./format";

export type StatusFilter = "all" | ServerStatus;
export type SortKey =
  | "status"
  | "name"
  | "os"
  | "cpu"
  | "memory"
  | "disk"
  | "network"
  | "uptime"
  | "lastSeen";
export type SortDirection = "asc" | "desc";

export interface ListView {
  statusFilter: StatusFilter;
  query: string;
  sortKey: SortKey;
  sortDirection: SortDirection;
}

export const DEFAULT_LIST_VIEW: ListView = {
  statusFilter: "all",
  query: "",
  sortKey: "name",
  sortDirection: "asc",
};

export interface StatusCounts {
  all: number;
  online: number;
  offline: number;
  pending: number;
}

export function countByStatus(servers: readonly VpsListItemResponse[]): StatusCounts {
  const counts: StatusCounts = { all: servers.length, online: 0, offline: 0, pending: 0 };
  for (const server of servers) {
    if (server.status === "online" || server.status === "offline" || server.status === "pending") {
      counts[server.status] += 1;
    }
  }
  return counts;
}

/** Problems first when ascending: offline, then pending, then online. */
const STATUS_RANK: Record<string, number> = { offline: 0, pending: 1, online: 2 };

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

type SortValue = number | string | null;

function sortValue(server: VpsListItemResponse, key: SortKey): SortValue {
  const metrics = server.latestMetrics;
  switch (key) {
    case "status":
      return STATUS_RANK[server.status] ?? 3;
    case "name":
      return server.name;
    case "os":
      return [server.osType, server.osVersion].filter(Boolean).join(" ") || null;
    case "cpu":
      return metrics?.cpuUsagePercent ?? null;
    case "memory":
      return metrics === null ? null : usagePercent(metrics.memoryUsageBytes, metrics.memoryTotalBytes);
    case "disk":
      return metrics === null ? null : usagePercent(metrics.diskUsedBytes, metrics.diskTotalBytes);
    case "network":
      return metrics === null ? null : metrics.networkRxInstantBps + metrics.networkTxInstantBps;
    case "uptime":
      return metrics?.uptimeSeconds ?? null;
    case "lastSeen": {
      const time = server.lastSeenAt === null ? Number.NaN : Date.parse(server.lastSeenAt);
      return Number.isNaN(time) ? null : time;
    }
  }
}

function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === "string" && typeof b === "string") return collator.compare(a, b);
  return (a as number) - (b as number);
}

/** The servers the list shows, in order. Missing values sort last in both directions. */
export function selectVisibleServers(
  servers: readonly VpsListItemResponse[],
  view: ListView,
): VpsListItemResponse[] {
  const query = view.query.trim().toLowerCase();
  const filtered = servers.filter(
    (server) =>
      (view.statusFilter === "all" || server.status === view.statusFilter) &&
      (query === "" ||
        server.name.toLowerCase().includes(query) ||
        (server.hostname ?? "").toLowerCase().includes(query)),
  );
  const sign = view.sortDirection === "asc" ? 1 : -1;
  // Precompute keys once: sorting calls the comparator n log n times.
  const keyed = filtered.map((server) => ({ server, value: sortValue(server, view.sortKey) }));
  keyed.sort((a, b) => {
    if (a.value === null || b.value === null) {
      if (a.value === b.value) return collator.compare(a.server.name, b.server.name);
      return a.value === null ? 1 : -1;
    }
    const primary = compareValues(a.value, b.value) * sign;
    if (primary !== 0) return primary;
    return collator.compare(a.server.name, b.server.name) || a.server.id - b.server.id;
  });
  return keyed.map((entry) => entry.server);
}
