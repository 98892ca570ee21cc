import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useLocaleStore } from "../i18n/i18n";
import { FakeWebSocket } from "../test/fakeWebSocket";
import type { PublicStatusPage } from "../types";
import { StatusPage } from "./StatusPage";

const PAGE: PublicStatusPage = {
  title: "Fleet",
  description: "<b>not html</b>",
  footer: "",
  generatedAt: "2026-01-01T00:00:00Z",
  sections: [{ title: "Web", servers: [{ alias: "web-1", status: "online", cpu: 12, uptime: 99.5, days: [100, null] }] }],
};

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal("WebSocket", FakeWebSocket);
  useLocaleStore.setState({ locale: "en" });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("StatusPage", () => {
  it("shows the page, then follows the public feed; text stays text", async () => {
    const fetchMock = vi.fn().mockResolvedValue(jsonResponse(200, PAGE));
    vi.stubGlobal("fetch", fetchMock);
    render(<StatusPage slug="fleet" />);
    await screen.findByText("web-1");
    expect(screen.getByText("<b>not html</b>")).toBeTruthy();
    expect(fetchMock.mock.calls[0]![0]).toBe("/api/public/status/fleet");
    const socket = FakeWebSocket.latest();
    expect(socket.url).toMatch(/\/ws\/public\/status\/fleet$/);
    expect(socket.protocols).toEqual(["monitord.status.v1"]);
    act(() => {
      socket.open();
      socket.receive(
        JSON.stringify({ ...PAGE, type: "statusPage", sections: [{ title: "Web", servers: [{ alias: "web-1", status: "offline" }] }] }),
      );
    });
    await waitFor(() => expect(screen.getByTestId("status-server").getAttribute("data-status")).toBe("offline"));
  });

  it("takes a share key from the fragment and a password through a POST, never the URL", async () => {
    window.history.replaceState(null, "", "/status/fleet#key=share-secret");
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(jsonResponse(404, { error: { code: "not_found", message: "no such status page" } }))
      .mockResolvedValueOnce(jsonResponse(200, { token: "page-token", expiresAt: "2026-01-01T01:00:00Z" }))
      .mockResolvedValueOnce(jsonResponse(200, PAGE));
    vi.stubGlobal("fetch", fetchMock);
    render(<StatusPage slug="fleet" />);
    await screen.findByTestId("status-missing");
    expect(fetchMock.mock.calls[0]![1].headers.Authorization).toBe("Bearer share-secret");
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "page-password" } });
    fireEvent.click(screen.getByRole("button", { name: "Open" }));
    await screen.findByText("web-1");
    expect(fetchMock.mock.calls[1]![0]).toBe("/api/public/status/fleet/token");
    expect(JSON.parse(fetchMock.mock.calls[1]![1].body as string)).toEqual({ password: "page-password" });
    expect(fetchMock.mock.calls[2]![1].headers.Authorization).toBe("Bearer page-token");
    expect(FakeWebSocket.latest().protocols).toEqual(["monitord.status.v1", "token.page-token"]);
    for (const [url] of fetchMock.mock.calls) expect(String(url)).not.toContain("password");
  });
});
