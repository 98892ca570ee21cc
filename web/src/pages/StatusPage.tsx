/**
 * A public status page (`/status/{slug}`, issue 16): no login. It reads the page once over REST,
 * then follows `/ws/public/status/{slug}`. A share link carries its key in the URL fragment
 * (`#key=…`), which the browser never sends to a server; a password is traded for a page token
 * by a POST and never put in a URL. Everything shown comes from the daemon's allow-listed page.
 */
import { useEffect, useState, type FormEvent } from "react";
import { StatusBadge } from "../components/StatusBadge";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { useI18n, useLocaleStore } from "../i18n/i18n";
import { formatDateTime } from "../lib/format";
import type { PublicStatusPage, PublicStatusServer } from "../types";

const RECONNECT_MS = 3000;

function keyFromFragment(): string | null {
  const key = new URLSearchParams(window.location.hash.slice(1)).get("key");
  return key === null || key === "" ? null : key;
}

type Load = { state: "loading" } | { state: "missing" } | { state: "ready"; page: PublicStatusPage };

function rate(bps: number | undefined): string {
  if (bps === undefined) return "–";
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} MB/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kB/s`;
  return `${bps} B/s`;
}

function percent(value: number | undefined | null): string {
  return value === undefined || value === null ? "–" : `${value}%`;
}

function UptimeBars({ days }: { days: (number | null)[] }) {
  return (
    <div className="uptime-bars" aria-hidden="true">
      {days.map((day, index) => (
        <span
          key={index}
          className={`uptime-bar ${day === null ? "uptime-bar--none" : day >= 99 ? "uptime-bar--up" : day >= 90 ? "uptime-bar--partial" : "uptime-bar--down"}`}
          title={day === null ? "" : `${day}%`}
        />
      ))}
    </div>
  );
}

function ServerLine({ server }: { server: PublicStatusServer }) {
  const { t } = useI18n();
  const status = server.status === "unknown" ? "pending" : server.status;
  return (
    <li className="status-server" data-testid="status-server" data-status={server.status}>
      <div className="status-server__head">
        <span className="status-server__alias">{server.alias}</span>
        <StatusBadge status={status} label={t(`status.${status}`)} />
      </div>
      <div className="status-server__figures muted">
        {server.cpu !== undefined && <span>CPU {percent(server.cpu)}</span>}
        {server.memory !== undefined && (
          <span>
            {t("col.memory")} {percent(server.memory)}
          </span>
        )}
        {server.disk !== undefined && (
          <span>
            {t("col.disk")} {percent(server.disk)}
          </span>
        )}
        {server.networkRxBps !== undefined && (
          <span>
            ↓ {rate(server.networkRxBps)} ↑ {rate(server.networkTxBps)}
          </span>
        )}
        {server.uptime !== undefined && (
          <span>
            {t("statusPage.uptime")} {percent(server.uptime)}
          </span>
        )}
      </div>
      {server.days !== undefined && <UptimeBars days={server.days} />}
    </li>
  );
}

export function StatusPage({ slug }: { slug: string }) {
  const { locale, t } = useI18n();
  const [token, setToken] = useState<string | null>(keyFromFragment);
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [live, setLive] = useState(false);
  const [password, setPassword] = useState("");
  const [passwordError, setPasswordError] = useState(false);

  useEffect(() => {
    let cancelled = false;
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (token !== null) headers.Authorization = `Bearer ${token}`;

    function connect() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      const protocols = ["monitord.status.v1", ...(token === null ? [] : [`token.${token}`])];
      socket = new WebSocket(`${scheme}//${window.location.host}/ws/public/status/${slug}`, protocols);
      socket.onopen = () => setLive(true);
      socket.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as PublicStatusPage;
        if (message.type === "statusPage") setLoad({ state: "ready", page: message });
      };
      socket.onclose = () => {
        setLive(false);
        if (!cancelled) retry = setTimeout(connect, RECONNECT_MS);
      };
    }

    fetch(`/api/public/status/${slug}`, { headers, credentials: "omit" })
      .then(async (response) => {
        if (cancelled) return;
        if (!response.ok) {
          setLoad({ state: "missing" });
          return;
        }
        setLoad({ state: "ready", page: (await response.json()) as PublicStatusPage });
        connect();
      })
      .catch(() => {
        if (!cancelled) setLoad({ state: "missing" });
      });
    return () => {
      cancelled = true;
      clearTimeout(retry);
      socket?.close(1000);
    };
  }, [slug, token]);

  async function submitPassword(event: FormEvent) {
    event.preventDefault();
    setPasswordError(false);
    const response = await fetch(`/api/public/status/${slug}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ password }),
      credentials: "omit",
    });
    if (!response.ok) {
      setPasswordError(true);
      return;
    }
    setPassword("");
    setToken(((await response.json()) as { token: string }).token);
  }

  return (
    <div className="app app--public">
      <header className="app-header">
        <span className="app-header__title">{load.state === "ready" ? load.page.title : t("app.title")}</span>
        <LanguageSwitch locale={locale} label={t("nav.language")} onChange={useLocaleStore.getState().setLocale} />
      </header>
      <main className="app__main">
        {load.state === "loading" && <p className="placeholder">{t("list.loading")}</p>}
        {load.state === "missing" && (
          <section className="page" data-testid="status-missing">
            <h1>{t("statusPage.missing")}</h1>
            <form className="status-password" onSubmit={(event) => void submitPassword(event)}>
              <label className="field">
                <span className="field__label">{t("statusPage.password")}</span>
                <input type="password" name="password" value={password} onChange={(e) => setPassword(e.target.value)} />
              </label>
              <button type="submit" className="button" disabled={password === ""}>
                {t("statusPage.open")}
              </button>
              {passwordError && <p role="alert">{t("statusPage.missing")}</p>}
            </form>
          </section>
        )}
        {load.state === "ready" && (
          <section className="page page--status" data-testid="status-page" data-live={live}>
            <div className="page__header">
              <h1>{load.page.title}</h1>
              <span className="muted">
                {t("list.updatedAt", { time: formatDateTime(load.page.generatedAt, locale) })}
              </span>
            </div>
            {load.page.description !== "" && <p className="status-page__text">{load.page.description}</p>}
            {load.page.sections.map((section, index) => (
              <section key={index} className="status-section">
                {section.title !== "" && <h2>{section.title}</h2>}
                <ul className="status-section__servers">
                  {section.servers.map((server, position) => (
                    <ServerLine key={position} server={server} />
                  ))}
                </ul>
              </section>
            ))}
            {load.page.footer !== "" && <p className="status-page__text muted">{load.page.footer}</p>}
          </section>
        )}
      </main>
    </div>
  );
}
