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
 * `refreshMs` (keeping the current points meanwhile). A response for a range or server no
 * longer shown is dropped. Idle for live.
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
    let current = true;
    const load = async () => {
      const query = rangeQuery(range, now());
      try {
        const response = await client.getMetrics(serverId, query);
        if (!current) return;
        const history: RangedHistory = {
          status: "ready",
          samples: pointsToSamples(response.points),
          stepMs: (response.step || query.step) * 1000,
          fromMs: query.fromMs,
          toMs: query.toMs,
        };
        setState({ key, history });
      } catch (error) {
        if (!current) return;
        // A failed refresh keeps showing the points it has; only a first load reports it.
        setState((previous) =>
          previous.key === key && previous.history.status === "ready"
            ? previous
            : { key, history: { status: "error", message: describe(error) } },
        );
      }
    };
    void load();
    const timer = setInterval(() => void load(), RANGE_SPECS[range].refreshMs);
    return () => {
      current = false;
      clearInterval(timer);
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
    let current = true;
    const query = rangeQuery("live", now());
    client
      .getMetrics(serverId, query)
      .then((response) => {
        if (current) seedHistory(serverId, pointsToSamples(response.points));
      })
      .catch((error: unknown) => console.warn(`monitord: could not seed the live charts (${describe(error)})`));
    return () => {
      current = false;
    };
  }, [serverId, enabled, client, now, seedHistory]);
}
