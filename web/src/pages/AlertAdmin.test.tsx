import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useLocaleStore } from "../i18n/i18n";
import { useAuthStore } from "../store/authStore";
import type { AlertChannel, AlertRule } from "../types/alerts";
import { AlertChannelsPage } from "./AlertChannelsPage";
import { AlertRulesPage } from "./AlertRulesPage";
import { AlertsPage } from "./AlertsPage";

const CHANNEL: AlertChannel = {
  id: 3,
  name: "ops hook",
  kind: "webhook",
  url: "https://***@hooks.example/x",
  secret: "***",
  language: "en",
  failing: false,
  lastError: null,
};

const RULE: AlertRule = {
  id: 7,
  name: "cpu high",
  enabled: true,
  kind: "metric",
  serverIds: null,
  tags: ["db"],
  excludeServerIds: [4],
  metric: "cpuUsagePercent",
  op: ">",
  warning: null,
  critical: 90,
  aggregate: "avg",
  windowSeconds: 0,
  forSeconds: 60,
  clear: null,
  clearForSeconds: 60,
  repeatSeconds: 0,
  repeatMaxSeconds: null,
  notifyResolved: true,
  channelIds: [],
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Answers by "METHOD /path" (query left off); records every call with its JSON body. */
function routeFetch(routes: Record<string, () => Response>) {
  const calls: { route: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn<typeof fetch>(async (input, init) => {
      const route = `${init?.method ?? "GET"} ${String(input).split("?")[0]}`;
      calls.push({ route, body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined });
      const answer = routes[route];
      if (answer === undefined) throw new Error(`unexpected ${route}`);
      return answer();
    }),
  );
  return calls;
}

const type = (name: string, value: string) =>
  fireEvent.change(document.querySelector(`form [name="${name}"]`)!, { target: { value } });

beforeEach(() => {
  useAuthStore.setState(useAuthStore.getInitialState(), true);
  act(() =>
    useAuthStore.getState().login({
      token: "jwt",
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      user: { id: 1, username: "admin", role: "admin" },
    }),
  );
  useLocaleStore.setState({ locale: "en" });
});

describe("editing alert channels and rules", () => {
  it("a channel edit sends only what changed: the redacted URL and secret stay unsent", async () => {
    const calls = routeFetch({
      "GET /api/alerts/channels": () => json(200, { channels: [CHANNEL] }),
      "PATCH /api/alerts/channels/3": () => json(200, { ...CHANNEL, name: "ops" }),
    });
    render(<AlertChannelsPage />);
    fireEvent.click(within(await screen.findByTestId("channel-row")).getByRole("button", { name: "Edit" }));
    expect((document.querySelector('form [name="url"]') as HTMLInputElement).value).toBe(CHANNEL.url);
    type("name", "ops");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls.some((c) => c.route.startsWith("PATCH"))).toBe(true));
    expect(calls.find((c) => c.route.startsWith("PATCH"))!.body).toEqual({ name: "ops" });
    // back to a blank "create" form
    expect(await screen.findByRole("button", { name: "Create" })).toBeTruthy();
  });

  it("a new secret is sent; clearing it sends null", async () => {
    const calls = routeFetch({
      "GET /api/alerts/channels": () => json(200, { channels: [CHANNEL] }),
      "PATCH /api/alerts/channels/3": () => json(200, CHANNEL),
    });
    render(<AlertChannelsPage />);
    const row = await screen.findByTestId("channel-row");
    fireEvent.click(within(row).getByRole("button", { name: "Edit" }));
    type("secret", "new-key");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls.filter((c) => c.route.startsWith("PATCH"))).toHaveLength(1));
    fireEvent.click(within(await screen.findByTestId("channel-row")).getByRole("button", { name: "Edit" }));
    type("secret", "");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls.filter((c) => c.route.startsWith("PATCH"))).toHaveLength(2));
    expect(calls.filter((c) => c.route.startsWith("PATCH")).map((c) => c.body)).toEqual([
      { secret: "new-key" },
      { secret: null },
    ]);
  });

  it("a rule edit fills the form (tags included) and patches only the changed fields", async () => {
    const calls = routeFetch({
      "GET /api/alerts/rules": () => json(200, { rules: [RULE], metrics: ["cpuUsagePercent", "load1"] }),
      "GET /api/alerts/channels": () => json(200, { channels: [] }),
      "POST /api/alerts/rules/preview": () => json(200, { servers: 2, min: 10, max: 95 }),
      "PATCH /api/alerts/rules/7": () => json(200, RULE),
    });
    render(<AlertRulesPage />);
    fireEvent.click(within(await screen.findByTestId("rule-row")).getByRole("button", { name: "Edit" }));
    expect((document.querySelector('form [name="tags"]') as HTMLInputElement).value).toBe("db");
    expect((document.querySelector('form [name="excludeServerIds"]') as HTMLInputElement).value).toBe("4");
    type("tags", "db, eu");
    type("critical", "95");
    // the scope preview asks with the tags, and shows the count
    const previewed = (c: { route: string; body: unknown }) =>
      c.route === "POST /api/alerts/rules/preview" && (c.body as AlertRule).tags.join() === "db,eu";
    await waitFor(() => expect(calls.some(previewed)).toBe(true));
    await waitFor(() => expect(screen.getByTestId("rule-preview").textContent).toContain("2"));
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls.some((c) => c.route.startsWith("PATCH"))).toBe(true));
    expect(calls.find((c) => c.route.startsWith("PATCH"))!.body).toEqual({ tags: ["db", "eu"], critical: 95 });
  });
});

describe("alert history", () => {
  it("shows rule and server names, and the id of what was deleted since", async () => {
    const base = { time: "2026-01-01T00:00:00Z", kind: "transition", from: "pending", to: "firing", level: "critical", value: 95, detail: "" };
    routeFetch({
      "GET /api/alerts/active": () => json(200, { alerts: [] }),
      "GET /api/alerts/events": () =>
        json(200, {
          events: [
            { ...base, ruleId: 7, ruleName: "cpu high", serverId: 2, serverName: "web-2" },
            { ...base, ruleId: 8, ruleName: null, serverId: 9, serverName: null },
          ],
        }),
    });
    useLocaleStore.setState({ locale: "zh-CN" });
    render(<AlertsPage />);
    const [named, deleted] = await screen.findAllByTestId("alert-event");
    expect(within(named!).getByRole("link", { name: "web-2" })).toBeTruthy();
    expect(named!.textContent).toContain("cpu high");
    expect(deleted!.textContent).toContain("#8");
    expect(deleted!.textContent).toContain("#9");
    expect(screen.getByRole("heading", { level: 1 }).textContent).not.toBe("Alerts");
  });
});
