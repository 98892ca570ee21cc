/** Builders for wire objects, with realistic defaults and per-test overrides. */
import type { FullServerListPushType, LatestPerformanceMetric, VpsListItemResponse } from "../types";

export const GIB = 1024 ** 3;

export function makeMetrics(overrides: Partial<LatestPerformanceMetric> = {}): LatestPerformanceMetric {
  return {
    time: "2025-01-31T12:00:00Z",
    cpuUsagePercent: 12.5,
    memoryUsageBytes: 2 * GIB,
    memoryTotalBytes: 8 * GIB,
    swapUsageBytes: 0,
    swapTotalBytes: 2 * GIB,
    diskUsedBytes: 40 * GIB,
    diskTotalBytes: 100 * GIB,
    diskReadBps: 1024,
    diskWriteBps: 4096,
    networkRxInstantBps: 150 * 1024,
    networkTxInstantBps: 20 * 1024,
    networkRxTotalBytes: 10 * GIB,
    networkTxTotalBytes: 3 * GIB,
    load1: 0.42,
    load5: 0.3,
    load15: 0.25,
    processCount: 187,
    tcpConnections: 23,
    udpConnections: 4,
    uptimeSeconds: 3 * 86_400 + 4 * 3600,
    ...overrides,
  };
}

export function makeServer(
  overrides: Partial<VpsListItemResponse> & { id: number },
): VpsListItemResponse {
  return {
    name: `server-${overrides.id}`,
    ipAddress: "192.0.2.10",
    status: "online",
    osType: "linux",
    osVersion: "Debian 13",
    hostname: `host-${overrides.id}`,
    kernelVersion: "6.12.0",
    arch: "x86_64",
    cpuModel: "Example CPU",
    cpuCores: 4,
    agentVersion: "0.1.0",
    lastSeenAt: "2025-01-31T12:00:00Z",
    createdAt: "2025-01-01T00:00:00Z",
    latestMetrics: makeMetrics(),
    ...overrides,
  };
}

export function makePush(
  servers: VpsListItemResponse[],
  generatedAt = "2025-01-31T12:00:01Z",
): FullServerListPushType {
  return { type: "fullServerList", generatedAt, servers };
}

/** A deep copy, as a fresh JSON.parse of the same frame would produce. */
export function reparsed<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
