// @vitest-environment node
import { describe, expect, it } from "vitest";
import { makeMetrics, makeServer } from "../test/fixtures";
import { countByStatus, DEFAULT_LIST_VIEW, selectVisibleServers, type ListView } from "./serverView";

const servers = [
  makeServer({ id: 1, name: "web-2", status: "online", latestMetrics: makeMetrics({ cpuUsagePercent: 50 }) }),
  makeServer({ id: 2, name: "web-10", status: "offline", latestMetrics: makeMetrics({ cpuUsagePercent: 5 }) }),
  makeServer({ id: 3, name: "db", status: "pending", latestMetrics: null, hostname: null }),
  makeServer({ id: 4, name: "cache", status: "online", hostname: "redis-web", latestMetrics: makeMetrics({ cpuUsagePercent: 90 }) }),
];

const view = (overrides: Partial<ListView>): ListView => ({ ...DEFAULT_LIST_VIEW, ...overrides });
const ids = (list: { id: number }[]) => list.map((s) => s.id);

describe("countByStatus", () => {
  it("counts each status and the total", () => {
    expect(countByStatus(servers)).toEqual({ all: 4, online: 2, offline: 1, pending: 1 });
  });
});

describe("selectVisibleServers", () => {
  it("sorts names naturally (web-2 before web-10)", () => {
    expect(ids(selectVisibleServers(servers, view({})))).toEqual([4, 3, 1, 2]);
  });

  it("filters by status", () => {
    expect(ids(selectVisibleServers(servers, view({ statusFilter: "online" })))).toEqual([4, 1]);
  });

  it("filters by name or hostname, ignoring case", () => {
    expect(ids(selectVisibleServers(servers, view({ query: "WEB" })))).toEqual([4, 1, 2]);
  });

  it("sorts by CPU in both directions, missing metrics last either way", () => {
    expect(ids(selectVisibleServers(servers, view({ sortKey: "cpu" })))).toEqual([2, 1, 4, 3]);
    expect(ids(selectVisibleServers(servers, view({ sortKey: "cpu", sortDirection: "desc" })))).toEqual([4, 1, 2, 3]);
  });

  it("puts problems first when sorting by status ascending", () => {
    expect(ids(selectVisibleServers(servers, view({ sortKey: "status" })))).toEqual([2, 3, 4, 1]);
  });

  it("does not reorder its input", () => {
    const input = [...servers];
    selectVisibleServers(input, view({ sortKey: "cpu" }));
    expect(ids(input)).toEqual([1, 2, 3, 4]);
  });
});
