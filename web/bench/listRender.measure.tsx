/**
 * How long the list page takes to render 1000 servers, in jsdom.
 *
 * Each step runs inside flushSync, so the wall time covers the store update (reconciling
 * identities, advancing the rolling window), React's render and its commit to the DOM: what
 * stands between a push arriving and the DOM being up to date. jsdom's DOM is slower than a
 * browser's and there is no layout or paint, so read the figures as orders of magnitude; the
 * real-browser figures come from bench/browserListRender.mjs. Filtering and sorting are not
 * timed here: the list renders them deferred (useDeferredValue), after flushSync returns.
 *
 * The results are printed as JSON.
 */
import * as React from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { expect, it } from "vitest";
import { useLocaleStore } from "../src/i18n/i18n";
import { HomePage } from "../src/pages/HomePage";
import { useListViewStore } from "../src/store/listViewStore";
import { useServerListStore } from "../src/store/serverListStore";
import { makeMetrics, makeServer } from "../src/test/fixtures";
import type { FullServerListPushType, ServerStatus, VpsListItemResponse } from "../src/types";

const SERVERS = 1000;
const PUSHES = 30;
const GIB = 1024 ** 3;

function reactBuild(): string {
  try {
    React.act(() => {});
    return "development";
  } catch {
    return "production";
  }
}

function statusOf(index: number): ServerStatus {
  if (index % 100 === 99) return "pending";
  if (index % 25 === 24) return "offline";
  return "online";
}

/** Push number `tick`: online servers get fresh metrics, the others repeat theirs. */
function makeFrame(tick: number): string {
  const base = Date.parse("2025-01-31T12:00:00Z");
  const servers: VpsListItemResponse[] = [];
  for (let i = 0; i < SERVERS; i += 1) {
    const status = statusOf(i);
    const sampleTick = status === "online" ? tick : 0;
    const time = new Date(base + sampleTick * 2000).toISOString();
    servers.push(
      makeServer({
        id: i + 1,
        name: `node-${String(i + 1).padStart(4, "0")}.example.net`,
        hostname: `node-${i + 1}`,
        status,
        lastSeenAt: status === "pending" ? null : time,
        latestMetrics:
          status === "pending"
            ? null
            : makeMetrics({
                time,
                cpuUsagePercent: (i * 7 + sampleTick * 13) % 100,
                memoryUsageBytes: ((i + sampleTick) % 8) * GIB,
                memoryTotalBytes: 8 * GIB,
                networkRxInstantBps: ((i * 31 + sampleTick * 17) % 1000) * 1024,
                networkTxInstantBps: ((i * 11 + sampleTick * 5) % 500) * 1024,
                uptimeSeconds: 86_400 + sampleTick * 2 + i,
              }),
      }),
    );
  }
  const push: FullServerListPushType = {
    type: "fullServerList",
    generatedAt: new Date(base + tick * 2000 + 500).toISOString(),
    servers,
  };
  return JSON.stringify(push);
}

function time(step: () => void): number {
  const start = performance.now();
  flushSync(step);
  return performance.now() - start;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { median: round(pick(0.5)), p95: round(pick(0.95)), max: round(sorted[sorted.length - 1]!), runs: samples.length };
}

it(`renders the list page with ${SERVERS} servers`, () => {
  useLocaleStore.setState({ locale: "en" });
  useListViewStore.setState(useListViewStore.getInitialState(), true);
  useServerListStore.setState(useServerListStore.getInitialState(), true);
  const frames = Array.from({ length: PUSHES + 2 }, (_, tick) => makeFrame(tick));

  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  flushSync(() => root.render(<HomePage />));

  const parse = (frame: string) => JSON.parse(frame) as FullServerListPushType;
  const onMessage = (frame: string) => useServerListStore.getState().onWebSocketMessage(parse(frame));

  const firstPush = time(() => onMessage(frames[0]!));
  // Long lists are windowed: the table announces every server, renders those near the viewport.
  expect(container.querySelector("table")?.getAttribute("aria-rowcount")).toBe(String(SERVERS + 1));
  const renderedRows = container.querySelectorAll('[data-testid="server-row"]').length;
  expect(renderedRows).toBeGreaterThan(0);

  const parseTimes: number[] = [];
  const pushTimes: number[] = [];
  for (let tick = 1; tick <= PUSHES; tick += 1) {
    const frame = frames[tick]!;
    const parseStart = performance.now();
    parse(frame);
    parseTimes.push(performance.now() - parseStart);
    pushTimes.push(time(() => onMessage(frame)));
  }
  const unchangedPush = time(() => onMessage(frames[PUSHES]!));

  flushSync(() => root.unmount());

  const result = {
    servers: SERVERS,
    renderedRows,
    reactBuild: reactBuild(),
    environment: `jsdom, ${navigator.userAgent.match(/jsdom\/[\d.]+/)?.[0] ?? "jsdom"}`,
    firstPushMs: Math.round(firstPush * 10) / 10,
    pushWithAllOnlineChangedMs: summary(pushTimes),
    unchangedPushMs: Math.round(unchangedPush * 10) / 10,
    jsonParseMs: summary(parseTimes),
    frameBytes: frames[1]!.length,
  };
  console.log(`\nlist page render, ${SERVERS} servers\n${JSON.stringify(result, null, 2)}\n`);
});
