import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket, fakeWebSocketFactory } from "../test/fakeWebSocket";
import { makeServer } from "../test/fixtures";
import type { FullServerListPushType } from "../types";
import { reuseUnchanged } from "../store/reconcile";
import { V2ListState, type V2Delta, type V2Snapshot } from "./v2Feed";
import { CLOSE_RESYNC, WebSocketService, type WebSocketServiceCallbacks } from "./websocketService";

const FIELDS = ["cpuUsagePercent", "memoryUsageBytes"];
const AT = "2025-01-31T12:00:00.000Z";

function snapshot(seq = 4, epoch = 9): V2Snapshot {
  return {
    type: "snapshot",
    epoch,
    seq,
    fields: FIELDS,
    servers: [makeServer({ id: 2, name: "b" }), makeServer({ id: 1, name: "a" })],
  };
}

function delta(baseSeq: number, changes: Partial<V2Delta> = {}, epoch = 9): V2Delta {
  return { type: "delta", epoch, seq: baseSeq + 1, baseSeq, rows: [], upserts: [], removed: [], ...changes };
}

function list(result: FullServerListPushType | string): FullServerListPushType {
  if (typeof result === "string") throw new Error(result);
  return result;
}

describe("V2ListState", () => {
  it("turns a snapshot into the v1 list, ordered by id", () => {
    const pushed = list(new V2ListState().apply(snapshot(), AT));
    expect(pushed.type).toBe("fullServerList");
    expect(pushed.generatedAt).toBe(AT);
    expect(pushed.servers.map((s) => s.name)).toEqual(["a", "b"]);
  });

  it("applies rows, upserts and removals, keeping untouched servers as the same objects", () => {
    const state = new V2ListState();
    const first = list(state.apply(snapshot(), AT));
    const tMs = Date.parse("2025-01-31T12:00:02Z");
    const next = list(
      state.apply(delta(4, { rows: [[2, tMs, 55.5, 1024]], upserts: [makeServer({ id: 3, name: "c" })] }), AT),
    );
    expect(next.servers.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(next.servers[0]).toBe(first.servers[0]);
    expect(next.servers[1]?.latestMetrics).toEqual({
      time: "2025-01-31T12:00:02.000Z",
      cpuUsagePercent: 55.5,
      memoryUsageBytes: 1024,
    });
    expect(next.servers[1]?.lastSeenAt).toBe("2025-01-31T12:00:02.000Z");
    expect(next.servers[1]?.name).toBe("b");
    const renamed = list(state.apply(delta(5, { upserts: [makeServer({ id: 1, name: "z" })], removed: [3] }), AT));
    expect(renamed.servers.map((s) => s.name)).toEqual(["z", "b"]);
  });

  it("refuses a delta for another base or epoch", () => {
    const state = new V2ListState();
    state.apply(snapshot(), AT);
    expect(state.apply(delta(3), AT)).toMatch(/does not follow/);
    expect(state.apply(delta(4, {}, 10), AT)).toMatch(/does not follow/);
    expect(typeof state.apply(delta(4), AT)).toBe("object");
  });

  it("refuses a delta before any snapshot", () => {
    expect(new V2ListState().apply(delta(0), AT)).toMatch(/does not follow/);
  });
});

describe("WebSocketService over monitord.v2", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date(AT));
    FakeWebSocket.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function connected() {
    const callbacks = {
      onOpen: vi.fn<WebSocketServiceCallbacks["onOpen"]>(),
      onClose: vi.fn<WebSocketServiceCallbacks["onClose"]>(),
      onError: vi.fn<WebSocketServiceCallbacks["onError"]>(),
      onMessage: vi.fn<WebSocketServiceCallbacks["onMessage"]>(),
      onPermanentFailure: vi.fn<WebSocketServiceCallbacks["onPermanentFailure"]>(),
      onSessionEnded: vi.fn<WebSocketServiceCallbacks["onSessionEnded"]>(),
      onInvalidMessage: vi.fn<NonNullable<WebSocketServiceCallbacks["onInvalidMessage"]>>(),
    };
    const service = new WebSocketService({ callbacks, createWebSocket: fakeWebSocketFactory, random: () => 0 });
    service.connect("t");
    FakeWebSocket.latest().open();
    return { service, callbacks };
  }

  it("delivers whole lists built from the snapshot and each delta", () => {
    const { callbacks } = connected();
    const socket = FakeWebSocket.latest();
    socket.receive(JSON.stringify(snapshot()));
    socket.receive(JSON.stringify(delta(4, { removed: [2] })));
    expect(callbacks.onMessage).toHaveBeenCalledTimes(2);
    expect(callbacks.onMessage.mock.calls[1]?.[0].servers.map((s) => s.id)).toEqual([1]);
    expect(callbacks.onInvalidMessage).not.toHaveBeenCalled();
  });

  it("reconnects when a delta does not follow, and starts over from the next snapshot", () => {
    const { callbacks } = connected();
    const socket = FakeWebSocket.latest();
    socket.receive(JSON.stringify(snapshot()));
    socket.receive(JSON.stringify(delta(7)));
    expect(socket.closeCalls.map((call) => call.code)).toEqual([CLOSE_RESYNC]);
    expect(callbacks.onClose).toHaveBeenCalledWith(false, expect.objectContaining({ code: CLOSE_RESYNC }));
    vi.advanceTimersByTime(1000);
    const next = FakeWebSocket.latest();
    expect(next).not.toBe(socket);
    next.open();
    next.receive(JSON.stringify(delta(4))); // the old state is gone: a delta alone cannot apply
    expect(next.closeCalls.map((call) => call.code)).toEqual([CLOSE_RESYNC]);
    expect(callbacks.onMessage).toHaveBeenCalledTimes(1);
  });
});

describe("V2ListState with the daemon's own fields", () => {
  const KNOWN = [
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
  ];

  it("builds each sample with every field in place, as the generic path would", () => {
    const state = new V2ListState();
    state.apply({ ...snapshot(), fields: KNOWN }, AT);
    const values = KNOWN.map((_, index) => index * 1.5);
    const next = list(state.apply(delta(4, { rows: [[1, Date.parse(AT), ...values]] }), AT));
    expect(next.servers[0]?.latestMetrics).toEqual({
      time: AT,
      ...Object.fromEntries(KNOWN.map((field, index) => [field, values[index]])),
    });
  });

  it("hands the store a list it need not compare again, and the same list when nothing changed", () => {
    const state = new V2ListState();
    const first = list(state.apply({ ...snapshot(), fields: KNOWN }, AT));
    const changed = list(state.apply(delta(4, { removed: [2] }), AT));
    expect(reuseUnchanged(first.servers, changed.servers)).toBe(changed.servers);
    const quiet = list(state.apply(delta(5), AT));
    expect(quiet.servers).toBe(changed.servers);
  });
});
