import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AlertsNav, errorText } from "../components/AlertsNav";
import { useI18n } from "../i18n/i18n";
import { formatDateTime } from "../lib/format";
import { alertsApi } from "../services/alertsApi";
import "../styles/alerts.css";
import type { AlertSilence } from "../types/alerts";

function ids(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  return parts.length === 0 ? null : parts.map(Number);
}

function localInput(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** Admin: silences (matchers, window, daily recurrence, time zone, comment). */
export function AlertSilencesPage() {
  const { t, locale } = useI18n();
  const [silences, setSilences] = useState<AlertSilence[]>([]);
  const now = new Date();
  const [form, setForm] = useState({
    rules: "",
    servers: "",
    startsAt: localInput(now),
    endsAt: localInput(new Date(now.getTime() + 3_600_000)),
    daily: false,
    comment: "",
  });
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setSilences((await alertsApi.silences()).silences);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, []);
  useEffect(() => void load(), [load]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await alertsApi.createSilence({
        ruleIds: ids(form.rules),
        serverIds: ids(form.servers),
        startsAt: new Date(form.startsAt).toISOString(),
        endsAt: new Date(form.endsAt).toISOString(),
        recurrence: form.daily ? "daily" : null,
        timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
        comment: form.comment,
      });
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <section className="page" data-testid="alert-silences-page">
      <div className="page__header">
        <h1>{t("alerts.nav.silences")}</h1>
      </div>
      <AlertsNav current="silences" t={t} />
      <form className="alerts-form panel" onSubmit={(event) => void submit(event)}>
        <label className="field">
          <span className="field__label">{t("alerts.silence.rules")}</span>
          <input value={form.rules} placeholder={t("alerts.silence.all")} onChange={(e) => setForm({ ...form, rules: e.target.value })} />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.silence.servers")}</span>
          <input value={form.servers} placeholder={t("alerts.silence.all")} onChange={(e) => setForm({ ...form, servers: e.target.value })} />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.silence.start")}</span>
          <input type="datetime-local" value={form.startsAt} onChange={(e) => setForm({ ...form, startsAt: e.target.value })} />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.silence.end")}</span>
          <input type="datetime-local" value={form.endsAt} onChange={(e) => setForm({ ...form, endsAt: e.target.value })} />
        </label>
        <label>
          <input type="checkbox" checked={form.daily} onChange={(e) => setForm({ ...form, daily: e.target.checked })} />{" "}
          {t("alerts.silence.daily")}
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.silence.comment")}</span>
          <input value={form.comment} onChange={(e) => setForm({ ...form, comment: e.target.value })} />
        </label>
        <button type="submit" className="button button--primary">
          {t("alerts.create")}
        </button>
      </form>
      {error !== null && <p className="alerts-error" role="alert">{error}</p>}
      <table className="alerts-table">
        <thead>
          <tr>
            <th>{t("alerts.silence.window")}</th>
            <th>{t("alerts.silence.matchers")}</th>
            <th>{t("alerts.silence.comment")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {silences.map((silence) => (
            <tr key={silence.id}>
              <td data-label={t("alerts.silence.window")}>
                {formatDateTime(silence.startsAt, locale)} – {formatDateTime(silence.endsAt, locale)}
                {silence.recurrence === "daily" ? ` (${t("alerts.silence.daily")}, ${silence.timeZone})` : ""}
              </td>
              <td data-label={t("alerts.silence.matchers")}>
                {t("alerts.silence.rules")}: {silence.ruleIds?.join(", ") ?? t("alerts.silence.all")};{" "}
                {t("alerts.silence.servers")}: {silence.serverIds?.join(", ") ?? t("alerts.silence.all")}
              </td>
              <td data-label={t("alerts.silence.comment")}>{silence.comment}</td>
              <td>
                <button
                  type="button"
                  className="button button--small"
                  onClick={() => void alertsApi.deleteSilence(silence.id).then(load, (e: unknown) => setError(errorText(e)))}
                >
                  {t("alerts.delete")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
