/**
 * The live server list and the state of its connection (CONTRACT.md §7).
 *
 * The socket service lives in this module's closure, never in state: state holds only data
 * (what renders, and which servers' rolling windows are kept). The service reports through the `onWebSocket*` actions, which tests also call
 * directly to drive every transition.
 */
import { create, type StoreApi, type UseBoundStore } from "zustand";
import {
  WebSocketService,
  type WebSocketServiceCallbacks,
} from "../services/websocketService";
import type { FullServerListPushType, VpsListItemResponse } from "../types";
import { useAuthStore } from "./authStore";
import { reuseUnchanged } from "./reconcile";
import {
  advanceWindow,
  DEFAULT_ROLLING_WINDOW,
  EMPTY_WINDOW,
  latestSample,
  seedSamples,
  type RollingSample,
  type RollingWindow,
  type RollingWindowOptions,
} from "./rollingWindow";

export type ConnectionStatus =
  | "disconnected"
  | "connecting"
  | "connected"
  | "error"
  | "reconnecting"
  | "permanently_failed";

/** Codes rather than sentences: the store does not know the UI language. */
export type ServerListError =
  | "socket_error"
  | "connection_lost"
  | "retries_exhausted"
  | "session_ended";

export interface ServerListData {
  servers: readonly VpsListItemResponse[];
  connectionStatus: ConnectionStatus;
  /** True until the first list arrives after initializeWebSocket. */
  isLoading: boolean;
  error: ServerListError | null;
  /** Epoch ms of the next reconnect attempt while reconnecting. */
  nextRetryAt: number | null;
  /** `generatedAt` of the newest push (daemon clock). */
  generatedAt: string | null;
  /** Recent samples per watched server id, for live charts (see `watchServer`). */
  history: RollingWindow;
  /** Servers whose rolling window is kept, with how many watchers each has. */
  watchedServers: ReadonlyMap<number, number>;
}

export interface ServerListActions {
  initializeWebSocket(token: string): void;
  onWebSocketMessage(message: FullServerListPushType): void;
  onWebSocketOpen(): void;
  onWebSocketClose(isIntentional: boolean, nextRetryAt?: number | null): void;
  onWebSocketError(): void;
  onWebSocketPermanentFailure(): void;
  /** Close code 4401: the daemon no longer accepts the token. */
  onWebSocketSessionEnded(): void;
  disconnectWebSocket(): void;
  /** Disconnects and forgets every server (logout). */
  reset(): void;
  /**
   * Keeps a rolling window for `serverId` (starting from its current sample) until the
   * returned function is called. Counted per caller, so two views of one server, or React's
   * double effects, release it only when the last one lets go; then the window is dropped.
   */
  watchServer(serverId: number): () => void;
  /**
   * Fills a watched server's rolling window with older samples from the history API, so its
   * live charts are full at once (see `seedSamples`). Ignored for a server not watched or not
   * in the list.
   */
  seedHistory(serverId: number, samples: readonly RollingSample[]): void;
}

export type ServerListStore = ServerListData & ServerListActions;

/** What the socket service must offer the store. */
export interface ConnectionService {
  connect(token: string): void;
  disconnect(): void;
}

export interface ServerListStoreDeps {
  createService(callbacks: WebSocketServiceCallbacks): ConnectionService;
  /** Called once the daemon ended the session, to send the user to the login page. */
  onSessionEnded(): void;
  rollingWindow?: RollingWindowOptions;
}

const initialData: ServerListData = {
  servers: [],
  connectionStatus: "disconnected",
  isLoading: false,
  error: null,
  nextRetryAt: null,
  generatedAt: null,
  history: EMPTY_WINDOW,
  watchedServers: new Map(),
};

export function createServerListStore(
  deps: ServerListStoreDeps,
): UseBoundStore<StoreApi<ServerListStore>> {
  const rollingWindow = deps.rollingWindow ?? DEFAULT_ROLLING_WINDOW;
  // Created on first use so that merely importing the store opens nothing.
  let service: ConnectionService | null = null;

  return create<ServerListStore>()((set, get) => {
    const callbacks: WebSocketServiceCallbacks = {
      onOpen: () => get().onWebSocketOpen(),
      onClose: (isIntentional, info) => get().onWebSocketClose(isIntentional, info.nextRetryAt),
      onError: () => get().onWebSocketError(),
      onMessage: (message) => get().onWebSocketMessage(message),
      onPermanentFailure: () => get().onWebSocketPermanentFailure(),
      onSessionEnded: () => get().onWebSocketSessionEnded(),
      onInvalidMessage: (reason) => console.warn(`monitord: dropped a push frame (${reason})`),
    };

    return {
      ...initialData,

      initializeWebSocket(token) {
        service ??= deps.createService(callbacks);
        set((state) => ({
          connectionStatus: "connecting",
          // Keep showing the last list while reconnecting by hand; spin only before the first.
          isLoading: state.generatedAt === null,
          error: null,
          nextRetryAt: null,
        }));
        service.connect(token);
      },

      onWebSocketMessage(message) {
        set((state) => ({
          // The push is the whole list: servers missing from it are gone.
          servers: reuseUnchanged(state.servers, message.servers),
          history: advanceWindow(state.history, message.servers, state.watchedServers, rollingWindow),
          generatedAt: message.generatedAt,
          isLoading: false,
        }));
      },

      onWebSocketOpen() {
        set({ connectionStatus: "connected", error: null, nextRetryAt: null });
      },

      onWebSocketClose(isIntentional, nextRetryAt = null) {
        if (isIntentional) {
          set({ connectionStatus: "disconnected", nextRetryAt: null, isLoading: false });
          return;
        }
        set({ connectionStatus: "reconnecting", error: "connection_lost", nextRetryAt });
      },

      onWebSocketError() {
        set({ connectionStatus: "error", error: "socket_error" });
      },

      onWebSocketPermanentFailure() {
        set({
          connectionStatus: "permanently_failed",
          error: "retries_exhausted",
          nextRetryAt: null,
          isLoading: false,
        });
      },

      onWebSocketSessionEnded() {
        set({
          connectionStatus: "disconnected",
          error: "session_ended",
          nextRetryAt: null,
          isLoading: false,
        });
        deps.onSessionEnded();
      },

      disconnectWebSocket() {
        service?.disconnect();
        set({ connectionStatus: "disconnected", nextRetryAt: null, isLoading: false });
      },

      reset() {
        service?.disconnect();
        set(initialData);
      },

      watchServer(serverId) {
        set((state) => {
          const watchedServers = new Map(state.watchedServers);
          watchedServers.set(serverId, (watchedServers.get(serverId) ?? 0) + 1);
          if (state.history.has(serverId)) return { watchedServers };
          const server = state.servers.find((s) => s.id === serverId);
          const sample = server === undefined ? null : latestSample(server);
          if (sample === null) return { watchedServers };
          const history = new Map(state.history);
          history.set(serverId, [sample]);
          return { watchedServers, history };
        });
        let released = false;
        return () => {
          if (released) return;
          released = true;
          set((state) => {
            const count = state.watchedServers.get(serverId);
            // reset() already forgot every watcher.
            if (count === undefined) return {};
            const watchedServers = new Map(state.watchedServers);
            if (count > 1) {
              watchedServers.set(serverId, count - 1);
              return { watchedServers };
            }
            watchedServers.delete(serverId);
            const history = new Map(state.history);
            history.delete(serverId);
            return { watchedServers, history };
          });
        };
      },

      seedHistory(serverId, samples) {
        set((state) => {
          if (!state.watchedServers.has(serverId)) return {};
          // A server that left the list would be dropped by the next push anyway.
          if (!state.servers.some((server) => server.id === serverId)) return {};
          const current = state.history.get(serverId) ?? [];
          const seeded = seedSamples(current, samples, rollingWindow);
          if (seeded === current) return {};
          const history = new Map(state.history);
          history.set(serverId, seeded);
          return { history };
        });
      },
    };
  });
}

/** The app's store: a real WebSocket to this page's host, logout on session end. */
export const useServerListStore = createServerListStore({
  createService: (callbacks) => new WebSocketService({ callbacks }),
  onSessionEnded: () => useAuthStore.getState().logout("session_expired"),
});
