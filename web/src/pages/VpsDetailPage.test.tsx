import { act, fireEvent, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useLocaleStore } from "../i18n/i18n";
import { useServerListStore } from "../store/serverListStore";
import { makeMetrics, makePush, makeServer, GIB } from "../test/fixtures";
import type { MetricsResponse, VpsListItemResponse } from "../types";
import { VpsDetailPage } from "./VpsDetailPage";

// The history API: every call is recorded and answered by `respond` (empty by default).
const history = vi.hoisted(() => ({
  calls: [] as Array<{ id: number; query: { from: string; to: string; step: number } }>,
  respond: (_query: { step: number }): Promise<MetricsResponse> =>
    Promise.resolve({ points: [], step: _query.step, tier: "raw" }),
}));
vi.mock("../services/api", () => ({
  api: {
    getMetrics: (id: number, query: { from: string; to: string; step: number }) => {
      history.calls.push({ id, query });
      return history.respond(query);
    },
  },
}));

// jsdom has no canvas; a recording stand-in shows what the page hands to uPlot.
const charts = vi.hoisted(() => ({
  created: [] as Array<{ seriesLabels: string[]; data: unknown[][]; spanGaps: boolean[] }>,
  destroyed: 0,
}));
vi.mock("uplot", () => ({
  default: class {
    private record: { seriesLabels: string[]; data: unknown[][]; spanGaps: boolean[] };
    constructor(options: { series: Array<{ label?: string; spanGaps?: boolean }> }, data: unknown[][]) {
      this.record = {
        seriesLabels: options.series.slice(1).map((s) => s.label ?? ""),
        data,
        spanGaps: options.series.slice(1).map((s) => s.spanGaps ?? true),
      };
      charts.created.push(this.record);
    }
    setData(data: unknown[][]) {
      this.record.data = data;
    }
    setSize() {}
    destroy() {
      charts.destroyed += 1;
    }
  },
}));

function push(servers: VpsListItemResponse[]) {
  act(() => useServerListStore.getState().onWebSocketMessage(makePush(servers)));
}

const at = (second: number) => new Date(Date.UTC(2025, 0, 31, 12, 0, second)).toISOString();

const ALL_SERIES = [["CPU"], ["Used"], ["Used"], ["Used"], ["Read", "Write"], ["Receive", "Transmit"], ["1 min", "5 min", "15 min"]];

function chartFigures() {
  return screen.queryAllByTestId("history-chart").map((figure) => ({
    chart: figure.getAttribute("data-chart"),
    range: figure.getAttribute("data-range"),
    points: figure.getAttribute("data-points"),
  }));
}

beforeEach(() => {
  useServerListStore.setState(useServerListStore.getInitialState(), true);
  useLocaleStore.setState({ locale: "en" });
  charts.created = [];
  charts.destroyed = 0;
  history.calls = [];
  history.respond = (query) => Promise.resolve({ points: [], step: query.step, tier: "raw" });
});

describe("VpsDetailPage", () => {
  it("shows the host facts as text, including hostile ones", () => {
    render(<VpsDetailPage id={4} />);
    push([
      makeServer({
        id: 4,
        name: "edge-4",
        hostname: "<img src=x onerror=alert(1)>",
        osType: "linux",
        osVersion: "Ubuntu 24.04",
        kernelVersion: "6.8.0-45-generic",
        arch: "aarch64",
        cpuModel: "Neoverse-N1",
        cpuCores: 16,
        ipAddress: "203.0.113.9",
        agentVersion: "1.2.3",
      }),
    ]);
    const root = screen.getByTestId("server-detail");
    expect(root.getAttribute("data-server-id")).toBe("4");
    for (const text of [
      "edge-4",
      "<img src=x onerror=alert(1)>",
      "linux Ubuntu 24.04",
      "6.8.0-45-generic",
      "aarch64",
      "Neoverse-N1",
      "16",
      "203.0.113.9",
      "1.2.3",
    ]) {
      expect(root.textContent).toContain(text);
    }
    expect(root.querySelector("img")).toBeNull();
  });

  it("shows the live figures of the newest push", () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1, latestMetrics: makeMetrics({ cpuUsagePercent: 12, memoryUsageBytes: GIB }) })]);
    push([makeServer({ id: 1, latestMetrics: makeMetrics({ time: at(2), cpuUsagePercent: 64.5, processCount: 321 }) })]);
    const figures = screen.getByTestId("live-figures");
    expect(figures.textContent).toContain("64.5%");
    expect(figures.textContent).toContain("321");
    expect(figures.textContent).not.toContain("12.0%");
  });

  it("charts every metric live from the rolling window and updates them in place", async () => {
    render(<VpsDetailPage id={1} />);
    for (let second = 0; second < 3; second += 1) {
      push([makeServer({ id: 1, latestMetrics: makeMetrics({ time: at(second * 2), cpuUsagePercent: second * 10 }) })]);
    }
    await act(async () => {}); // the seed request (empty here) settles
    expect(charts.created.map((c) => c.seriesLabels)).toEqual(ALL_SERIES);
    expect(charts.created.every((c) => c.spanGaps.every((span) => span === false))).toBe(true);
    const cpu = charts.created[0]!;
    expect(cpu.data[1]).toEqual([0, 10, 20]);
    push([makeServer({ id: 1, latestMetrics: makeMetrics({ time: at(6), cpuUsagePercent: 30 }) })]);
    expect(charts.created).toHaveLength(7);
    expect(cpu.data[1]).toEqual([0, 10, 20, 30]);
    expect(cpu.data[0]).toHaveLength(4);
    expect(chartFigures()).toEqual(
      ["cpu", "memory", "swap", "disk", "diskIo", "network", "load"].map((chart) => ({ chart, range: "live", points: "4" })),
    );
    expect(screen.getByTestId("range-live").getAttribute("aria-pressed")).toBe("true");
  });

  it("seeds the live charts from the history API so they are full at once", async () => {
    history.respond = () =>
      Promise.resolve({
        points: [0, 2, 4, 6].map((second) => makeMetrics({ time: at(second), cpuUsagePercent: 1 + second })),
        step: 2,
        tier: "raw",
      });
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1, latestMetrics: makeMetrics({ time: at(8), cpuUsagePercent: 99 }) })]);
    await act(async () => {});
    expect(history.calls.map((c) => [c.id, c.query.step])).toEqual([[1, 2]]);
    expect(charts.created[0]!.data[1]).toEqual([1, 3, 5, 7, 99]);
    expect(chartFigures()[0]).toEqual({ chart: "cpu", range: "live", points: "5" });
  });

  it("draws a range from the history API, with gaps where buckets are missing", async () => {
    const bucket = (minutes: number) => new Date(Date.UTC(2025, 0, 31, 10, minutes)).toISOString();
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    await act(async () => {});
    history.respond = (query) =>
      Promise.resolve({
        // Two-minute buckets; 10:04 and 10:06 are missing: the agent was offline.
        points: [0, 2, 8, 10].map((minutes) => makeMetrics({ time: bucket(minutes), cpuUsagePercent: minutes })),
        step: query.step,
        tier: "raw",
      });
    fireEvent.click(screen.getByTestId("range-24h"));
    await act(async () => {});
    expect(history.calls[history.calls.length - 1]!.query.step).toBe(120);
    expect(screen.getByTestId("range-24h").getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByTestId("range-live").getAttribute("aria-pressed")).toBe("false");
    expect(chartFigures().map((f) => [f.range, f.points])).toEqual(Array(7).fill(["24h", "4"]));
    const cpu = charts.created[0]!;
    expect(cpu.data[1]).toEqual([0, 2, null, 8, 10]);
    expect(cpu.data[0]).toEqual([0, 2, 4, 8, 10].map((minutes) => Date.parse(bucket(minutes)) / 1000));
  });

  it("offers every range and says when one cannot be loaded", async () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    await act(async () => {});
    for (const range of ["live", "1h", "24h", "7d", "30d"]) expect(screen.getByTestId(`range-${range}`)).toBeTruthy();
    history.respond = () => Promise.reject(new Error("the daemon is gone"));
    fireEvent.click(screen.getByTestId("range-30d"));
    expect(screen.getByRole("status").textContent).toBe("Loading history…");
    await act(async () => {});
    expect(screen.getByRole("status").textContent).toBe("Could not load the history: the daemon is gone");
    expect(chartFigures()).toEqual([]);
    expect(history.calls[history.calls.length - 1]!.query.step).toBe(3600);
  });

  it("says so when a range holds no samples", async () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    fireEvent.click(screen.getByTestId("range-7d"));
    await act(async () => {});
    expect(screen.getByRole("status").textContent).toBe("No samples in this range.");
    expect(chartFigures().map((f) => f.points)).toEqual(Array(7).fill("0"));
  });

  it("waits for samples before drawing live charts", async () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    await act(async () => {});
    expect(screen.getByText("Collecting samples…")).toBeTruthy();
    expect(charts.created).toHaveLength(0);
  });

  it("keeps a rolling window only for the server it shows, and drops it when left", async () => {
    const list = (second: number) => [1, 2, 3].map((id) => makeServer({ id, latestMetrics: makeMetrics({ time: at(second) }) }));
    push(list(0));
    expect(useServerListStore.getState().history.size).toBe(0);
    const page = render(<VpsDetailPage id={2} />);
    await act(async () => {});
    push(list(2));
    expect([...useServerListStore.getState().history.keys()]).toEqual([2]);
    expect(useServerListStore.getState().history.get(2)).toHaveLength(2);
    page.unmount();
    expect(useServerListStore.getState().history.size).toBe(0);
    push(list(4));
    expect(useServerListStore.getState().history.size).toBe(0);
  });

  it("puts the charts in the history panel", () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    expect(screen.getByTestId("history-charts").querySelector('[data-testid="range-live"]')).toBeTruthy();
  });

  it("says so for a pending server without metrics", () => {
    render(<VpsDetailPage id={2} />);
    push([makeServer({ id: 2, status: "pending", latestMetrics: null, hostname: null })]);
    expect(screen.getByText("This server has not reported any metrics yet.")).toBeTruthy();
    expect(screen.getByText("Pending")).toBeTruthy();
  });

  it("waits for the first list, then reports a server that is not in it", () => {
    render(<VpsDetailPage id={99} />);
    expect(screen.getByTestId("server-detail").textContent).toContain("Waiting for the server list");
    push([makeServer({ id: 1 })]);
    expect(screen.getByTestId("server-detail").textContent).toContain("Server 99 is not in the list");
  });
});
