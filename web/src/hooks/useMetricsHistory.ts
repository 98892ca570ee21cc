/**
 * The history API behind the charts: one server's points over a chosen range, refreshed while
 * shown, and the one-off seed that fills the live charts' rolling window at once.
 */
import { useEffect, useState } from "react";
import {
  pointsToSamples,
  RANGE_SPECS,
  rangeQuery,
  type HistoryRange,
} from "../lib/history";
import { api } from "../services/api";
import { ApiError, type ApiClient } from "../services/apiClient";
import type { RollingSample } from "../store/rollingWindow";
import { useServerListStore } from "../store/serverListStore";

export type HistoryClient = Pick<ApiClient, "getMetrics">;

export type RangedHistory =
  | { status: "idle" }
  | { status: "loading" }
  | {
      status: "ready";
      samples: readonly RollingSample[];
      /** The step the daemon served, ms: neighbours further apart than this are a gap. */
      stepMs: number;
      fromMs: number;
      toMs: number;
    }
  | { status: "error"; message: string };

const IDLE: RangedHistory = { status: "idle" };
const LOADING: RangedHistory = { status: "loading" };

function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Points of `range` (not live) for one server: loading, then ready, then asked again every
 * `refreshMs` (keeping the current points meanwhile). Requests never overlap: a refresh due
 * while the previous request still runs is skipped, so a slow daemon gets one request at a
 * time instead of a pile; a request still running at the refresh after that is taken as hung,
 * aborted and replaced. Leaving the range or the page aborts the request in flight, and a
 * response for a range or server no longer shown is dropped. Idle for live.
 */
export function useRangedHistory(
  serverId: number,
  range: HistoryRange,
  client: HistoryClient = api,
  now: () => number = Date.now,
): RangedHistory {
  // Tagged with what it is for, so a render right after a switch never shows the old range.
  const key = `${serverId}/${range}`;
  const [state, setState] = useState<{ key: string; history: RangedHistory }>({ key, history: LOADING });

  useEffect(() => {
    if (range === "live") return;
    let inFlight: AbortController | null = null;
    let skipped = false;
    const load = async (controller: AbortController) => {
      const query = rangeQuery(range, now());
      try {
        const response = await client.getMetrics(serverId, query, controller.signal);
        if (controller.signal.aborted) return;
        const history: RangedHistory = {
          status: "ready",
          samples: pointsToSamples(response.points),
          stepMs: (response.step || query.step) * 1000,
          fromMs: query.fromMs,
          toMs: query.toMs,
        };
        setState({ key, history });
      } catch (error) {
        if (controller.signal.aborted) return;
        // A failed refresh keeps showing the points it has; only a first load reports it.
        setState((previous) =>
          previous.key === key && previous.history.status === "ready"
            ? previous
            : { key, history: { status: "error", message: describe(error) } },
        );
      } finally {
        if (inFlight === controller) inFlight = null;
      }
    };
    const refresh = () => {
      if (inFlight !== null) {
        if (!skipped) {
          skipped = true;
          return;
        }
        inFlight.abort();
      }
      skipped = false;
      const controller = new AbortController();
      inFlight = controller;
      void load(controller);
    };
    refresh();
    const timer = setInterval(refresh, RANGE_SPECS[range].refreshMs);
    return () => {
      clearInterval(timer);
      inFlight?.abort();
    };
  }, [key, serverId, range, client, now]);

  if (range === "live") return IDLE;
  return state.key === key ? state.history : LOADING;
}

/**
 * While `enabled` (the live range is shown), fill the server's rolling window once from the
 * history API, so the live charts are full at once instead of filling over ten minutes.
 * Failing is harmless: the window fills from the push as before.
 */
export function useLiveSeed(
  serverId: number,
  enabled: boolean,
  client: HistoryClient = api,
  now: () => number = Date.now,
): void {
  const seedHistory = useServerListStore((state) => state.seedHistory);
  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    const query = rangeQuery("live", now());
    client
      .getMetrics(serverId, query, controller.signal)
      .then((response) => {
        if (!controller.signal.aborted) seedHistory(serverId, pointsToSamples(response.points));
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) console.warn(`monitord: could not seed the live charts (${describe(error)})`);
      });
    // Leaving the page (or the live range) while the seed loads cancels it.
    return () => controller.abort();
  }, [serverId, enabled, client, now, seedHistory]);
}
