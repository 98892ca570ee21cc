import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WebSocketServiceCallbacks } from "../services/websocketService";
import { WebSocketService } from "../services/websocketService";
import { FakeWebSocket, fakeWebSocketFactory } from "../test/fakeWebSocket";
import { makeMetrics, makePush, makeServer, reparsed } from "../test/fixtures";
import { toRollingSample } from "./rollingWindow";
import { createServerListStore, type ServerListStore } from "./serverListStore";

// One store for the file, reset from getInitialState() before each test (zustand's pattern).
const service = { connect: vi.fn<(token: string) => void>(), disconnect: vi.fn<() => void>() };
const onSessionEnded = vi.fn<() => void>();
let serviceCallbacks: WebSocketServiceCallbacks | null = null;
const createService = vi.fn((callbacks: WebSocketServiceCallbacks) => {
  serviceCallbacks = callbacks;
  return service;
});
const store = createServerListStore({ createService, onSessionEnded });
const state = (): ServerListStore => store.getState();

beforeEach(() => {
  store.setState(store.getInitialState(), true);
  service.connect.mockClear();
  service.disconnect.mockClear();
  onSessionEnded.mockClear();
});

describe("initial state", () => {
  it("is disconnected, empty and not loading", () => {
    expect(state()).toMatchObject({
      servers: [],
      connectionStatus: "disconnected",
      isLoading: false,
      error: null,
      nextRetryAt: null,
      generatedAt: null,
    });
    expect(state().history.size).toBe(0);
  });

  it("getInitialState() undoes every change", () => {
    state().initializeWebSocket("t");
    state().onWebSocketMessage(makePush([makeServer({ id: 1 })]));
    state().onWebSocketError();
    store.setState(store.getInitialState(), true);
    expect(state().servers).toEqual([]);
    expect(state().connectionStatus).toBe("disconnected");
    expect(state().error).toBeNull();
  });
});

describe("transitions", () => {
  it("initializeWebSocket → connecting, loading, and connects with the token", () => {
    state().initializeWebSocket("jwt-1");
    expect(state().connectionStatus).toBe("connecting");
    expect(state().isLoading).toBe(true);
    expect(service.connect).toHaveBeenCalledWith("jwt-1");
  });

  it("creates the service once and wires its callbacks to the actions", () => {
    state().initializeWebSocket("a");
    state().initializeWebSocket("b");
    expect(createService).toHaveBeenCalledTimes(1);
    serviceCallbacks!.onOpen();
    expect(state().connectionStatus).toBe("connected");
  });

  it("initializeWebSocket with a list already shown keeps it and does not spin", () => {
    state().onWebSocketMessage(makePush([makeServer({ id: 1 })]));
    state().initializeWebSocket("t");
    expect(state().isLoading).toBe(false);
    expect(state().servers).toHaveLength(1);
  });

  it("onWebSocketOpen → connected, clearing a previous error and retry time", () => {
    state().onWebSocketClose(false, 12345);
    state().onWebSocketOpen();
    expect(state()).toMatchObject({ connectionStatus: "connected", error: null, nextRetryAt: null });
  });

  it("onWebSocketMessage → the list, its time, loading done", () => {
    state().initializeWebSocket("t");
    const push = makePush([makeServer({ id: 1 }), makeServer({ id: 2 })], "2025-01-31T12:00:05Z");
    state().onWebSocketMessage(push);
    expect(state().servers.map((s) => s.id)).toEqual([1, 2]);
    expect(state().generatedAt).toBe("2025-01-31T12:00:05Z");
    expect(state().isLoading).toBe(false);
  });

  it("a new list replaces the previous one: gone servers disappear, order follows the push", () => {
    state().onWebSocketMessage(makePush([makeServer({ id: 1 }), makeServer({ id: 2 }), makeServer({ id: 3 })]));
    state().onWebSocketMessage(makePush([makeServer({ id: 3 }), makeServer({ id: 1, name: "renamed" })]));
    expect(state().servers.map((s) => [s.id, s.name])).toEqual([
      [3, "server-3"],
      [1, "renamed"],
    ]);
  });

  it("onWebSocketClose(false) → reconnecting with the retry time; the list stays", () => {
    state().onWebSocketMessage(makePush([makeServer({ id: 1 })]));
    state().onWebSocketOpen();
    state().onWebSocketClose(false, 1_700_000_000_000);
    expect(state()).toMatchObject({
      connectionStatus: "reconnecting",
      nextRetryAt: 1_700_000_000_000,
      error: "connection_lost",
    });
    expect(state().servers).toHaveLength(1);
  });

  it("onWebSocketClose(true) → disconnected", () => {
    state().onWebSocketOpen();
    state().onWebSocketClose(true);
    expect(state().connectionStatus).toBe("disconnected");
    expect(state().nextRetryAt).toBeNull();
  });

  it("onWebSocketError → error", () => {
    state().onWebSocketOpen();
    state().onWebSocketError();
    expect(state()).toMatchObject({ connectionStatus: "error", error: "socket_error" });
  });

  it("onWebSocketPermanentFailure → permanently_failed, no retry time, not loading", () => {
    state().initializeWebSocket("t");
    state().onWebSocketClose(false, 999);
    state().onWebSocketPermanentFailure();
    expect(state()).toMatchObject({
      connectionStatus: "permanently_failed",
      error: "retries_exhausted",
      nextRetryAt: null,
      isLoading: false,
    });
  });

  it("onWebSocketSessionEnded → disconnected and asks the app to log out", () => {
    state().onWebSocketOpen();
    state().onWebSocketSessionEnded();
    expect(state()).toMatchObject({ connectionStatus: "disconnected", error: "session_ended" });
    expect(onSessionEnded).toHaveBeenCalledTimes(1);
  });

  it("disconnectWebSocket → tells the service and becomes disconnected", () => {
    state().initializeWebSocket("t");
    state().onWebSocketOpen();
    state().disconnectWebSocket();
    expect(service.disconnect).toHaveBeenCalledTimes(1);
    expect(state().connectionStatus).toBe("disconnected");
  });

  it("reset → disconnects and forgets servers and history", () => {
    state().initializeWebSocket("t");
    state().onWebSocketMessage(makePush([makeServer({ id: 1 })]));
    state().reset();
    expect(service.disconnect).toHaveBeenCalledTimes(1);
    expect(state().servers).toEqual([]);
    expect(state().history.size).toBe(0);
    expect(state().generatedAt).toBeNull();
  });
});

describe("identity across pushes", () => {
  it("keeps unchanged servers' objects and replaces changed ones", () => {
    const first = makePush([makeServer({ id: 1 }), makeServer({ id: 2 })]);
    state().onWebSocketMessage(first);
    const [one, two] = state().servers;
    const next = reparsed(first);
    next.servers[1]!.latestMetrics!.cpuUsagePercent = 99;
    state().onWebSocketMessage(next);
    expect(state().servers[0]).toBe(one);
    expect(state().servers[1]).not.toBe(two);
    expect(state().servers[1]!.latestMetrics!.cpuUsagePercent).toBe(99);
  });

  it("an identical push leaves the servers array itself untouched", () => {
    const push = makePush([makeServer({ id: 1 }), makeServer({ id: 2, latestMetrics: null })]);
    state().onWebSocketMessage(push);
    const before = state().servers;
    state().onWebSocketMessage(reparsed(push));
    expect(state().servers).toBe(before);
  });

  it("a change of status alone counts as a change", () => {
    state().onWebSocketMessage(makePush([makeServer({ id: 1 })]));
    const before = state().servers[0];
    state().onWebSocketMessage(makePush([makeServer({ id: 1, status: "offline" })]));
    expect(state().servers[0]).not.toBe(before);
    expect(state().servers[0]!.status).toBe("offline");
  });
});

describe("rolling window in the store", () => {
  const at = (second: number) => new Date(Date.UTC(2025, 0, 31, 12, 0, second)).toISOString();
  const serverAt = (id: number, second: number, cpu = 1) =>
    makeServer({ id, latestMetrics: makeMetrics({ time: at(second), cpuUsagePercent: cpu }) });

  it("keeps no window for a server nobody watches, however long the list", () => {
    const list = (second: number) => Array.from({ length: 1000 }, (_, i) => serverAt(i + 1, second));
    for (let push = 0; push < 5; push += 1) state().onWebSocketMessage(makePush(list(push * 2)));
    expect(state().history.size).toBe(0);
  });

  it("a watched server's window starts from its current sample and grows per new metrics time", () => {
    state().onWebSocketMessage(makePush([serverAt(1, 0, 10), serverAt(2, 0)]));
    state().watchServer(1);
    expect(state().history.get(1)?.map((s) => s.cpuPercent)).toEqual([10]);
    state().onWebSocketMessage(makePush([serverAt(1, 2, 20), serverAt(2, 2)]));
    state().onWebSocketMessage(makePush([serverAt(1, 2, 20), serverAt(2, 4)]));
    expect(state().history.get(1)?.map((s) => s.cpuPercent)).toEqual([10, 20]);
    expect([...state().history.keys()]).toEqual([1]);
  });

  it("drops a watched server's window when it leaves the list", () => {
    state().onWebSocketMessage(makePush([serverAt(1, 0), serverAt(2, 0)]));
    state().watchServer(2);
    state().onWebSocketMessage(makePush([serverAt(1, 2)]));
    expect(state().history.has(2)).toBe(false);
  });

  it("counts watchers: the window goes when the last one lets go, and letting go twice is harmless", () => {
    state().onWebSocketMessage(makePush([serverAt(1, 0)]));
    const first = state().watchServer(1);
    const second = state().watchServer(1);
    first();
    first();
    state().onWebSocketMessage(makePush([serverAt(1, 2)]));
    expect(state().history.get(1)).toHaveLength(2);
    second();
    expect(state().history.has(1)).toBe(false);
    expect(state().watchedServers.size).toBe(0);
    state().onWebSocketMessage(makePush([serverAt(1, 4)]));
    expect(state().history.size).toBe(0);
  });

  it("reset forgets the watchers; a release after it changes nothing", () => {
    state().onWebSocketMessage(makePush([serverAt(1, 0)]));
    const release = state().watchServer(1);
    state().reset();
    release();
    expect(state().watchedServers.size).toBe(0);
    expect(state().history.size).toBe(0);
  });

  it("seedHistory fills a watched, listed server's window with older samples, and the push carries on", () => {
    const t = (second: number) => Date.parse("2025-01-31T12:00:00Z") + second * 1000;
    state().onWebSocketMessage(makePush([serverAt(1, 10, 9), serverAt(2, 10)]));
    state().watchServer(1);
    state().watchServer(7);
    const seed = [0, 2, 4, 10].map((second) => toRollingSample(makeMetrics({ cpuUsagePercent: second }), t(second)));
    state().seedHistory(1, seed);
    state().seedHistory(2, seed); // not watched: ignored
    state().seedHistory(7, seed); // watched but not in the list: ignored
    expect(state().history.get(1)?.map((s) => [s.t, s.cpuPercent])).toEqual([
      [t(0), 0],
      [t(2), 2],
      [t(4), 4],
      [t(10), 9], // the pushed sample, not the seed's
    ]);
    expect(state().history.has(2)).toBe(false);
    expect(state().history.has(7)).toBe(false);
    state().onWebSocketMessage(makePush([serverAt(1, 12, 12)]));
    expect(state().history.get(1)?.map((s) => s.cpuPercent)).toEqual([0, 2, 4, 9, 12]);
  });

  it("seedHistory with nothing new keeps the window's identity", () => {
    state().onWebSocketMessage(makePush([serverAt(1, 10)]));
    state().watchServer(1);
    const before = state().history;
    state().seedHistory(1, [toRollingSample(makeMetrics(), Date.parse("2025-01-31T12:00:10Z"))]);
    expect(state().history).toBe(before);
  });
});

describe("with the real service and a fake socket", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("follows connect → open → push → outage → reconnect → 4401", () => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
    const ended = vi.fn();
    const live = createServerListStore({
      createService: (callbacks) =>
        new WebSocketService({ callbacks, createWebSocket: fakeWebSocketFactory, random: () => 0 }),
      onSessionEnded: ended,
    });
    live.getState().initializeWebSocket("tok");
    expect(live.getState().connectionStatus).toBe("connecting");

    FakeWebSocket.latest().open();
    expect(live.getState().connectionStatus).toBe("connected");

    FakeWebSocket.latest().receive(JSON.stringify(makePush([makeServer({ id: 5 })])));
    expect(live.getState().servers.map((s) => s.id)).toEqual([5]);

    FakeWebSocket.latest().fail();
    expect(live.getState().connectionStatus).toBe("reconnecting");
    expect(live.getState().nextRetryAt).toBe(Date.now() + 1000);

    vi.advanceTimersByTime(1000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.latest().open();
    expect(live.getState().connectionStatus).toBe("connected");

    FakeWebSocket.latest().closeWith(4401);
    expect(live.getState().connectionStatus).toBe("disconnected");
    expect(live.getState().error).toBe("session_ended");
    expect(ended).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it("a socket that goes quiet shows reconnecting, then connects again and keeps the list", () => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
    const live = createServerListStore({
      createService: (callbacks) =>
        new WebSocketService({ callbacks, createWebSocket: fakeWebSocketFactory, random: () => 0 }),
      onSessionEnded: vi.fn(),
    });
    live.getState().initializeWebSocket("tok");
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().receive(JSON.stringify(makePush([makeServer({ id: 5 })])));
    vi.advanceTimersByTime(5999);
    expect(live.getState().connectionStatus).toBe("connected");
    vi.advanceTimersByTime(1);
    expect(live.getState()).toMatchObject({ connectionStatus: "reconnecting", nextRetryAt: Date.now() + 1000 });
    expect(live.getState().servers.map((s) => s.id)).toEqual([5]);
    vi.advanceTimersByTime(1000);
    FakeWebSocket.latest().open();
    expect(live.getState().connectionStatus).toBe("connected");
    expect(FakeWebSocket.instances).toHaveLength(2);
  });
});
