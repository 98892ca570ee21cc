/**
 * Wire types for the daemon's HTTP API and WebSocket push (CONTRACT.md §4, §5).
 *
 * Keys are camelCase exactly as the daemon sends them. Timestamps are RFC 3339 UTC strings
 * ending in "Z"; they stay strings here and are parsed where they are displayed or compared.
 */
import type { ActiveAlert } from "./alerts";

/** RFC 3339 UTC timestamp, e.g. "2025-01-31T12:00:00.123Z". */
export type IsoTimestamp = string;

export type ServerStatus = "online" | "offline" | "pending";

/** The newest sample an agent reported (`latestMetrics`). Rates are bytes per second. */
export interface LatestPerformanceMetric {
  time: IsoTimestamp;
  cpuUsagePercent: number;
  memoryUsageBytes: number;
  memoryTotalBytes: number;
  swapUsageBytes: number;
  swapTotalBytes: number;
  diskUsedBytes: number;
  diskTotalBytes: number;
  diskReadBps: number;
  diskWriteBps: number;
  networkRxInstantBps: number;
  networkTxInstantBps: number;
  networkRxTotalBytes: number;
  networkTxTotalBytes: number;
  load1: number;
  load5: number;
  load15: number;
  processCount: number;
  tcpConnections: number;
  udpConnections: number;
  uptimeSeconds: number;
}

/**
 * One server with its host facts and latest metrics (`ServerWithDetails` in the contract).
 *
 * Host facts come from the agent's hello, so a server whose agent never connected
 * ("pending") has none yet: they are typed nullable and the UI shows a dash for null or "".
 */
export interface VpsListItemResponse {
  id: number;
  name: string;
  ipAddress: string | null;
  status: ServerStatus;
  osType: string | null;
  osVersion: string | null;
  hostname: string | null;
  kernelVersion: string | null;
  arch: string | null;
  cpuModel: string | null;
  cpuCores: number | null;
  agentVersion: string | null;
  lastSeenAt: IsoTimestamp | null;
  createdAt: IsoTimestamp;
  latestMetrics: LatestPerformanceMetric | null;
  /** Tag names, sorted (issue 16); absent from daemons before tags. */
  tags?: string[];
  /** Issue 15 (additive): alerts firing on this server; absent from older daemons. */
  activeAlerts?: ActiveAlert[];
}

/** The contract's name for the same shape. */
export type ServerWithDetails = VpsListItemResponse;

/** One WebSocket text frame on `/ws/servers`. */
export interface FullServerListPushType {
  type: "fullServerList";
  generatedAt: IsoTimestamp;
  servers: VpsListItemResponse[];
}

/** `GET /api/servers`. */
export interface ServerListResponse {
  servers: VpsListItemResponse[];
}

/** `time` plus the numeric fields of `latestMetrics` (`GET /api/servers/{id}/metrics`). */
export type MetricPoint = LatestPerformanceMetric;

export interface MetricsResponse {
  /** One per bucket with samples, oldest first; a bucket without samples is absent (a gap). */
  points: MetricPoint[];
  /** Seconds per point as served (a rollup tier may serve a coarser step than asked). */
  step: number;
  /** Where the points came from: raw samples, 1-minute or 1-hour rollups. */
  tier: "raw" | "1m" | "1h";
}

export type UserRole = "admin" | "viewer";

export interface User {
  id: number;
  username: string;
  role: UserRole;
}

/** `POST /api/auth/login` body. */
export interface LoginRequest {
  username: string;
  password: string;
}

/** `POST /api/auth/login` 200 response. */
export interface LoginResponse {
  token: string;
  expiresAt: IsoTimestamp;
  user: User;
}

/** Every non-2xx API response body. */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
  };
}

export interface HealthResponse {
  status: "ok" | "degraded";
}

/** `GET /api/tags`. */
export interface TagInfo {
  name: string;
  color: string;
  count: number;
}

export type StatusPageField = "status" | "uptime" | "cpu" | "memory" | "disk" | "network";
export type StatusPageAccess = "public" | "password" | "link";

/** A status page as admins see it (`/api/status-pages`). */
export interface StatusPageAdmin {
  id: number;
  slug: string;
  title: string;
  description: string;
  footer: string;
  sections: { title: string; serverIds: number[]; tags: string[] }[];
  fields: StatusPageField[];
  access: StatusPageAccess;
  linkExpiresAt: IsoTimestamp | null;
  hasPassword: boolean;
  shareToken: string;
}

/** One server as a public status page shows it: an alias, never a host fact. */
export interface PublicStatusServer {
  alias: string;
  status: "online" | "offline" | "unknown";
  cpu?: number;
  memory?: number;
  disk?: number;
  networkRxBps?: number;
  networkTxBps?: number;
  uptime?: number | null;
  days?: (number | null)[];
}

/** `GET /api/public/status/{slug}`, and the `statusPage` push. */
export interface PublicStatusPage {
  type?: "statusPage";
  title: string;
  description: string;
  footer: string;
  generatedAt: IsoTimestamp;
  sections: { title: string; servers: PublicStatusServer[] }[];
}
