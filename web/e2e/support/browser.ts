/**
 * The system Chromium driven through playwright-core, and a watch on everything a page
 * reports that a healthy dashboard never does.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM } from "./paths";

/** Flags that work as root on this kind of machine (STACK.md). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches the system Chromium. playwright-core gives every launch a fresh temporary profile
 * (its own `--user-data-dir`, removed on close), so no state leaks between runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** `GET /api/servers/{id}/metrics?...`: the history API the detail page's charts call. */
const HISTORY_REQUEST = /\/api\/servers\/\d+\/metrics\?/;

/**
 * What a page reported that signals a fault: console errors and warnings, uncaught exceptions,
 * Content-Security-Policy violations, failed requests (but history requests the page aborted
 * itself) and HTTP error responses. A test that expects some of them (the daemon is down on
 * purpose) says so with {@link allow}.
 */
export class PageWatch {
  readonly dialogs: string[] = [];
  private readonly seen: string[] = [];
  /** Tolerated reports: those matching `pattern` among reports number `from` to `to` (exclusive). */
  private readonly allowed: { pattern: RegExp; from: number; to: number }[] = [];

  private constructor(readonly page: Page) {}

  static async attach(page: Page): Promise<PageWatch> {
    const watch = new PageWatch(page);
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") {
        watch.seen.push(`console.${message.type()}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => watch.seen.push(`pageerror: ${error.stack ?? error.message}`));
    page.on("requestfailed", (request) => {
      const error = request.failure()?.errorText;
      // The dashboard aborts a history request on purpose when its page or range is left.
      if (error === "net::ERR_ABORTED" && HISTORY_REQUEST.test(request.url())) return;
      watch.seen.push(`request failed: ${request.method()} ${request.url()} (${error})`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) {
        watch.seen.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
      }
    });
    page.on("dialog", (dialog) => {
      watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => {});
    });
    // The console message is one sign of a violation; the DOM event is the authoritative one.
    await page.exposeFunction("__e2eReportCspViolation", (text: string) => watch.seen.push(`CSP violation: ${text}`));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        const report = (window as unknown as { __e2eReportCspViolation(text: string): void }).__e2eReportCspViolation;
        report(`${event.effectiveDirective} blocked ${event.blockedURI || "(inline)"} at ${event.sourceFile}:${event.lineNumber}`);
      });
    });
    return watch;
  }

  /**
   * Tolerates reports matching `pattern` from now on; returns a function that ends the
   * tolerance, so that a report made after it still counts.
   */
  allow(pattern: RegExp): () => void {
    const allowance = { pattern, from: this.seen.length, to: Number.POSITIVE_INFINITY };
    this.allowed.push(allowance);
    return () => {
      allowance.to = this.seen.length;
    };
  }

  /** Reports not covered by {@link allow}. */
  problems(): string[] {
    return this.seen.filter(
      (text, index) =>
        !this.allowed.some(({ pattern, from, to }) => index >= from && index < to && pattern.test(text)),
    );
  }

  /** Every report, allowed or not. */
  all(): readonly string[] {
    return this.seen;
  }
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  watch: PageWatch;
}

/** A fresh context (no cookies, no sessionStorage) in English, with a watched page. */
export async function openDashboardPage(browser: Browser): Promise<DashboardPage> {
  const context = await browser.newContext({
    locale: "en-US",
    timezoneId: "UTC",
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const watch = await PageWatch.attach(page);
  return { context, page, watch };
}

/** Opens `/`, gets sent to the login page, signs in, and waits for the live list. */
export async function logIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/\/login(\?|$)/);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${baseUrl}/`);
  await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]');
}

/** The `data-status` of the connection indicator. */
export function connectionStatus(page: Page): Promise<string | null> {
  return page.getAttribute('[data-testid="connection-status"]', "data-status");
}

export function waitForConnectionStatus(page: Page, status: string, timeoutMs = 15_000): Promise<unknown> {
  return page.waitForSelector(`[data-testid="connection-status"][data-status="${status}"]`, { timeout: timeoutMs });
}

export function serverRow(page: Page, id: number) {
  return page.locator(`[data-testid="server-row"][data-server-id="${id}"]`);
}

/**
 * From the next page load on, records the close code of every WebSocket the page opens;
 * read them with {@link socketCloseCodes}.
 */
export async function recordSocketCloses(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const codes: number[] = [];
    const state = window as unknown as { __e2eCloseCodes: number[] };
    state.__e2eCloseCodes = codes;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener("close", (event) => codes.push(event.code));
      }
    };
  });
}

export function socketCloseCodes(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __e2eCloseCodes?: number[] }).__e2eCloseCodes ?? []);
}
