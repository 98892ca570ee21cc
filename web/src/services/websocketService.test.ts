import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket, fakeWebSocketFactory } from "../test/fakeWebSocket";
import { makePush, makeServer } from "../test/fixtures";
import { PushIntervalEstimate } from "./pushInterval";
import {
  CLOSE_SESSION_ENDED,
  CLOSE_STALLED,
  defaultWebSocketUrl,
  parsePushMessage,
  reconnectDelayCapMs,
  reconnectDelayMs,
  WebSocketService,
  type WebSocketServiceCallbacks,
} from "./websocketService";

function recordingCallbacks() {
  return {
    onOpen: vi.fn<WebSocketServiceCallbacks["onOpen"]>(),
    onClose: vi.fn<WebSocketServiceCallbacks["onClose"]>(),
    onError: vi.fn<WebSocketServiceCallbacks["onError"]>(),
    onMessage: vi.fn<WebSocketServiceCallbacks["onMessage"]>(),
    onPermanentFailure: vi.fn<WebSocketServiceCallbacks["onPermanentFailure"]>(),
    onSessionEnded: vi.fn<WebSocketServiceCallbacks["onSessionEnded"]>(),
    onInvalidMessage: vi.fn<NonNullable<WebSocketServiceCallbacks["onInvalidMessage"]>>(),
  };
}

/** A service whose jitter is fixed at `random` (0: every delay is the contract's cap). */
function makeService(maxReconnectAttempts?: number, random: () => number = () => 0) {
  const callbacks = recordingCallbacks();
  const service = new WebSocketService({
    callbacks,
    createWebSocket: fakeWebSocketFactory,
    random,
    ...(maxReconnectAttempts === undefined ? {} : { maxReconnectAttempts }),
  });
  return { service, callbacks };
}

/**
 * Lets the current socket fail, then measures when the service opens the next one.
 * Returns the delay in ms, or null if no new socket came within `limitMs`.
 */
function failAndMeasureRetry(limitMs = 120_000): number | null {
  const before = FakeWebSocket.instances.length;
  FakeWebSocket.latest().fail();
  let waited = 0;
  while (waited < limitMs) {
    vi.advanceTimersByTime(100);
    waited += 100;
    if (FakeWebSocket.instances.length > before) return waited;
  }
  return null;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2025-01-31T12:00:00Z"));
  FakeWebSocket.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("connect", () => {
  it("offers monitord.v2, monitord.v1 and the bearer token as subprotocols, never in the URL", () => {
    const { service } = makeService();
    service.connect("header.payload.signature");
    const socket = FakeWebSocket.latest();
    expect(socket.protocols).toEqual(["monitord.v2", "monitord.v1", "bearer.header.payload.signature"]);
    expect(socket.url).toBe("ws://localhost:3000/ws/servers");
    expect(socket.url).not.toContain("signature");
  });

  it("uses wss: on an https page and ws: otherwise, on the page's own host", () => {
    expect(defaultWebSocketUrl({ protocol: "https:", host: "mon.example:8443" })).toBe(
      "wss://mon.example:8443/ws/servers",
    );
    expect(defaultWebSocketUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe(
      "ws://127.0.0.1:8080/ws/servers",
    );
  });

  it("reports open and delivers decoded pushes", () => {
    const { service, callbacks } = makeService();
    service.connect("t");
    const socket = FakeWebSocket.latest();
    socket.open();
    const push = makePush([makeServer({ id: 7 })]);
    socket.receive(JSON.stringify(push));
    expect(callbacks.onOpen).toHaveBeenCalledTimes(1);
    expect(callbacks.onMessage).toHaveBeenCalledWith(push);
  });

  it("a constructor that throws is a permanent failure, not a crash", () => {
    const callbacks = recordingCallbacks();
    const service = new WebSocketService({
      callbacks,
      createWebSocket: () => {
        throw new SyntaxError("bad protocol");
      },
    });
    service.connect("t");
    expect(callbacks.onError).toHaveBeenCalledTimes(1);
    expect(callbacks.onPermanentFailure).toHaveBeenCalledTimes(1);
  });
});

describe("reconnect backoff", () => {
  it("caps at min(30000, 2 ** attempts * 1000)", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((attempts) => reconnectDelayCapMs(attempts))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it("jitters each delay within (cap / 2, cap]", () => {
    expect([0, 0.25, 0.5, 0.999999].map((r) => reconnectDelayMs(0, () => r))).toEqual([1000, 875, 750, 501]);
    expect(reconnectDelayMs(6, () => 0.5)).toBe(22_500);
    for (let attempts = 0; attempts <= 8; attempts += 1) {
      const cap = reconnectDelayCapMs(attempts);
      const delays = Array.from({ length: 500 }, () => reconnectDelayMs(attempts));
      expect(Math.min(...delays)).toBeGreaterThan(cap / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(cap);
      // Spread out, not one value: 500 draws over a window of cap / 2 ms.
      expect(new Set(delays).size).toBeGreaterThan(100);
    }
  });

  it("spreads dashboards dropped together over the window, each retrying when it said it would", () => {
    const draws = [0.1, 0.9, 0.5];
    const services = draws.map((r) => makeService(undefined, () => r).service);
    services.forEach((service) => service.connect("t"));
    const sockets = [...FakeWebSocket.instances];
    sockets.forEach((socket) => socket.open());
    const droppedAt = Date.now();
    sockets.forEach((socket) => socket.closeWith(1001, "going away"));
    const promised = services.map((service) => service.nextRetryAt! - droppedAt);
    expect(promised).toEqual([950, 550, 750]);
    const openedAfter: number[] = [];
    for (let waited = 0; waited < 1000; waited += 10) {
      vi.advanceTimersByTime(10);
      while (openedAfter.length < FakeWebSocket.instances.length - sockets.length) openedAfter.push(Date.now() - droppedAt);
    }
    // Each retry opens at the very time its close reported (the retry time shown is honest).
    expect(openedAfter).toEqual([550, 750, 950]);
  });

  it("waits 1 s, 2 s, 4 s, 8 s, 16 s, then 30 s between attempts", () => {
    const { service } = makeService(8);
    service.connect("t");
    const delays: Array<number | null> = [];
    for (let i = 0; i < 8; i += 1) delays.push(failAndMeasureRetry());
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("does not open early: nothing before the delay, a socket right at it", () => {
    const { service } = makeService();
    service.connect("t");
    FakeWebSocket.latest().fail();
    FakeWebSocket.latest().onclose = null; // the old socket stays inert
    vi.advanceTimersByTime(999);
    expect(FakeWebSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it("reports the next retry time with the close", () => {
    const { service, callbacks } = makeService();
    service.connect("t");
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().closeWith(1001, "going away");
    const now = Date.now();
    expect(callbacks.onClose).toHaveBeenLastCalledWith(false, {
      code: 1001,
      reason: "going away",
      nextRetryAt: now + 1000,
    });
    expect(service.nextRetryAt).toBe(now + 1000);
    expect(service.reconnectAttempts).toBe(1);
  });

  it("keeps the same token for retries", () => {
    const { service } = makeService();
    service.connect("abc");
    failAndMeasureRetry();
    expect(FakeWebSocket.latest().protocols).toEqual(["monitord.v2", "monitord.v1", "bearer.abc"]);
  });
});

describe("permanent failure", () => {
  it("comes after the default 10 attempts, and then nothing is retried", () => {
    const { service, callbacks } = makeService();
    service.connect("t");
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      expect(failAndMeasureRetry()).not.toBeNull();
      expect(callbacks.onPermanentFailure).not.toHaveBeenCalled();
    }
    expect(FakeWebSocket.instances).toHaveLength(11);
    expect(failAndMeasureRetry(10 * 60_000)).toBeNull();
    expect(callbacks.onPermanentFailure).toHaveBeenCalledTimes(1);
    expect(callbacks.onClose).toHaveBeenLastCalledWith(false, expect.objectContaining({ nextRetryAt: null }));
    expect(service.nextRetryAt).toBeNull();
  });

  it("honours a configured maximum", () => {
    const { service, callbacks } = makeService(2);
    service.connect("t");
    expect(failAndMeasureRetry()).toBe(1000);
    expect(failAndMeasureRetry()).toBe(2000);
    expect(failAndMeasureRetry()).toBeNull();
    expect(callbacks.onPermanentFailure).toHaveBeenCalledTimes(1);
  });

  it("connect() after a permanent failure starts over from 1 s", () => {
    const { service } = makeService(1);
    service.connect("t");
    failAndMeasureRetry();
    expect(failAndMeasureRetry()).toBeNull();
    service.connect("t");
    expect(failAndMeasureRetry()).toBe(1000);
  });
});

describe("successful open", () => {
  it("resets reconnectAttempts so the next outage starts at 1 s again", () => {
    const { service } = makeService();
    service.connect("t");
    expect([failAndMeasureRetry(), failAndMeasureRetry(), failAndMeasureRetry()]).toEqual([1000, 2000, 4000]);
    expect(service.reconnectAttempts).toBe(3);
    FakeWebSocket.latest().open();
    expect(service.reconnectAttempts).toBe(0);
    expect(failAndMeasureRetry()).toBe(1000);
  });

  it("an outage after many opens never reaches a permanent failure", () => {
    const { service, callbacks } = makeService(2);
    service.connect("t");
    for (let i = 0; i < 5; i += 1) {
      FakeWebSocket.latest().open();
      expect(failAndMeasureRetry()).toBe(1000);
    }
    expect(callbacks.onPermanentFailure).not.toHaveBeenCalled();
  });
});

describe("intentional disconnect", () => {
  it("closes the socket and reports the close as intentional, with no retry", () => {
    const { service, callbacks } = makeService();
    service.connect("t");
    const socket = FakeWebSocket.latest();
    socket.open();
    service.disconnect();
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: "client disconnect" }]);
    socket.closeWith(1000);
    vi.advanceTimersByTime(10 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(callbacks.onClose).toHaveBeenCalledWith(true, { code: 1000, reason: "", nextRetryAt: null });
  });

  it("still counts as intentional when the close event carries an abnormal code", () => {
    const { service, callbacks } = makeService();
    service.connect("t");
    FakeWebSocket.latest().open();
    service.disconnect();
    FakeWebSocket.latest().closeWith(1006);
    vi.advanceTimersByTime(10 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(callbacks.onClose).toHaveBeenCalledWith(true, expect.anything());
  });

  it("cancels a pending retry timer", () => {
    const { service } = makeService();
    service.connect("t");
    FakeWebSocket.latest().fail();
    expect(service.nextRetryAt).not.toBeNull();
    service.disconnect();
    expect(service.nextRetryAt).toBeNull();
    vi.advanceTimersByTime(10 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});

describe("close code 4401", () => {
  it("ends the session and never retries", () => {
    const { service, callbacks } = makeService();
    service.connect("t");
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().closeWith(CLOSE_SESSION_ENDED, "token expired");
    vi.advanceTimersByTime(10 * 60_000);
    expect(callbacks.onSessionEnded).toHaveBeenCalledTimes(1);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(callbacks.onClose).not.toHaveBeenCalled();
    expect(callbacks.onPermanentFailure).not.toHaveBeenCalled();
    expect(service.nextRetryAt).toBeNull();
  });
});

describe("messages", () => {
  it.each([
    ["not JSON", "{"],
    ["null", "null"],
    ["another type", JSON.stringify({ type: "somethingElse", servers: [] })],
    ["servers not a list", JSON.stringify({ type: "fullServerList", generatedAt: "x", servers: {} })],
    ["no generatedAt", JSON.stringify({ type: "fullServerList", servers: [] })],
    ["server without id", JSON.stringify({ type: "fullServerList", generatedAt: "x", servers: [{ name: "a" }] })],
    ["binary frame", new ArrayBuffer(4)],
  ])("drops a frame that is %s and stays connected", (_label, frame) => {
    const { service, callbacks } = makeService();
    service.connect("t");
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.receive(frame);
    expect(callbacks.onMessage).not.toHaveBeenCalled();
    expect(callbacks.onInvalidMessage).toHaveBeenCalledTimes(1);
    const push = makePush([makeServer({ id: 1 })]);
    socket.receive(JSON.stringify(push));
    expect(callbacks.onMessage).toHaveBeenCalledWith(push);
    expect(callbacks.onError).not.toHaveBeenCalled();
  });

  it("parsePushMessage accepts a well-formed push", () => {
    const push = makePush([makeServer({ id: 3 })]);
    expect(parsePushMessage(JSON.stringify(push))).toEqual(push);
  });
});

describe("replaced sockets", () => {
  it("ignores every event from a socket that connect() replaced", () => {
    const { service, callbacks } = makeService();
    service.connect("old");
    const first = FakeWebSocket.latest();
    service.connect("new");
    const second = FakeWebSocket.latest();
    expect(first.closeCalls).toHaveLength(1);
    first.open();
    first.receive(JSON.stringify(makePush([])));
    first.fail();
    vi.advanceTimersByTime(60_000);
    expect(callbacks.onOpen).not.toHaveBeenCalled();
    expect(callbacks.onMessage).not.toHaveBeenCalled();
    expect(callbacks.onClose).not.toHaveBeenCalled();
    expect(FakeWebSocket.instances).toEqual([first, second]);
    expect(second.protocols).toContain("bearer.new");
  });
});

describe("disconnect twice", () => {
  it("asks the socket to close only once", () => {
    const { service } = makeService();
    service.connect("t");
    const socket = FakeWebSocket.latest();
    socket.open();
    service.disconnect();
    service.disconnect();
    expect(socket.closeCalls).toHaveLength(1);
  });
});

describe("injected scheduler", () => {
  it("schedules retries through the given timers and clock, not the globals", () => {
    const scheduled: Array<{ callback: () => void; delayMs: number }> = [];
    const cleared: unknown[] = [];
    const callbacks = recordingCallbacks();
    const service = new WebSocketService({
      callbacks,
      createWebSocket: fakeWebSocketFactory,
      random: () => 0,
      scheduler: {
        setTimeout: (callback, delayMs) => scheduled.push({ callback, delayMs }),
        clearTimeout: (handle) => cleared.push(handle),
        now: () => 5_000,
      },
    });
    service.connect("t");
    FakeWebSocket.latest().fail();
    expect(scheduled.map((s) => s.delayMs)).toEqual([1000]);
    expect(callbacks.onClose).toHaveBeenLastCalledWith(false, expect.objectContaining({ nextRetryAt: 6_000 }));
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    scheduled[0]!.callback();
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.latest().fail();
    service.disconnect();
    expect(scheduled.map((s) => s.delayMs)).toEqual([1000, 2000]);
    expect(cleared).toEqual([2]);
  });
});

describe("a silent open socket (dead path)", () => {
  const push = () => JSON.stringify(makePush([makeServer({ id: 1 })]));

  /** Opens a connection and delivers the route's first list. */
  function openWithFirstPush(service: WebSocketService) {
    service.connect("t");
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.receive(push());
    return socket;
  }

  it("is given up after 3 default intervals (3 × 2 s) without a frame, then retried", () => {
    const { service, callbacks } = makeService();
    const socket = openWithFirstPush(service);
    vi.advanceTimersByTime(5999);
    expect(socket.closeCalls).toEqual([]);
    expect(callbacks.onClose).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(socket.closeCalls).toEqual([{ code: CLOSE_STALLED, reason: "no push for 6 s" }]);
    expect(callbacks.onClose).toHaveBeenCalledWith(false, {
      code: CLOSE_STALLED,
      reason: "no push for 6 s",
      nextRetryAt: Date.now() + 1000,
    });
    expect(callbacks.onError).not.toHaveBeenCalled();
    // Its close event, whenever the browser delivers it, changes nothing more.
    socket.closeWith(1006);
    expect(callbacks.onClose).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.latest().open();
    expect(callbacks.onOpen).toHaveBeenCalledTimes(2);
  });

  it("an open socket that never sends a frame is given up too", () => {
    const { service } = makeService();
    service.connect("t");
    FakeWebSocket.latest().open();
    vi.advanceTimersByTime(6000);
    expect(FakeWebSocket.latest().closeCalls).toEqual([{ code: CLOSE_STALLED, reason: "no push for 6 s" }]);
  });

  it("stays connected for as long as pushes come every 2 s", () => {
    const { service, callbacks } = makeService();
    const socket = openWithFirstPush(service);
    for (let i = 0; i < 300; i += 1) {
      vi.advanceTimersByTime(2000);
      socket.receive(push());
    }
    expect(socket.closeCalls).toEqual([]);
    expect(callbacks.onClose).not.toHaveBeenCalled();
  });

  it("learns a 1 s interval from the gaps and then notices silence after 3 s", () => {
    const { service } = makeService();
    const socket = openWithFirstPush(service);
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(1000);
      socket.receive(push());
    }
    vi.advanceTimersByTime(2999);
    expect(socket.closeCalls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(socket.closeCalls).toEqual([{ code: CLOSE_STALLED, reason: "no push for 3 s" }]);
  });

  it("a daemon pushing every 10 s costs at most one reconnect, then stays connected", () => {
    const { service, callbacks } = makeService();
    openWithFirstPush(service);
    vi.advanceTimersByTime(6000); // 3 × the assumed 2 s: taken for dead once
    expect(FakeWebSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    const socket = FakeWebSocket.latest();
    expect(FakeWebSocket.instances).toHaveLength(2);
    socket.open();
    socket.receive(push());
    for (let i = 0; i < 30; i += 1) {
      vi.advanceTimersByTime(10_000);
      socket.receive(push());
    }
    expect(socket.closeCalls).toEqual([]);
    expect(callbacks.onClose).toHaveBeenCalledTimes(1);
  });

  it("a burst of frames after a busy page does not make it trigger-happy", () => {
    const { service } = makeService();
    const socket = openWithFirstPush(service);
    for (let i = 0; i < 5; i += 1) {
      vi.advanceTimersByTime(2000);
      socket.receive(push());
    }
    for (let i = 0; i < 6; i += 1) socket.receive(push()); // delivered together
    vi.advanceTimersByTime(5999);
    expect(socket.closeCalls).toEqual([]);
  });

  it("invalid frames count as life on the path", () => {
    const { service } = makeService();
    const socket = openWithFirstPush(service);
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(2000);
      socket.receive("not json");
    }
    expect(socket.closeCalls).toEqual([]);
  });

  it("does not watch a socket that was disconnected, replaced or closed", () => {
    const { service, callbacks } = makeService();
    const first = openWithFirstPush(service);
    service.connect("t2"); // replaces the first socket
    const second = FakeWebSocket.latest();
    second.open();
    second.receive(push());
    second.closeWith(1001);
    vi.advanceTimersByTime(1000);
    const third = FakeWebSocket.latest();
    third.open();
    service.disconnect();
    third.closeWith(1000);
    vi.advanceTimersByTime(60_000);
    expect(first.closeCalls).toEqual([{ code: 1000, reason: "client reconnect" }]);
    expect(second.closeCalls).toEqual([]);
    expect(third.closeCalls).toEqual([{ code: 1000, reason: "client disconnect" }]);
    expect(FakeWebSocket.instances).toHaveLength(3);
    expect(callbacks.onClose).toHaveBeenCalledTimes(2);
  });
});

describe("PushIntervalEstimate", () => {
  it("assumes 2 s, takes the gap after the route's frame only as a lower bound, then the median gap", () => {
    const estimate = new PushIntervalEstimate();
    expect(estimate.intervalMs).toBe(2000);
    estimate.connectionOpened();
    estimate.frameReceived(0);
    estimate.frameReceived(300); // route's frame, then the next tick 0.3 s later
    expect(estimate.intervalMs).toBe(2000);
    estimate.frameReceived(5300);
    estimate.frameReceived(10300);
    estimate.frameReceived(20300); // a skipped tick
    expect(estimate.intervalMs).toBe(5000);
  });

  it("raises the assumption to a long first gap, and doubles it after a stall up to a ceiling", () => {
    const estimate = new PushIntervalEstimate();
    estimate.connectionOpened();
    estimate.frameReceived(0);
    estimate.frameReceived(7000);
    expect(estimate.intervalMs).toBe(7000);
    estimate.stalled();
    expect(estimate.intervalMs).toBe(14_000);
    for (let i = 0; i < 10; i += 1) estimate.stalled();
    expect(estimate.intervalMs).toBe(60_000);
  });

  it("ignores gaps below 1 s (frames delivered together)", () => {
    const estimate = new PushIntervalEstimate();
    estimate.connectionOpened();
    for (let t = 0; t < 20; t += 1) estimate.frameReceived(t * 10);
    expect(estimate.intervalMs).toBe(2000);
    for (let t = 1; t < 5; t += 1) estimate.frameReceived(200 + t * 1500);
    for (let t = 0; t < 20; t += 1) estimate.frameReceived(8000 + t * 10);
    expect(estimate.intervalMs).toBe(1500);
  });
});
