/**
 * Who is logged in. The token lives in memory and in sessionStorage (so a reload keeps the
 * session, a closed tab ends it); it is never put in a URL. The WebSocket gets it as a
 * subprotocol and REST calls as an Authorization header.
 */
import { create } from "zustand";
import type { LoginResponse, User } from "../types";

export interface Session {
  token: string;
  /** Epoch ms at which the daemon stops accepting the token. */
  expiresAt: number;
  user: User;
}

/** Why the last session ended, so the login page can say so. */
export type SessionEndReason = "logged_out" | "session_expired";

export interface AuthState {
  session: Session | null;
  endReason: SessionEndReason | null;
  login(response: LoginResponse): void;
  logout(reason?: SessionEndReason): void;
}

export const SESSION_STORAGE_KEY = "monitord.session";

function isSession(value: unknown): value is Session {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Session>;
  return (
    typeof candidate.token === "string" &&
    candidate.token.length > 0 &&
    typeof candidate.expiresAt === "number" &&
    typeof candidate.user === "object" &&
    candidate.user !== null &&
    typeof candidate.user.username === "string"
  );
}

/** The stored session if it is well-formed and not yet expired. */
export function loadSession(storage: Storage | null, now: number): Session | null {
  if (storage === null) return null;
  try {
    const raw = storage.getItem(SESSION_STORAGE_KEY);
    if (raw === null) return null;
    const parsed: unknown = JSON.parse(raw);
    if (!isSession(parsed) || parsed.expiresAt <= now) {
      storage.removeItem(SESSION_STORAGE_KEY);
      return null;
    }
    return parsed;
  } catch {
    return null;
  }
}

/** sessionStorage, or null where it is unavailable (privacy modes throw on access). */
export function browserSessionStorage(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function createAuthStore(storage: Storage | null, now: () => number = Date.now) {
  return create<AuthState>()((set) => ({
    session: loadSession(storage, now()),
    endReason: null,
    login(response) {
      const expiresAt = Date.parse(response.expiresAt);
      const session: Session = {
        token: response.token,
        // An unparsable expiry is treated as "unknown"; the daemon's 4401/401 still ends it.
        expiresAt: Number.isNaN(expiresAt) ? Number.MAX_SAFE_INTEGER : expiresAt,
        user: response.user,
      };
      try {
        storage?.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
      } catch {
        // Quota or privacy mode: the session still works until the tab reloads.
      }
      set({ session, endReason: null });
    },
    logout(reason = "logged_out") {
      try {
        storage?.removeItem(SESSION_STORAGE_KEY);
      } catch {
        // Nothing stored to remove.
      }
      set({ session: null, endReason: reason });
    },
  }));
}

export const useAuthStore = createAuthStore(browserSessionStorage());
