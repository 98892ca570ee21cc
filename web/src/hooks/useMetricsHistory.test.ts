import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RANGE_SPECS, type HistoryRange } from "../lib/history";
import { ApiError } from "../services/apiClient";
import { useServerListStore } from "../store/serverListStore";
import { makeMetrics, makePush, makeServer } from "../test/fixtures";
import type { MetricsResponse } from "../types";
import { useLiveSeed, useRangedHistory, type HistoryClient } from "./useMetricsHistory";

const NOW = Date.parse("2025-01-31T12:00:00Z");
const now = () => Date.now();

/** A history client whose answers the test releases one by one; an abort rejects, as fetch does. */
function deferredClient() {
  const calls: Array<{
    serverId: number;
    query: { from: string; to: string; step: number };
    signal: AbortSignal | undefined;
    resolve(response: MetricsResponse): void;
    reject(error: unknown): void;
  }> = [];
  const client: HistoryClient = {
    getMetrics: (serverId, query, signal) =>
      new Promise<MetricsResponse>((resolve, reject) => {
        calls.push({ serverId, query, signal, resolve, reject });
        signal?.addEventListener("abort", () => reject(signal.reason));
      }),
  };
  return { client, calls };
}

const response = (times: string[], step = 10): MetricsResponse => ({
  points: times.map((time, index) => makeMetrics({ time, cpuUsagePercent: index })),
  step,
  tier: "raw",
});

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  useServerListStore.setState(useServerListStore.getInitialState(), true);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("useRangedHistory", () => {
  it("loads the range, then asks again every refresh interval, keeping its points meanwhile", async () => {
    const { client, calls } = deferredClient();
    const { result } = renderHook(() => useRangedHistory(3, "1h", client, now));
    expect(result.current.status).toBe("loading");
    expect(calls.map((c) => [c.serverId, c.query, c.signal?.aborted])).toEqual([
      [3, { from: "2025-01-31T11:00:00.000Z", to: "2025-01-31T12:00:00.000Z", step: 10, fromMs: NOW - 3_600_000, toMs: NOW }, false],
    ]);
    await act(async () => calls[0]!.resolve(response(["2025-01-31T11:59:40Z", "2025-01-31T11:59:50Z"], 30)));
    expect(result.current).toMatchObject({ status: "ready", stepMs: 30_000, fromMs: NOW - 3_600_000, toMs: NOW });
    expect(result.current.status === "ready" && result.current.samples.map((s) => s.cpuPercent)).toEqual([0, 1]);

    await act(async () => vi.advanceTimersByTime(RANGE_SPECS["1h"].refreshMs));
    expect(calls).toHaveLength(2);
    expect(calls[1]!.query.to).toBe("2025-01-31T12:00:10.000Z");
    expect(result.current.status).toBe("ready"); // the old points stay until the new ones come
    await act(async () => calls[1]!.reject(new ApiError(0, "network_error", "offline")));
    expect(result.current.status).toBe("ready"); // a failed refresh keeps them too
  });

  it("reports a first load that fails", async () => {
    const { client, calls } = deferredClient();
    const { result } = renderHook(() => useRangedHistory(3, "7d", client, now));
    await act(async () => calls[0]!.reject(new ApiError(400, "invalid_request", "`step`: too many points")));
    expect(result.current).toEqual({ status: "error", message: "`step`: too many points" });
  });

  it("drops an answer for a range no longer shown, and is idle for live", async () => {
    const { client, calls } = deferredClient();
    const { result, rerender } = renderHook(({ range }: { range: HistoryRange }) => useRangedHistory(3, range, client, now), {
      initialProps: { range: "24h" as HistoryRange },
    });
    rerender({ range: "30d" });
    expect(result.current.status).toBe("loading");
    await act(async () => calls[0]!.resolve(response(["2025-01-31T11:00:00Z"])));
    expect(result.current.status).toBe("loading"); // the 24 h answer is not shown as 30 d
    await act(async () => calls[1]!.resolve(response(["2025-01-20T00:00:00Z"], 3600)));
    expect(result.current).toMatchObject({ status: "ready", stepMs: 3_600_000 });
    rerender({ range: "live" });
    expect(result.current.status).toBe("idle");
    await act(async () => vi.advanceTimersByTime(RANGE_SPECS["30d"].refreshMs * 2));
    expect(calls).toHaveLength(2); // no refresh after leaving the range
  });
});

describe("useRangedHistory never overlaps requests", () => {
  const refreshMs = RANGE_SPECS["1h"].refreshMs;

  it("skips a refresh due while the previous request still runs", async () => {
    const { client, calls } = deferredClient();
    const { result } = renderHook(() => useRangedHistory(3, "1h", client, now));
    await act(async () => calls[0]!.resolve(response(["2025-01-31T11:59:50Z"])));
    await act(async () => vi.advanceTimersByTime(refreshMs));
    expect(calls).toHaveLength(2);
    await act(async () => vi.advanceTimersByTime(refreshMs)); // call 2 still runs: no call 3
    expect(calls).toHaveLength(2);
    expect(calls[1]!.signal?.aborted).toBe(false);
    await act(async () => calls[1]!.resolve(response(["2025-01-31T12:00:00Z", "2025-01-31T12:00:10Z"])));
    expect(result.current.status === "ready" && result.current.samples).toHaveLength(2);
    await act(async () => vi.advanceTimersByTime(refreshMs));
    expect(calls).toHaveLength(3);
  });

  it("aborts and replaces a request still running at the refresh after the skipped one", async () => {
    const { client, calls } = deferredClient();
    const { result } = renderHook(() => useRangedHistory(3, "1h", client, now));
    await act(async () => calls[0]!.resolve(response(["2025-01-31T11:59:50Z"])));
    await act(async () => vi.advanceTimersByTime(refreshMs)); // call 2 starts and hangs
    await act(async () => vi.advanceTimersByTime(refreshMs)); // skipped
    await act(async () => vi.advanceTimersByTime(refreshMs)); // taken as hung
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.signal?.aborted)).toEqual([false, true, false]);
    expect(result.current.status).toBe("ready"); // the abort is no error to show
    await act(async () => calls[2]!.resolve(response(["2025-01-31T12:00:20Z", "2025-01-31T12:00:30Z"])));
    expect(result.current.status === "ready" && result.current.samples).toHaveLength(2);
  });

  it("leaving the page aborts the request in flight and stops refreshing", async () => {
    const { client, calls } = deferredClient();
    const { result, unmount } = renderHook(() => useRangedHistory(3, "24h", client, now));
    expect(calls[0]!.signal?.aborted).toBe(false);
    unmount();
    expect(calls[0]!.signal?.aborted).toBe(true);
    await act(async () => vi.advanceTimersByTime(RANGE_SPECS["24h"].refreshMs * 3));
    expect(calls).toHaveLength(1);
    expect(result.current.status).toBe("loading");
  });

  it("switching to another range aborts the previous range's request", async () => {
    const { client, calls } = deferredClient();
    const { rerender } = renderHook(({ range }: { range: HistoryRange }) => useRangedHistory(3, range, client, now), {
      initialProps: { range: "7d" as HistoryRange },
    });
    rerender({ range: "1h" });
    expect(calls.map((c) => [c.query.step, c.signal?.aborted])).toEqual([
      [900, true],
      [10, false],
    ]);
  });
});

describe("useLiveSeed", () => {
  it("fills the server's rolling window once from the last ten minutes", async () => {
    useServerListStore.getState().onWebSocketMessage(
      makePush([makeServer({ id: 3, latestMetrics: makeMetrics({ time: "2025-01-31T12:00:00Z", cpuUsagePercent: 50 }) })]),
    );
    useServerListStore.getState().watchServer(3);
    const { client, calls } = deferredClient();
    const { rerender } = renderHook(({ enabled }) => useLiveSeed(3, enabled, client, now), {
      initialProps: { enabled: true },
    });
    expect(calls.map((c) => c.query.step)).toEqual([2]);
    expect(calls[0]!.query.from).toBe("2025-01-31T11:50:00.000Z");
    await act(async () => calls[0]!.resolve(response(["2025-01-31T11:59:56Z", "2025-01-31T11:59:58Z"], 2)));
    expect(useServerListStore.getState().history.get(3)?.map((s) => s.cpuPercent)).toEqual([0, 1, 50]);
    rerender({ enabled: true });
    expect(calls).toHaveLength(1);
  });

  it("leaving the page aborts the seed, quietly", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { client, calls } = deferredClient();
    const { unmount } = renderHook(() => useLiveSeed(3, true, client, now));
    unmount();
    await act(async () => {});
    expect(calls[0]!.signal?.aborted).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it("does nothing while another range is shown, and survives a failure", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { client, calls } = deferredClient();
    const { rerender } = renderHook(({ enabled }) => useLiveSeed(3, enabled, client, now), {
      initialProps: { enabled: false },
    });
    expect(calls).toHaveLength(0);
    rerender({ enabled: true });
    await act(async () => calls[0]!.reject(new ApiError(503, "database_unavailable", "down")));
    expect(warn).toHaveBeenCalledWith("monitord: could not seed the live charts (down)");
  });
});
