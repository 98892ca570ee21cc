import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useLocaleStore } from "../i18n/i18n";
import { DEFAULT_LIST_VIEW } from "../lib/serverView";
import { useListViewStore } from "../store/listViewStore";
import { useServerListStore } from "../store/serverListStore";
import { makeMetrics, makePush, makeServer, GIB } from "../test/fixtures";
import type { VpsListItemResponse } from "../types";
import { HomePage } from "./HomePage";

function push(servers: VpsListItemResponse[]) {
  act(() => useServerListStore.getState().onWebSocketMessage(makePush(servers)));
}

const rows = () => screen.queryAllByTestId("server-row");
const rowIds = () => rows().map((row) => Number(row.getAttribute("data-server-id")));

beforeEach(() => {
  useServerListStore.setState(useServerListStore.getInitialState(), true);
  useListViewStore.setState({ ...useListViewStore.getInitialState(), ...DEFAULT_LIST_VIEW }, true);
  useLocaleStore.setState({ locale: "en" });
});

describe("HomePage", () => {
  it("renders one row per server with the test hooks", () => {
    render(<HomePage />);
    push([makeServer({ id: 11 }), makeServer({ id: 12 }), makeServer({ id: 13, status: "offline" })]);
    expect(rows()).toHaveLength(3);
    expect(rowIds().sort()).toEqual([11, 12, 13]);
  });

  it("shows every figure in human units", () => {
    render(<HomePage />);
    push([
      makeServer({
        id: 1,
        name: "alpha",
        osType: "linux",
        osVersion: "Debian 13",
        lastSeenAt: "2025-01-31T12:00:00Z",
        latestMetrics: makeMetrics({
          cpuUsagePercent: 37.26,
          memoryUsageBytes: 2 * GIB,
          memoryTotalBytes: 8 * GIB,
          diskUsedBytes: 40 * GIB,
          diskTotalBytes: 100 * GIB,
          networkRxInstantBps: 150 * 1024,
          networkTxInstantBps: 2048,
          uptimeSeconds: 93_784,
        }),
      }),
    ]);
    const row = rows()[0]!;
    for (const text of [
      "Online",
      "alpha",
      "linux Debian 13",
      "37.3%",
      "2.0 GiB / 8.0 GiB",
      "40.0 GiB / 100 GiB",
      "↓ 150 KiB/s",
      "↑ 2.0 KiB/s",
      "1d 2h",
      "now",
    ]) {
      expect(row.textContent).toContain(text);
    }
  });

  it("renders agent-supplied strings as text, never as HTML", () => {
    const hostile = "<img src=x onerror=alert(1)>";
    render(<HomePage />);
    push([makeServer({ id: 1, name: "<b>bold</b>", hostname: hostile, osType: "<script>x()</script>" })]);
    const row = rows()[0]!;
    expect(row.textContent).toContain(hostile);
    expect(row.textContent).toContain("<b>bold</b>");
    expect(row.querySelector("img, b, script")).toBeNull();
  });

  it("shows the counts and filters by status", () => {
    render(<HomePage />);
    push([
      makeServer({ id: 1, status: "online" }),
      makeServer({ id: 2, status: "offline" }),
      makeServer({ id: 3, status: "offline" }),
      makeServer({ id: 4, status: "pending", latestMetrics: null }),
    ]);
    const counts = screen.getByTestId("status-counts");
    expect(within(counts).getByRole("button", { name: /All/ }).textContent).toContain("4");
    expect(within(counts).getByRole("button", { name: /Online/ }).textContent).toContain("1");
    expect(within(counts).getByRole("button", { name: /Offline/ }).textContent).toContain("2");
    expect(within(counts).getByRole("button", { name: /Pending/ }).textContent).toContain("1");

    fireEvent.click(within(counts).getByRole("button", { name: /Offline/ }));
    expect(rowIds().sort()).toEqual([2, 3]);
    fireEvent.click(within(counts).getByRole("button", { name: /All/ }));
    expect(rows()).toHaveLength(4);
  });

  it("filters by name and says when nothing matches", () => {
    render(<HomePage />);
    push([makeServer({ id: 1, name: "db-main" }), makeServer({ id: 2, name: "web-1" })]);
    fireEvent.change(screen.getByRole("searchbox"), { target: { value: "web" } });
    expect(rowIds()).toEqual([2]);
    fireEvent.change(screen.getByRole("searchbox"), { target: { value: "nothing-like-this" } });
    expect(rows()).toHaveLength(0);
    expect(screen.getByText("No servers match the filter.")).toBeTruthy();
  });

  it("sorts by a column header, and a second click reverses it", () => {
    render(<HomePage />);
    push([
      makeServer({ id: 1, latestMetrics: makeMetrics({ cpuUsagePercent: 40 }) }),
      makeServer({ id: 2, latestMetrics: makeMetrics({ cpuUsagePercent: 90 }) }),
      makeServer({ id: 3, latestMetrics: makeMetrics({ cpuUsagePercent: 10 }) }),
    ]);
    const cpuHeader = screen.getByRole("columnheader", { name: /CPU/ });
    fireEvent.click(within(cpuHeader).getByRole("button"));
    expect(rowIds()).toEqual([3, 1, 2]);
    expect(cpuHeader.getAttribute("aria-sort")).toBe("ascending");
    fireEvent.click(within(cpuHeader).getByRole("button"));
    expect(rowIds()).toEqual([2, 1, 3]);
    expect(cpuHeader.getAttribute("aria-sort")).toBe("descending");
  });

  it("follows the pushes: a newer list replaces the rows", () => {
    render(<HomePage />);
    push([makeServer({ id: 1 }), makeServer({ id: 2 })]);
    push([makeServer({ id: 2 }), makeServer({ id: 3, status: "pending", latestMetrics: null })]);
    expect(rowIds().sort()).toEqual([2, 3]);
  });

  it("says it is loading before the first list, and empty when there are no servers", () => {
    render(<HomePage />);
    act(() => useServerListStore.setState({ isLoading: true }));
    expect(screen.getByText("Loading servers…")).toBeTruthy();
    push([]);
    expect(screen.getByText("No servers registered yet.")).toBeTruthy();
  });

  it("never claims there are no servers when the connection failed before any list", () => {
    render(<HomePage />);
    act(() => useServerListStore.getState().onWebSocketPermanentFailure());
    expect(screen.queryByText("No servers registered yet.")).toBeNull();
    expect(screen.getByText("No server list yet: not connected to the daemon.")).toBeTruthy();
  });

  it("renders only the rows near the viewport for a long list, and the rest on scroll", () => {
    render(<HomePage />);
    push(Array.from({ length: 1000 }, (_, i) => makeServer({ id: i + 1, name: `n-${String(i + 1).padStart(4, "0")}` })));
    const table = screen.getByRole("table");
    expect(table.getAttribute("aria-rowcount")).toBe("1001");
    expect(rows().length).toBeGreaterThan(10);
    expect(rows().length).toBeLessThan(100);
    expect(rowIds()[0]).toBe(1);
    expect(rows()[0]!.getAttribute("aria-rowindex")).toBe("2");

    // jsdom has no layout: pretend the list body has scrolled 500 rows (53 px each) up, and
    // run animation frames at once so the scroll handler's measurement lands inside act().
    const body = table.querySelector("tbody")!;
    body.getBoundingClientRect = () => DOMRect.fromRect({ x: 0, y: -500 * 53, width: 1000, height: 53_000 });
    vi.spyOn(window, "requestAnimationFrame").mockImplementation((callback) => {
      callback(0);
      return 1;
    });
    act(() => {
      window.dispatchEvent(new Event("scroll"));
    });
    const visible = rowIds();
    expect(visible).toContain(501);
    expect(visible).not.toContain(1);
    expect(rows().length).toBeLessThan(100);
    const spacers = body.querySelectorAll("tr.spacer");
    expect(spacers).toHaveLength(2);
  });

  it("speaks Chinese when the language is switched", () => {
    render(<HomePage />);
    push([makeServer({ id: 1, status: "offline" })]);
    act(() => useLocaleStore.setState({ locale: "zh-CN" }));
    expect(rows()[0]!.textContent).toContain("离线");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("服务器");
  });
});
