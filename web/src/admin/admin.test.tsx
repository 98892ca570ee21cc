import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { useLocaleStore } from "../i18n/i18n";
import { useAuthStore } from "../store/authStore";
import { useServerListStore } from "../store/serverListStore";
import { FakeWebSocket } from "../test/fakeWebSocket";
import { makePush, makeServer } from "../test/fixtures";
import type { LoginResponse, User } from "../types";
import { AccountPage } from "./AccountPage";
import { AdminServersPage } from "./AdminServersPage";
import { UsersPage } from "./UsersPage";

vi.mock("uplot", () => ({
  default: class {
    setData() {}
    setSize() {}
    destroy() {}
  },
}));

const ADMIN: User = { id: 1, username: "admin", role: "admin" };
const VIEWER: User = { id: 2, username: "vera", role: "viewer" };
const INSTALL = {
  version: "0.1.0",
  daemonUrl: "http://monitor.test:8080",
  grpcAddress: "monitor.test:50051",
  tls: false,
  installCommand: "sudo sh -c \"$(curl -fsSL http://monitor.test:8080/agent/install.sh || echo exit 1)\" install.sh --url x",
};

function json(status: number, body: unknown): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}
const apiError = (status: number, code: string, message: string) => json(status, { error: { code, message } });

/** Answers by "METHOD /path"; every call is recorded with its JSON body. */
function routeFetch(routes: Record<string, () => Response>) {
  const calls: { route: string; body: unknown }[] = [];
  const mock = vi.fn<typeof fetch>(async (input, init) => {
    const route = `${init?.method ?? "GET"} ${String(input)}`;
    calls.push({ route, body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined });
    const answer = routes[route];
    if (answer === undefined) throw new Error(`unexpected ${route}`);
    return answer();
  });
  vi.stubGlobal("fetch", mock);
  return calls;
}

function signIn(user: User) {
  const response: LoginResponse = { token: "jwt", expiresAt: new Date(Date.now() + 3_600_000).toISOString(), user };
  act(() => useAuthStore.getState().login(response));
}

const type = (element: Element, value: string) => fireEvent.change(element, { target: { value } });
const field = (name: string) => document.querySelector(`[role="dialog"] [name="${name}"], form [name="${name}"]`)!;

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal("WebSocket", FakeWebSocket);
  useAuthStore.setState(useAuthStore.getInitialState(), true);
  useServerListStore.setState(useServerListStore.getInitialState(), true);
  useLocaleStore.setState({ locale: "en" });
});

afterEach(() => {
  act(() => useServerListStore.getState().reset());
});

describe("Manage servers", () => {
  it("add: checks the name first, then shows the command and the token once with copy buttons", async () => {
    const calls = routeFetch({
      "POST /api/servers": () => json(201, { server: makeServer({ id: 7, name: "web-7" }), agentToken: "7.secret" }),
      "GET /api/agent/install": () => json(200, INSTALL),
    });
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    render(<AdminServersPage />);
    fireEvent.click(screen.getByRole("button", { name: "Add server" }));
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect((await screen.findByRole("alert")).textContent).toContain("1–100 characters");
    expect(calls).toEqual([]);
    type(field("name"), "web-7");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    const dialog = await screen.findByTestId("install-dialog");
    expect((screen.getByTestId("install-command") as HTMLTextAreaElement).value).toBe(INSTALL.installCommand);
    expect((screen.getByTestId("agent-token") as HTMLTextAreaElement).value).toBe("7.secret");
    expect(dialog.textContent).toContain("shown only this once");
    expect(dialog.textContent).toContain("monitor.test:50051");
    fireEvent.click(screen.getByTestId("install-command-copy"));
    expect(writeText).toHaveBeenCalledWith(INSTALL.installCommand);
    expect(await within(dialog).findByText("Copied")).toBeTruthy();
    expect(calls[0]).toEqual({ route: "POST /api/servers", body: { name: "web-7" } });
  });

  it("add: the API's refusal appears next to the name field", async () => {
    routeFetch({ "POST /api/servers": () => apiError(400, "invalid_request", "name: expected at most 100 characters") });
    render(<AdminServersPage />);
    fireEvent.click(screen.getByRole("button", { name: "Add server" }));
    type(field("name"), "x");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    const error = await screen.findByRole("alert");
    expect(error.textContent).toContain("name: expected at most 100 characters");
    expect(field("name").getAttribute("aria-describedby")).toBe(error.id);
  });

  it("the dialog takes the focus and keeps Tab inside it", () => {
    routeFetch({});
    render(<AdminServersPage />);
    const opener = screen.getByRole("button", { name: "Add server" });
    opener.focus();
    fireEvent.click(opener);
    const dialog = screen.getByTestId("server-name-dialog");
    const input = field("name") as HTMLElement;
    expect(document.activeElement).toBe(input);
    const buttons = within(dialog).getAllByRole("button");
    buttons.at(-1)!.focus();
    fireEvent.keyDown(dialog, { key: "Tab" });
    expect(document.activeElement).toBe(buttons[0]);
    fireEvent.keyDown(dialog, { key: "Tab", shiftKey: true });
    expect(document.activeElement).toBe(buttons.at(-1));
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByTestId("server-name-dialog")).toBeNull();
    expect(document.activeElement).toBe(opener);
  });

  it("new token: confirm, then a fresh command and token", async () => {
    act(() => useServerListStore.getState().onWebSocketMessage(makePush([makeServer({ id: 3, name: "db-3" })])));
    routeFetch({
      "POST /api/servers/3/token": () => json(200, { agentToken: "3.fresh" }),
      "GET /api/agent/install": () => json(200, INSTALL),
    });
    render(<AdminServersPage />);
    fireEvent.click(screen.getByRole("button", { name: "New token" }));
    expect(screen.getByTestId("confirm-dialog").textContent).toContain("Issue a new token for db-3?");
    fireEvent.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "New token" }));
    expect(((await screen.findByTestId("agent-token")) as HTMLTextAreaElement).value).toBe("3.fresh");
  });

  it("delete: confirmation, and the API's error stays in the dialog; Escape closes it", async () => {
    act(() => useServerListStore.getState().onWebSocketMessage(makePush([makeServer({ id: 4, name: "old-4" })])));
    routeFetch({ "DELETE /api/servers/4": () => apiError(503, "unavailable", "the database is unavailable") });
    render(<AdminServersPage />);
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    const dialog = screen.getByTestId("confirm-dialog");
    fireEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect((await within(dialog).findByRole("alert")).textContent).toContain("the database is unavailable");
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByTestId("confirm-dialog")).toBeNull();
  });
});

describe("Users", () => {
  beforeEach(() => signIn(ADMIN));

  it("add with an empty password: one is generated and shown once", async () => {
    const calls = routeFetch({
      "GET /api/users": () => json(200, { users: [ADMIN] }),
      "POST /api/users": () => json(201, { id: 5, username: "newbie", role: "viewer" }),
    });
    render(<UsersPage />);
    await screen.findByTestId("user-admin");
    fireEvent.click(screen.getByRole("button", { name: "Add user" }));
    type(field("username"), "-bad");
    type(field("password"), "short");
    fireEvent.click(within(screen.getByTestId("add-user-dialog")).getByRole("button", { name: "Add user" }));
    expect(await screen.findByText(/starting with a letter or digit/)).toBeTruthy();
    expect(screen.getByText("At least 8 characters.")).toBeTruthy();
    type(field("username"), "newbie");
    type(field("password"), "");
    fireEvent.click(within(screen.getByTestId("add-user-dialog")).getByRole("button", { name: "Add user" }));
    const shown = await screen.findByTestId("shown-password");
    const sent = calls.find((call) => call.route === "POST /api/users")!.body as { password: string; role: string };
    expect(sent.role).toBe("viewer");
    expect(sent.password).toHaveLength(16);
    expect((shown as HTMLTextAreaElement).value).toBe(sent.password);
  });

  it("a taken name: the API's message next to the username", async () => {
    routeFetch({
      "GET /api/users": () => json(200, { users: [ADMIN] }),
      "POST /api/users": () => apiError(409, "conflict", "a user named 'admin' already exists"),
    });
    render(<UsersPage />);
    fireEvent.click(screen.getByRole("button", { name: "Add user" }));
    type(field("username"), "admin");
    type(field("password"), "long-enough");
    fireEvent.click(within(screen.getByTestId("add-user-dialog")).getByRole("button", { name: "Add user" }));
    const error = await screen.findByText("a user named 'admin' already exists");
    expect(error.id).toBe("new-user-username-error");
  });

  it("demoting the last admin shows the API's refusal on that row; no delete button for oneself", async () => {
    routeFetch({
      "GET /api/users": () => json(200, { users: [ADMIN, VIEWER] }),
      "PATCH /api/users/1": () =>
        apiError(409, "last_admin", "cannot demote the last admin; make another user an admin first"),
    });
    render(<UsersPage />);
    const row = await screen.findByTestId("user-admin");
    expect(within(row).queryByRole("button", { name: "Delete" })).toBeNull();
    expect(within(screen.getByTestId("user-vera")).getByRole("button", { name: "Delete" })).toBeTruthy();
    fireEvent.change(within(row).getByRole("combobox"), { target: { value: "viewer" } });
    expect((await within(row).findByRole("alert")).textContent).toContain("cannot demote the last admin");
  });

  it("reset password: confirmation, then the generated password once", async () => {
    routeFetch({
      "GET /api/users": () => json(200, { users: [ADMIN, VIEWER] }),
      "POST /api/users/2/password": () => json(200, { user: VIEWER, password: "Generated-123" }),
    });
    render(<UsersPage />);
    fireEvent.click(within(await screen.findByTestId("user-vera")).getByRole("button", { name: "Reset password" }));
    fireEvent.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Reset password" }));
    expect(((await screen.findByTestId("shown-password")) as HTMLTextAreaElement).value).toBe("Generated-123");
  });
});

describe("My account", () => {
  beforeEach(() => signIn(VIEWER));

  it("checks the form, shows a wrong current password next to it, keeps this tab signed in", async () => {
    const renewed: LoginResponse = { token: "jwt.new", expiresAt: new Date(Date.now() + 3_600_000).toISOString(), user: VIEWER };
    let answer = apiError(403, "invalid_credentials", "the current password is wrong");
    routeFetch({ "PUT /api/auth/password": () => answer });
    render(<AccountPage />);
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(screen.getByText("Required.")).toBeTruthy();
    type(field("currentPassword"), "old-password");
    type(field("newPassword"), "new-password");
    type(field("confirm"), "other-password");
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(screen.getByText("The passwords differ.")).toBeTruthy();
    type(field("confirm"), "new-password");
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect((await screen.findByText("the current password is wrong")).id).toBe("account-currentPassword-error");
    answer = json(200, renewed);
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect((await screen.findByRole("status")).textContent).toContain("Password changed.");
    expect(useAuthStore.getState().session?.token).toBe("jwt.new");
  });

  it("is translated", () => {
    routeFetch({});
    useLocaleStore.setState({ locale: "zh-CN" });
    render(<AccountPage />);
    expect(screen.getByRole("heading", { name: "我的账户" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "修改密码" })).toBeTruthy();
  });
});

describe("role-based visibility", () => {
  it("a viewer sees no admin links, and the admin pages are not there for them", () => {
    routeFetch({});
    signIn(VIEWER);
    window.history.replaceState(null, "", "/admin/users");
    render(<App />);
    expect(screen.queryByTestId("nav-admin-servers")).toBeNull();
    expect(screen.queryByTestId("nav-users")).toBeNull();
    expect(screen.getByTestId("nav-account")).toBeTruthy();
    expect(screen.queryByTestId("users-page")).toBeNull();
    expect(screen.queryByRole("button", { name: "Add user" })).toBeNull();
  });

  it("an admin gets the links and the pages", async () => {
    routeFetch({ "GET /api/users": () => json(200, { users: [ADMIN] }) });
    signIn(ADMIN);
    window.history.replaceState(null, "", "/admin/users");
    render(<App />);
    expect(screen.getByTestId("nav-admin-servers").getAttribute("href")).toBe("/admin/servers");
    expect(screen.getByTestId("nav-users").getAttribute("href")).toBe("/admin/users");
    await waitFor(() => expect(screen.getByTestId("user-admin")).toBeTruthy());
  });
});
