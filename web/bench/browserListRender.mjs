#!/usr/bin/env node
/**
 * The list page with 1000 servers in real headless Chromium, without a daemon.
 *
 * Serves the built dashboard (run `npm run build` first) from a throwaway static server on
 * 127.0.0.1, answers the login call and the WebSocket through playwright-core's routing, and
 * pushes synthetic 1000-server frames. For each push it records, inside the page, the time
 * from the frame's arrival to the first frame painted after it (handler + React render +
 * commit + style/layout, up to the next animation frame).
 *
 *   node bench/browserListRender.mjs            (npm run measure:list:browser)
 *   CHROMIUM=/path/to/chromium SCREENSHOT=out.png node bench/browserListRender.mjs
 *
 * PROTOCOL=v2 sends what the daemon sends over monitord.v2 instead: a snapshot first, then one
 * delta per push whose rows carry the online servers' new samples (issue 17).
 *
 * PUSHES (default 30) sets how many pushes are timed; 300 fills the live charts' 10-minute
 * window at a 2 s push. The JS heap is read over CDP after a forced garbage collection, once
 * after the first push and once after the last, so the growth is what the pushes left behind.
 *
 * Prints one JSON object.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const SERVERS = Number(process.env.SERVERS ?? 1000);
const PUSHES = Number(process.env.PUSHES ?? 30);
const FROZEN = process.env.FROZEN === "1"; // experiment: every push identical
const PROTOCOL = process.env.PROTOCOL ?? "v1";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const DIST = resolve(fileURLToPath(new URL("../../monitord/static/dashboard", import.meta.url)));
const GIB = 1024 ** 3;
const BASE_TIME = Date.parse("2025-01-31T12:00:00Z");

if (!existsSync(join(DIST, "index.html"))) {
  console.error(`no build at ${DIST}: run npm run build first`);
  process.exit(2);
}

function statusOf(index) {
  if (index % 100 === 99) return "pending";
  if (index % 25 === 24) return "offline";
  return "online";
}

/** Push number `tick`: online servers get fresh metrics, the others repeat theirs. */
function makeFrame(tick) {
  const servers = [];
  for (let i = 0; i < SERVERS; i += 1) {
    const status = statusOf(i);
    const sampleTick = status === "online" ? tick : 0;
    const time = new Date(BASE_TIME + sampleTick * 2000).toISOString();
    servers.push({
      id: i + 1,
      name: `node-${String(i + 1).padStart(4, "0")}.example.net`,
      ipAddress: "192.0.2.10",
      status,
      osType: "linux",
      osVersion: "Debian 13",
      hostname: `node-${i + 1}`,
      kernelVersion: "6.12.0",
      arch: "x86_64",
      cpuModel: "Example CPU",
      cpuCores: 4,
      agentVersion: "0.1.0",
      lastSeenAt: status === "pending" ? null : time,
      createdAt: "2025-01-01T00:00:00Z",
      latestMetrics:
        status === "pending"
          ? null
          : {
              time,
              cpuUsagePercent: (i * 7 + sampleTick * 13) % 100,
              memoryUsageBytes: ((i + sampleTick) % 8) * GIB,
              memoryTotalBytes: 8 * GIB,
              swapUsageBytes: 0,
              swapTotalBytes: 2 * GIB,
              diskUsedBytes: 40 * GIB,
              diskTotalBytes: 100 * GIB,
              diskReadBps: 1024,
              diskWriteBps: 4096,
              networkRxInstantBps: ((i * 31 + sampleTick * 17) % 1000) * 1024,
              networkTxInstantBps: ((i * 11 + sampleTick * 5) % 500) * 1024,
              networkRxTotalBytes: 10 * GIB,
              networkTxTotalBytes: 3 * GIB,
              load1: 0.42,
              load5: 0.3,
              load15: 0.25,
              processCount: 187,
              tcpConnections: 23,
              udpConnections: 4,
              uptimeSeconds: 86_400 + sampleTick * 2 + i,
            },
    });
  }
  return JSON.stringify({
    type: "fullServerList",
    generatedAt: new Date(BASE_TIME + tick * 2000 + 500).toISOString(),
    servers,
  });
}

/** Push number `tick` as monitord.v2: the snapshot for tick 0, else the delta from tick - 1. */
function makeV2Frame(tick) {
  const list = JSON.parse(makeFrame(tick));
  if (tick === 0) {
    const fields = Object.keys(list.servers.find((s) => s.latestMetrics).latestMetrics).filter((k) => k !== "time");
    return JSON.stringify({ type: "snapshot", epoch: 1, seq: 0, fields, servers: list.servers });
  }
  const rows = [];
  for (const server of list.servers) {
    if (server.status !== "online") continue;
    const { time, ...values } = server.latestMetrics;
    rows.push([server.id, Date.parse(time), ...Object.values(values)]);
  }
  return JSON.stringify({ type: "delta", epoch: 1, seq: tick, baseSeq: tick - 1, rows, upserts: [], removed: [] });
}

const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

/** Static files with the daemon's single-page fallback. */
function startStaticServer() {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    let file = join(DIST, path);
    if (!file.startsWith(DIST) || !existsSync(file) || path === "/") file = join(DIST, "index.html");
    response.writeHead(200, { "Content-Type": MIME[extname(file)] ?? "application/octet-stream" });
    response.end(readFileSync(file));
  });
  return new Promise((resolveListen) => {
    server.listen(0, "127.0.0.1", () => resolveListen(server));
  });
}

/**
 * Runs in the page before the app: wraps the WebSocket so each message handler call is timed
 * up to the next painted frame. Installed lazily at construction time so that it wraps
 * whatever WebSocket (Playwright's routed one) is current then.
 */
function instrumentPage() {
  window.__pushTimes = [];
  window.__pushParts = [];
  window.__loaf = [];
  // Long animation frames (>50 ms): where the main thread spent a slow frame.
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const end = entry.startTime + entry.duration;
      window.__loaf.push({
        duration: entry.duration,
        scripts: entry.scripts.reduce((sum, script) => sum + script.duration, 0),
        styleAndLayout: entry.styleAndLayoutStart > 0 ? end - entry.styleAndLayoutStart : 0,
        renderToEnd: entry.renderStart > 0 ? end - entry.renderStart : 0,
      });
    }
  }).observe({ type: "long-animation-frame", buffered: true });
  const Original = window.WebSocket;
  window.WebSocket = function InstrumentedWebSocket(url, protocols) {
    const socket = new Original(url, protocols);
    return new Proxy(socket, {
      set(target, property, value) {
        if (property === "onmessage" && typeof value === "function") {
          target.onmessage = (event) => {
            const start = performance.now();
            value(event);
            const handled = performance.now();
            // React flushes external-store updates in a microtask queued during the handler,
            // so this one runs after its render and commit.
            queueMicrotask(() => {
              const rendered = performance.now();
              requestAnimationFrame(() => {
                const frame = performance.now();
                setTimeout(() => {
                  window.__pushTimes.push(performance.now() - start);
                  window.__pushParts.push({
                    handler: handled - start,
                    render: rendered - handled,
                    toFrame: frame - rendered,
                    layoutPaint: performance.now() - frame,
                  });
                }, 0);
              });
            });
          };
          return true;
        }
        target[property] = value;
        return true;
      },
      get(target, property) {
        const value = target[property];
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (n) => Math.round(n * 10) / 10;
  return { median: round(pick(0.5)), p95: round(pick(0.95)), max: round(sorted.at(-1)), runs: samples.length };
}

/** The page's JS heap in use after a full garbage collection: what it keeps alive. */
async function liveHeapBytes(cdp) {
  await cdp.send("HeapProfiler.collectGarbage");
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  return usedSize;
}

const mib = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** Sets a controlled input's value the way typing does; times it until `expectedRows` show. */
async function timeInput(page, selector, value, expectedRows) {
  return page.evaluate(
    ({ selector, value, expectedRows }) =>
      new Promise((done) => {
        const input = document.querySelector(selector);
        const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
        const start = performance.now();
        setter.call(input, value);
        input.dispatchEvent(new Event("input", { bubbles: true }));
        // The list renders deferred (useDeferredValue): poll each frame until it has caught
        // up, then wait for that frame to be painted.
        const check = () =>
          requestAnimationFrame(() => {
            const count = Number(document.querySelector("table")?.getAttribute("aria-rowcount") ?? 1) - 1;
            if (count === expectedRows) setTimeout(() => done(performance.now() - start), 0);
            else check();
          });
        check();
      }),
    { selector, value, expectedRows },
  );
}

/** How many servers the list's name/hostname filter keeps for `query`. */
function expectedMatches(query) {
  let count = 0;
  for (let i = 0; i < SERVERS; i += 1) {
    const name = `node-${String(i + 1).padStart(4, "0")}.example.net`;
    if (name.includes(query) || `node-${i + 1}`.includes(query)) count += 1;
  }
  return count;
}

async function main() {
  const frames = Array.from({ length: PUSHES + 1 }, (_, tick) =>
    PROTOCOL === "v2" ? makeV2Frame(tick) : makeFrame(FROZEN ? 0 : tick),
  );
  const staticServer = await startStaticServer();
  const origin = `http://127.0.0.1:${staticServer.address().port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), "monitord-bench-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    let socketRoute = null;
    await page.routeWebSocket(/\/ws\/servers$/, (ws) => {
      socketRoute = ws;
    });
    await page.route("**/api/auth/login", (route) =>
      route.fulfill({
        json: {
          token: "bench.token.x",
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          user: { id: 1, username: "bench", role: "viewer" },
        },
      }),
    );
    await page.route("**/api/auth/me", (route) => route.fulfill({ json: { id: 1, username: "bench", role: "viewer" } }));
    await page.addInitScript(instrumentPage);

    await page.goto(`${origin}/login`);
    await page.fill('input[name="username"]', "bench");
    await page.fill('input[name="password"]', "bench");
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="connection-status"]');
    while (socketRoute === null) await new Promise((r) => setTimeout(r, 20));

    socketRoute.send(frames[0]);
    await page.waitForFunction(
      (n) => document.querySelector("table")?.getAttribute("aria-rowcount") === String(n + 1),
      SERVERS,
    );
    await page.waitForFunction(() => window.__pushTimes.length === 1);
    const cdp = await context.newCDPSession(page);
    const heapAfterFirstPush = await liveHeapBytes(cdp);

    for (let tick = 1; tick <= PUSHES; tick += 1) {
      socketRoute.send(frames[tick]);
      await page.waitForFunction((n) => window.__pushTimes.length === n, tick + 1);
      await new Promise((r) => setTimeout(r, 100));
    }
    const heapAfterPushes = await liveHeapBytes(cdp);
    const pushTimes = await page.evaluate(() => window.__pushTimes);
    const parts = await page.evaluate(() => window.__pushParts.slice(1));
    const loaf = await page.evaluate(() => window.__loaf);
    if (process.env.LOAF === "1") console.error(JSON.stringify(loaf.slice(-8), null, 1));
    const partSummary = Object.fromEntries(
      ["handler", "render", "toFrame", "layoutPaint"].map((key) => [key, summary(parts.map((p) => p[key])).median]),
    );

    const filterTimes = [];
    for (const value of ["node-1", "", "node-00", ""]) {
      filterTimes.push(await timeInput(page, 'input[type="search"]', value, expectedMatches(value)));
    }
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });

    const browserVersion = context.browser()?.version() ?? "chromium";
    console.log(
      JSON.stringify(
        {
          servers: SERVERS,
          protocol: PROTOCOL,
          renderedRows: await page.evaluate(() => document.querySelectorAll('[data-testid="server-row"]').length),
          browser: `headless ${browserVersion}`,
          firstPushToPaintMs: Math.round(pushTimes[0] * 10) / 10,
          pushToPaintMs: summary(pushTimes.slice(1)),
          pushToPaintMedianPartsMs: partSummary,
          filterToSettledMs: summary(filterTimes),
          frameBytes: frames[1].length,
          pushes: PUSHES,
          liveHeapMiB: { afterFirstPush: mib(heapAfterFirstPush), afterPushes: mib(heapAfterPushes) },
        },
        null,
        2,
      ),
    );
  } finally {
    await context.close();
    staticServer.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

await main();
