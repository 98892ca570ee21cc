import { useEffect } from "react";
import { api } from "../services/api";
import { useAuthStore, type Session } from "../store/authStore";
import { useServerListStore } from "../store/serverListStore";

/** setTimeout's ceiling (~24.8 days); longer delays would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Keeps the live connection open for the signed-in session and ends the session when it
 * can no longer work:
 * - opens the WebSocket when the session starts, closes it when the session ends or the
 *   component unmounts;
 * - logs out at `expiresAt` (the daemon's 4401 would do it too, but only while connected);
 * - while the socket is down, asks `/api/auth/me`: an upgrade refused with 401 looks like any
 *   other failed connection to the browser, so only a REST call can tell "token expired"
 *   from "daemon down". The API client's 401 handler does the logout.
 */
export function useLiveConnection(session: Session): void {
  const { token, expiresAt } = session;
  const connectionStatus = useServerListStore((state) => state.connectionStatus);

  useEffect(() => {
    const store = useServerListStore.getState();
    store.initializeWebSocket(token);
    return () => useServerListStore.getState().disconnectWebSocket();
  }, [token]);

  useEffect(() => {
    const timer = setTimeout(
      () => useAuthStore.getState().logout("session_expired"),
      Math.min(MAX_TIMEOUT_MS, Math.max(0, expiresAt - Date.now())),
    );
    return () => clearTimeout(timer);
  }, [expiresAt]);

  const socketDown = connectionStatus === "reconnecting" || connectionStatus === "permanently_failed";
  useEffect(() => {
    if (!socketDown) return;
    api.me().catch(() => {
      // 401 is handled by the client (logout); a network error just means the daemon is down.
    });
  }, [socketDown]);
}
