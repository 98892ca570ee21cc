/**
 * The live server-list connection (CONTRACT.md §5, §7). No React here: this module turns
 * socket events into callbacks, and the store turns callbacks into state.
 *
 * Lifecycle:
 *   connect(token) → open → messages … → close
 *     intentional (disconnect())      → onClose(true), nothing else
 *     code 4401 (session ended)       → onSessionEnded(), never retried
 *     anything else                   → retry after a delay within min(30000, 2 ** reconnectAttempts
 *                                       * 1000) ms (jittered, see reconnectDelayMs), onClose(false)
 *                                       with the retry time;
 *                                       after maxReconnectAttempts retries: onPermanentFailure()
 *   open but silent for 3 push intervals → the socket is given up (close code 4000) and handled
 *                                       as an unintended close: a dead path never says so itself.
 *   a successful open resets reconnectAttempts to 0.
 *   a monitord.v2 delta that does not follow what the client holds → the socket is given up
 *                                       (close code 4002) and handled as an unintended close:
 *                                       the new connection starts from a snapshot.
 *
 * Protocols: `monitord.v2` and `monitord.v1` are both offered; a daemon that knows v2 selects
 * it (a snapshot, then compact deltas, see v2Feed.ts), an older one v1. Either way the
 * callbacks get whole v1 lists.
 */
import type { FullServerListPushType } from "../types";
import { PushIntervalEstimate } from "./pushInterval";
import { isV2Message, SUBPROTOCOL_V2, V2ListState } from "./v2Feed";

/** Sent by the daemon when the token expired or was revoked. */
export const CLOSE_SESSION_ENDED = 4401;
export const SUBPROTOCOL = "monitord.v1";
export const BEARER_PROTOCOL_PREFIX = "bearer.";
export const WS_PATH = "/ws/servers";
export const DEFAULT_MAX_RECONNECT_ATTEMPTS = 10;
export const MAX_RECONNECT_DELAY_MS = 30_000;
/** Reported (and sent) when the client gives up a socket that stopped delivering pushes. */
export const CLOSE_STALLED = 4000;
/** Reported (and sent) when a v2 delta does not follow the client's state: resynchronise. */
export const CLOSE_RESYNC = 4002;
/** An open socket with no frame for this many push intervals is taken as dead. */
export const STALL_PUSH_INTERVALS = 3;

/** The subset of the browser WebSocket this service uses, so tests can pass a fake. */
export interface WebSocketLike {
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

/** Timer functions, injectable so tests control time without touching globals. */
export interface Scheduler {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** Epoch ms of the next connection attempt; null when none is scheduled. */
  nextRetryAt: number | null;
}

export interface WebSocketServiceCallbacks {
  onOpen(): void;
  onClose(isIntentional: boolean, info: CloseInfo): void;
  onError(): void;
  onMessage(message: FullServerListPushType): void;
  onPermanentFailure(): void;
  /** Close code 4401: the token is no longer valid, so the user must log in again. */
  onSessionEnded(): void;
  /** A frame that is not a valid push. The connection stays up; the frame is dropped. */
  onInvalidMessage?(reason: string): void;
}

export interface WebSocketServiceOptions {
  callbacks: WebSocketServiceCallbacks;
  /** Full ws:// or wss:// URL; defaults to {@link defaultWebSocketUrl} for the current page. */
  url?: string;
  createWebSocket?: WebSocketFactory;
  scheduler?: Scheduler;
  maxReconnectAttempts?: number;
  /** Uniform in [0, 1), for the retry jitter; Math.random unless a test fixes it. */
  random?: () => number;
  /** Learns the push interval the stall watchdog expects; a fresh default one if omitted. */
  pushInterval?: PushIntervalEstimate;
}

/** `ws(s)://<page host>/ws/servers`: the daemon serves the dashboard, so same origin. */
export function defaultWebSocketUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${WS_PATH}`;
}

/** The contract's backoff (CONTRACT §7): 1 s, 2 s, 4 s … capped at 30 s. */
export function reconnectDelayCapMs(reconnectAttempts: number): number {
  return Math.min(MAX_RECONNECT_DELAY_MS, 2 ** reconnectAttempts * 1000);
}

/**
 * Delay before retry number `reconnectAttempts + 1`: "equal jitter" within the contract's
 * backoff, i.e. in (cap / 2, cap] for `random` in [0, 1). A daemon restart drops every
 * dashboard at the same instant; the jitter spreads their retries over half the window instead
 * of landing them together. Full jitter (0 to cap) would spread them wider but could retry at
 * once, so the backoff would no longer slow a client down; keeping half of it still does.
 */
export function reconnectDelayMs(reconnectAttempts: number, random: () => number = Math.random): number {
  const cap = reconnectDelayCapMs(reconnectAttempts);
  return cap - Math.floor(random() * (cap / 2));
}

/**
 * Checks the shape of one decoded frame. Only the envelope and each item's id are checked:
 * the daemon is trusted for the rest, and this runs on every push of up to thousands of items.
 */
export function parsePushMessage(data: unknown): FullServerListPushType | string {
  const decoded = decodeFrame(data);
  return typeof decoded === "string" ? decoded : checkFullServerList(decoded.value);
}

function decodeFrame(data: unknown): { value: unknown } | string {
  if (typeof data !== "string") return "binary frame";
  try {
    return { value: JSON.parse(data) };
  } catch {
    return "not JSON";
  }
}

function checkFullServerList(decoded: unknown): FullServerListPushType | string {
  if (typeof decoded !== "object" || decoded === null) return "not an object";
  const message = decoded as Partial<FullServerListPushType>;
  if (message.type !== "fullServerList") return `unknown message type ${String(message.type)}`;
  if (typeof message.generatedAt !== "string") return "missing generatedAt";
  if (!Array.isArray(message.servers)) return "servers is not an array";
  for (const server of message.servers as unknown[]) {
    if (typeof server !== "object" || server === null) return "server is not an object";
    if (typeof (server as { id?: unknown }).id !== "number") return "server without numeric id";
  }
  return message as FullServerListPushType;
}

const browserScheduler: Scheduler = {
  // Looked up on each call so test fake timers installed later still apply.
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

const browserWebSocket: WebSocketFactory = (url, protocols) => new WebSocket(url, protocols);

export class WebSocketService {
  /** Retries made since the last successful open. */
  reconnectAttempts = 0;
  /** Epoch ms of the scheduled retry, or null. */
  nextRetryAt: number | null = null;

  private readonly callbacks: WebSocketServiceCallbacks;
  private readonly url: string | undefined;
  private readonly createWebSocket: WebSocketFactory;
  private readonly scheduler: Scheduler;
  private readonly maxReconnectAttempts: number;
  private readonly random: () => number;
  private readonly pushInterval: PushIntervalEstimate;

  private socket: WebSocketLike | null = null;
  private token: string | null = null;
  private isIntentionalClose = false;
  private reconnectTimer: unknown = null;
  /** Epoch ms of the open socket's last frame (or its open), for the stall watchdog. */
  private lastFrameAt = 0;
  private stallTimer: unknown = null;
  /** What a monitord.v2 connection holds; reset for every socket. */
  private readonly v2 = new V2ListState();

  constructor(options: WebSocketServiceOptions) {
    this.callbacks = options.callbacks;
    this.url = options.url;
    this.createWebSocket = options.createWebSocket ?? browserWebSocket;
    this.scheduler = options.scheduler ?? browserScheduler;
    this.maxReconnectAttempts = options.maxReconnectAttempts ?? DEFAULT_MAX_RECONNECT_ATTEMPTS;
    this.random = options.random ?? Math.random;
    this.pushInterval = options.pushInterval ?? new PushIntervalEstimate();
  }

  /**
   * Opens a connection with `token`, replacing any current one. A fresh start: the retry
   * count is reset, so this is also what a "Retry" button calls after a permanent failure.
   */
  connect(token: string): void {
    this.dropSocket();
    this.clearReconnectTimer();
    this.token = token;
    this.isIntentionalClose = false;
    this.reconnectAttempts = 0;
    this.openSocket();
  }

  /** Closes the connection on purpose; no retry follows. */
  disconnect(): void {
    this.clearReconnectTimer();
    this.clearStallTimer();
    // Idempotent: the socket was already asked to close.
    if (this.isIntentionalClose) return;
    this.isIntentionalClose = true;
    const socket = this.socket;
    if (socket === null) return;
    // Keep the socket so its close event is still delivered and reported as intentional.
    socket.close(1000, "client disconnect");
  }

  private openSocket(): void {
    if (this.token === null) return;
    const url = this.url ?? defaultWebSocketUrl(window.location);
    let socket: WebSocketLike;
    try {
      socket = this.createWebSocket(url, [SUBPROTOCOL_V2, SUBPROTOCOL, BEARER_PROTOCOL_PREFIX + this.token]);
    } catch {
      // The constructor throws only for a malformed URL or protocol; retrying cannot help.
      this.callbacks.onError();
      this.callbacks.onPermanentFailure();
      return;
    }
    this.socket = socket;
    this.v2.reset();
    // Every handler checks that its socket is still the current one, so late events from a
    // replaced socket (connect() twice, StrictMode double effects) cannot disturb the state.
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.reconnectAttempts = 0;
      this.nextRetryAt = null;
      this.pushInterval.connectionOpened();
      this.lastFrameAt = this.scheduler.now();
      this.scheduleStallCheck(socket);
      this.callbacks.onOpen();
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      // Any frame, even one dropped below, shows the path is alive.
      this.lastFrameAt = this.scheduler.now();
      this.pushInterval.frameReceived(this.lastFrameAt);
      const decoded = decodeFrame(event.data);
      if (typeof decoded !== "string" && isV2Message(decoded.value)) {
        const list = this.v2.apply(decoded.value, new Date(this.scheduler.now()).toISOString());
        if (typeof list === "string") {
          this.callbacks.onInvalidMessage?.(list);
          this.giveUp(socket, CLOSE_RESYNC, list);
          return;
        }
        this.callbacks.onMessage(list);
        return;
      }
      const parsed = typeof decoded === "string" ? decoded : checkFullServerList(decoded.value);
      if (typeof parsed === "string") {
        this.callbacks.onInvalidMessage?.(parsed);
        return;
      }
      this.callbacks.onMessage(parsed);
    };
    socket.onerror = () => {
      if (this.socket !== socket) return;
      this.callbacks.onError();
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearStallTimer();
      this.handleClose(event.code, event.reason);
    };
  }

  /** The silence allowed on an open socket before it is taken as dead, ms. */
  private stallLimitMs(): number {
    return STALL_PUSH_INTERVALS * this.pushInterval.intervalMs;
  }

  /**
   * Checks `socket` for silence when its limit would run out. One timer per limit, not one per
   * frame: a check that finds a newer frame just sets the next one. A check that comes late (a
   * background tab's throttled timers) still measures the silence from the last frame.
   */
  private scheduleStallCheck(socket: WebSocketLike): void {
    this.clearStallTimer();
    const dueInMs = Math.max(0, this.lastFrameAt + this.stallLimitMs() - this.scheduler.now());
    this.stallTimer = this.scheduler.setTimeout(() => {
      this.stallTimer = null;
      if (this.socket !== socket) return;
      const silentMs = this.scheduler.now() - this.lastFrameAt;
      if (silentMs < this.stallLimitMs()) {
        this.scheduleStallCheck(socket);
        return;
      }
      this.giveUpStalled(socket, silentMs);
    }, dueInMs);
  }

  /**
   * Drops a socket that stopped delivering and retries as after any unintended close. Its close
   * event is not awaited: on a dead path the closing handshake can take a minute to time out.
   */
  private giveUpStalled(socket: WebSocketLike, silentMs: number): void {
    this.pushInterval.stalled();
    this.giveUp(socket, CLOSE_STALLED, `no push for ${Math.round(silentMs / 1000)} s`);
  }

  /** Drops `socket` without awaiting its close event, and retries as after any unintended close. */
  private giveUp(socket: WebSocketLike, code: number, reason: string): void {
    this.clearStallTimer();
    this.socket = null;
    socket.close(code, reason);
    this.handleClose(code, reason);
  }

  private handleClose(code: number, reason: string): void {
    if (this.isIntentionalClose) {
      this.callbacks.onClose(true, { code, reason, nextRetryAt: null });
      return;
    }
    if (code === CLOSE_SESSION_ENDED) {
      // Retrying with the same token would be refused again; the user has to log in.
      this.token = null;
      this.callbacks.onSessionEnded();
      return;
    }
    if (this.reconnectAttempts >= this.maxReconnectAttempts) {
      this.nextRetryAt = null;
      this.callbacks.onClose(false, { code, reason, nextRetryAt: null });
      this.callbacks.onPermanentFailure();
      return;
    }
    const delayMs = reconnectDelayMs(this.reconnectAttempts, this.random);
    this.reconnectAttempts += 1;
    this.nextRetryAt = this.scheduler.now() + delayMs;
    this.reconnectTimer = this.scheduler.setTimeout(() => {
      this.reconnectTimer = null;
      this.nextRetryAt = null;
      this.openSocket();
    }, delayMs);
    this.callbacks.onClose(false, { code, reason, nextRetryAt: this.nextRetryAt });
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer !== null) {
      this.scheduler.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    this.nextRetryAt = null;
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== null) {
      this.scheduler.clearTimeout(this.stallTimer);
      this.stallTimer = null;
    }
  }

  /** Forgets the current socket without reporting its close (it is being replaced). */
  private dropSocket(): void {
    this.clearStallTimer();
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.close(1000, "client reconnect");
  }
}
