import { useCallback, useEffect, useState } from "react";
import { AlertsNav, errorText } from "../components/AlertsNav";
import { useI18n } from "../i18n/i18n";
import { formatDateTime } from "../lib/format";
import { Link, serverPath } from "../lib/router";
import { alertsApi } from "../services/alertsApi";
import "../styles/alerts.css";
import type { ActiveAlertRow, AlertEvent } from "../types/alerts";

const HOUR_MS = 3_600_000;
const RANGES = { "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS } as const;
type Range = keyof typeof RANGES;

/** Active alerts, and the history of transitions and deliveries with filters. */
export function AlertsPage() {
  const { t, locale } = useI18n();
  const [active, setActive] = useState<ActiveAlertRow[] | null>(null);
  const [events, setEvents] = useState<AlertEvent[] | null>(null);
  const [range, setRange] = useState<Range>("24h");
  const [serverId, setServerId] = useState("");
  const [ruleId, setRuleId] = useState("");
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const to = new Date(Date.now() + 60_000);
      const from = new Date(to.getTime() - RANGES[range]);
      const [activeBody, eventsBody] = await Promise.all([
        alertsApi.active(),
        alertsApi.events({ from: from.toISOString(), to: to.toISOString(), serverId, ruleId }),
      ]);
      setActive(activeBody.alerts);
      setEvents(eventsBody.events);
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, [range, serverId, ruleId]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), 5000);
    return () => window.clearInterval(timer);
  }, [load]);

  return (
    <section className="page" data-testid="alerts-page">
      <div className="page__header">
        <h1>{t("alerts.title")}</h1>
      </div>
      <AlertsNav current="overview" t={t} />
      {error !== null && <p className="alerts-error">{error}</p>}
      <section className="panel" aria-labelledby="active-title">
        <h2 id="active-title">{t("alerts.active")}</h2>
        {active !== null && active.length === 0 && <p className="muted">{t("alerts.noneActive")}</p>}
        {active !== null && active.length > 0 && (
          <table className="alerts-table" data-testid="active-alerts">
            <thead>
              <tr>
                <th>{t("alerts.col.server")}</th>
                <th>{t("alerts.col.rule")}</th>
                <th>{t("alerts.col.level")}</th>
                <th>{t("alerts.col.value")}</th>
                <th>{t("alerts.col.since")}</th>
              </tr>
            </thead>
            <tbody>
              {active.map((alert) => (
                <tr key={`${alert.ruleId}-${alert.serverId}`}>
                  <td data-label={t("alerts.col.server")}>
                    <Link to={serverPath(alert.serverId)}>{alert.serverName}</Link>
                  </td>
                  <td data-label={t("alerts.col.rule")}>{alert.ruleName}</td>
                  <td data-label={t("alerts.col.level")}>
                    <span className={`alert-badge alert-badge--${alert.level ?? "warning"}`}>
                      {t(`alerts.level.${alert.level ?? "warning"}`)}
                    </span>
                  </td>
                  <td data-label={t("alerts.col.value")}>{alert.value === null ? "–" : alert.value.toFixed(1)}</td>
                  <td data-label={t("alerts.col.since")}>{formatDateTime(alert.since, locale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-labelledby="history-title">
        <h2 id="history-title">{t("alerts.history")}</h2>
        <div className="alerts-form">
          <label className="field">
            <span className="field__label">{t("alerts.filter.range")}</span>
            <select value={range} onChange={(event) => setRange(event.target.value as Range)}>
              {Object.keys(RANGES).map((key) => (
                <option key={key} value={key}>
                  {key}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field__label">{t("alerts.filter.serverId")}</span>
            <input inputMode="numeric" value={serverId} onChange={(event) => setServerId(event.target.value.trim())} />
          </label>
          <label className="field">
            <span className="field__label">{t("alerts.filter.ruleId")}</span>
            <input inputMode="numeric" value={ruleId} onChange={(event) => setRuleId(event.target.value.trim())} />
          </label>
        </div>
        {events !== null && events.length === 0 && <p className="muted">{t("alerts.noEvents")}</p>}
        {events !== null && events.length > 0 && (
          <table className="alerts-table" data-testid="alert-events">
            <thead>
              <tr>
                <th>{t("alerts.col.time")}</th>
                <th>{t("alerts.col.kind")}</th>
                <th>{t("alerts.col.rule")}</th>
                <th>{t("alerts.col.server")}</th>
                <th>{t("alerts.col.change")}</th>
                <th>{t("alerts.col.value")}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event, index) => (
                <tr key={index} data-testid="alert-event" data-kind={event.kind} data-to={event.to}>
                  <td data-label={t("alerts.col.time")}>{formatDateTime(event.time, locale)}</td>
                  <td data-label={t("alerts.col.kind")}>{t(`alerts.kind.${event.kind}`)}</td>
                  <td data-label={t("alerts.col.rule")}>{event.ruleName ?? `#${event.ruleId}`}</td>
                  <td data-label={t("alerts.col.server")}>
                    {event.serverId === 0 ? (
                      "–"
                    ) : event.serverName != null ? (
                      <Link to={serverPath(event.serverId)}>{event.serverName}</Link>
                    ) : (
                      `#${event.serverId}`
                    )}
                  </td>
                  <td data-label={t("alerts.col.change")}>
                    {event.from} → {event.to}
                    {event.detail ? ` (${event.detail})` : ""}
                  </td>
                  <td data-label={t("alerts.col.value")}>{event.value === null ? "–" : event.value.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  );
}
