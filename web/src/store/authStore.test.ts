import { describe, expect, it } from "vitest";
import type { LoginResponse } from "../types";
import { createAuthStore, SESSION_STORAGE_KEY } from "./authStore";

const NOW = Date.parse("2025-01-31T12:00:00Z");
const response: LoginResponse = {
  token: "jwt-token",
  expiresAt: "2025-01-31T13:00:00Z",
  user: { id: 1, username: "admin", role: "admin" },
};

describe("auth store", () => {
  it("login keeps the session in memory and in sessionStorage", () => {
    const store = createAuthStore(sessionStorage, () => NOW);
    store.getState().login(response);
    expect(store.getState().session).toEqual({
      token: "jwt-token",
      expiresAt: Date.parse("2025-01-31T13:00:00Z"),
      user: response.user,
    });
    expect(JSON.parse(sessionStorage.getItem(SESSION_STORAGE_KEY)!).token).toBe("jwt-token");
  });

  it("a reload restores an unexpired session", () => {
    createAuthStore(sessionStorage, () => NOW).getState().login(response);
    const reloaded = createAuthStore(sessionStorage, () => NOW + 1000);
    expect(reloaded.getState().session?.token).toBe("jwt-token");
  });

  it("a reload drops an expired session", () => {
    createAuthStore(sessionStorage, () => NOW).getState().login(response);
    const reloaded = createAuthStore(sessionStorage, () => Date.parse("2025-01-31T13:00:00Z"));
    expect(reloaded.getState().session).toBeNull();
    expect(sessionStorage.getItem(SESSION_STORAGE_KEY)).toBeNull();
  });

  it("ignores garbage in storage", () => {
    sessionStorage.setItem(SESSION_STORAGE_KEY, "{not json");
    expect(createAuthStore(sessionStorage, () => NOW).getState().session).toBeNull();
    sessionStorage.setItem(SESSION_STORAGE_KEY, JSON.stringify({ token: 5 }));
    expect(createAuthStore(sessionStorage, () => NOW).getState().session).toBeNull();
  });

  it("logout forgets the token everywhere and remembers why", () => {
    const store = createAuthStore(sessionStorage, () => NOW);
    store.getState().login(response);
    store.getState().logout("session_expired");
    expect(store.getState().session).toBeNull();
    expect(store.getState().endReason).toBe("session_expired");
    expect(sessionStorage.getItem(SESSION_STORAGE_KEY)).toBeNull();
  });

  it("works without storage", () => {
    const store = createAuthStore(null, () => NOW);
    store.getState().login(response);
    expect(store.getState().session?.token).toBe("jwt-token");
  });
});
