import { act, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useLocaleStore } from "../i18n/i18n";
import { useServerListStore } from "../store/serverListStore";
import { makeMetrics, makePush, makeServer, GIB } from "../test/fixtures";
import type { VpsListItemResponse } from "../types";
import { VpsDetailPage } from "./VpsDetailPage";

// jsdom has no canvas; a recording stand-in shows what the page hands to uPlot.
const charts = vi.hoisted(() => ({
  created: [] as Array<{ seriesLabels: string[]; data: unknown[][] }>,
  destroyed: 0,
}));
vi.mock("uplot", () => ({
  default: class {
    private record: { seriesLabels: string[]; data: unknown[][] };
    constructor(options: { series: Array<{ label?: string }> }, data: unknown[][]) {
      this.record = { seriesLabels: options.series.slice(1).map((s) => s.label ?? ""), data };
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

beforeEach(() => {
  useServerListStore.setState(useServerListStore.getInitialState(), true);
  useLocaleStore.setState({ locale: "en" });
  charts.created = [];
  charts.destroyed = 0;
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

  it("charts CPU, memory and network from the rolling window and updates them in place", () => {
    render(<VpsDetailPage id={1} />);
    for (let second = 0; second < 3; second += 1) {
      push([makeServer({ id: 1, latestMetrics: makeMetrics({ time: at(second * 2), cpuUsagePercent: second * 10 }) })]);
    }
    expect(charts.created.map((c) => c.seriesLabels)).toEqual([["CPU"], ["Memory used"], ["Receive", "Transmit"]]);
    const cpu = charts.created[0]!;
    expect(cpu.data[1]).toEqual([0, 10, 20]);
    push([makeServer({ id: 1, latestMetrics: makeMetrics({ time: at(6), cpuUsagePercent: 30 }) })]);
    expect(charts.created).toHaveLength(3);
    expect(cpu.data[1]).toEqual([0, 10, 20, 30]);
    expect(cpu.data[0]).toHaveLength(4);
  });

  it("waits for samples before drawing charts", () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    expect(screen.getByText("Collecting samples…")).toBeTruthy();
    expect(charts.created).toHaveLength(0);
  });

  it("leaves a place for the ranged history charts", () => {
    render(<VpsDetailPage id={1} />);
    push([makeServer({ id: 1 })]);
    expect(screen.getByTestId("history-charts")).toBeTruthy();
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
