import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { useLocaleStore } from "./i18n/i18n";
import { useAuthStore, SESSION_STORAGE_KEY } from "./store/authStore";
import { useServerListStore } from "./store/serverListStore";
import { FakeWebSocket } from "./test/fakeWebSocket";
import { makePush, makeServer } from "./test/fixtures";
import type { LoginResponse } from "./types";

vi.mock("uplot", () => ({
  default: class {
    setData() {}
    setSize() {}
    destroy() {}
  },
}));

const LOGIN_RESPONSE: LoginResponse = {
  token: "jwt.for.admin",
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  user: { id: 1, username: "admin", role: "admin" },
};

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const fetchMock = vi.fn<typeof fetch>();

function signIn() {
  act(() => useAuthStore.getState().login(LOGIN_RESPONSE));
}

const status = () => screen.getByTestId("connection-status").getAttribute("data-status");

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal("WebSocket", FakeWebSocket);
  fetchMock.mockReset();
  fetchMock.mockResolvedValue(jsonResponse(200, LOGIN_RESPONSE.user));
  vi.stubGlobal("fetch", fetchMock);
  useAuthStore.setState(useAuthStore.getInitialState(), true);
  useServerListStore.setState(useServerListStore.getInitialState(), true);
  useLocaleStore.setState({ locale: "en" });
});

afterEach(() => {
  act(() => useServerListStore.getState().reset());
});

describe("routing and the login guard", () => {
  it("sends a visitor without a session to the login form, remembering the page", () => {
    window.history.replaceState(null, "", "/servers/3");
    render(<App />);
    expect(window.location.pathname).toBe("/login");
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/servers/3");
    expect(document.querySelector('input[name="username"]')).not.toBeNull();
    expect(document.querySelector('input[name="password"]')).not.toBeNull();
    expect(screen.getByRole("button", { name: "Sign in" }).getAttribute("type")).toBe("submit");
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it("logs in, returns to the remembered page and goes live", async () => {
    fetchMock.mockResolvedValueOnce(jsonResponse(200, LOGIN_RESPONSE));
    window.history.replaceState(null, "", "/login?next=%2Fservers%2F3");
    render(<App />);
    fireEvent.change(document.querySelector('input[name="username"]')!, { target: { value: "admin" } });
    fireEvent.change(document.querySelector('input[name="password"]')!, { target: { value: "pw" } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    await screen.findByTestId("server-detail");
    expect(window.location.pathname).toBe("/servers/3");
    expect(JSON.parse(sessionStorage.getItem(SESSION_STORAGE_KEY)!).token).toBe("jwt.for.admin");
    expect(FakeWebSocket.latest().protocols).toEqual(["monitord.v2", "monitord.v1", "bearer.jwt.for.admin"]);
    expect(FakeWebSocket.latest().url).toBe("ws://localhost:3000/ws/servers");
    expect(status()).toBe("connecting");

    act(() => FakeWebSocket.latest().open());
    expect(status()).toBe("connected");
    act(() => FakeWebSocket.latest().receive(JSON.stringify(makePush([makeServer({ id: 3, name: "gamma" })]))));
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("gamma");
  });

  it("an unknown path inside the app shows a not-found page", () => {
    signIn();
    window.history.replaceState(null, "", "/no/such/page");
    render(<App />);
    expect(screen.getByText("Page not found")).toBeTruthy();
  });
});

describe("the live connection in the app", () => {
  it("shows the list from the socket and the connection state", () => {
    signIn();
    render(<App />);
    act(() => FakeWebSocket.latest().open());
    act(() =>
      FakeWebSocket.latest().receive(JSON.stringify(makePush([makeServer({ id: 1 }), makeServer({ id: 2 })]))),
    );
    expect(screen.getAllByTestId("server-row")).toHaveLength(2);
    expect(status()).toBe("connected");
  });

  it("close code 4401 ends at the login page, with no retry", async () => {
    signIn();
    window.history.replaceState(null, "", "/servers/1");
    render(<App />);
    act(() => FakeWebSocket.latest().open());
    act(() => FakeWebSocket.latest().closeWith(4401, "token expired"));

    expect(window.location.pathname).toBe("/login");
    expect(useAuthStore.getState().session).toBeNull();
    expect(sessionStorage.getItem(SESSION_STORAGE_KEY)).toBeNull();
    expect(screen.getByTestId("login-notice").textContent).toBe(
      "Your session has ended. Please sign in again.",
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("a lost connection shows reconnecting, and a token the daemon refuses ends the session", async () => {
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: "unauthorized", message: "expired" } }));
    signIn();
    render(<App />);
    act(() => FakeWebSocket.latest().open());
    act(() => FakeWebSocket.latest().fail());
    expect(status()).toBe("reconnecting");
    expect(screen.getByTestId("connection-status").textContent).toMatch(/Reconnecting in 1 s/);

    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("/api/auth/me");
    expect((init!.headers as Record<string, string>).Authorization).toBe("Bearer jwt.for.admin");
  });

  it("a daemon that is merely down leaves the user signed in", async () => {
    fetchMock.mockRejectedValue(new TypeError("Failed to fetch"));
    signIn();
    render(<App />);
    act(() => FakeWebSocket.latest().fail());
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    expect(useAuthStore.getState().session).not.toBeNull();
    expect(status()).toBe("reconnecting");
  });

  it("Retry after a permanent failure connects again", () => {
    signIn();
    render(<App />);
    act(() => useServerListStore.getState().onWebSocketPermanentFailure());
    const before = FakeWebSocket.instances.length;
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(FakeWebSocket.instances).toHaveLength(before + 1);
    expect(status()).toBe("connecting");
  });

  it("signing out closes the socket on purpose and clears the list", () => {
    signIn();
    render(<App />);
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    act(() => socket.receive(JSON.stringify(makePush([makeServer({ id: 1 })]))));
    fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
    expect(window.location.pathname).toBe("/login");
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: "client disconnect" }]);
    expect(useServerListStore.getState().servers).toEqual([]);
    expect(screen.getByTestId("login-notice").textContent).toBe("You have signed out.");
  });

  it("leaving the signed-in pages closes the socket on purpose", () => {
    signIn();
    const { unmount } = render(<App />);
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    unmount();
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: "client disconnect" }]);
    expect(useServerListStore.getState().connectionStatus).toBe("disconnected");
  });

  it("switches language from the header", () => {
    signIn();
    render(<App />);
    fireEvent.change(screen.getByRole("combobox", { name: "Language" }), { target: { value: "zh-CN" } });
    expect(screen.getByRole("button", { name: "退出登录" })).toBeTruthy();
    expect(document.documentElement.lang).toBe("zh-CN");
  });
});
