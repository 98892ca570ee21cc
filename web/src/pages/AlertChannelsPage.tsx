import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AlertsNav, errorText, FormActions } from "../components/AlertsNav";
import { useI18n } from "../i18n/i18n";
import { changedFields } from "../lib/patch";
import { alertsApi, type NewChannel } from "../services/alertsApi";
import "../styles/alerts.css";
import type { AlertChannel } from "../types/alerts";

const EMPTY_CHANNEL: NewChannel = { name: "", kind: "webhook", url: "", secret: "", language: "en" };

function asDraft(channel: AlertChannel): NewChannel {
  return { name: channel.name, kind: channel.kind, url: channel.url, secret: channel.secret ?? null, language: channel.language };
}

/** Admin: notification channels, with "send test" and whether each one is failing. */
export function AlertChannelsPage() {
  const { t } = useI18n();
  const [channels, setChannels] = useState<AlertChannel[]>([]);
  const [draft, setDraft] = useState<NewChannel>(EMPTY_CHANNEL);
  const [error, setError] = useState<string | null>(null);
  const [tested, setTested] = useState<Record<number, string>>({});
  // The channel being edited, as the API showed it (URL and secret redacted); null: a new one.
  const [editing, setEditing] = useState<AlertChannel | null>(null);

  const load = useCallback(async () => {
    try {
      setChannels((await alertsApi.channels()).channels);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, []);
  useEffect(() => void load(), [load]);

  function edit(channel: AlertChannel) {
    setEditing(channel);
    setDraft(asDraft(channel));
    setError(null);
  }

  function stopEditing() {
    setEditing(null);
    setDraft(EMPTY_CHANNEL);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const withSecret = { ...draft, secret: draft.secret || null };
    try {
      if (editing === null) {
        await alertsApi.createChannel(withSecret);
      } else {
        // Only what the user changed: the redacted URL and secret stay as stored unless retyped.
        await alertsApi.updateChannel(editing.id, changedFields(asDraft(editing), draft.secret ? draft : withSecret));
      }
      stopEditing();
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function sendTest(id: number) {
    try {
      const result = await alertsApi.testChannel(id);
      setTested((current) => ({ ...current, [id]: result.ok ? t("alerts.channel.testOk") : result.error ?? "" }));
      await load();
    } catch (caught) {
      setTested((current) => ({ ...current, [id]: errorText(caught) }));
    }
  }

  const set = (change: Partial<NewChannel>) => setDraft((current) => ({ ...current, ...change }));
  return (
    <section className="page" data-testid="alert-channels-page">
      <div className="page__header">
        <h1>{t("alerts.nav.channels")}</h1>
      </div>
      <AlertsNav current="channels" t={t} />
      <form className="alerts-form panel" onSubmit={(event) => void submit(event)} data-testid="channel-form">
        <label className="field">
          <span className="field__label">{t("alerts.channel.name")}</span>
          <input name="name" required value={draft.name} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.channel.kind")}</span>
          <select name="kind" value={draft.kind} onChange={(e) => set({ kind: e.target.value as NewChannel["kind"] })}>
            <option value="webhook">webhook</option>
            <option value="apprise">apprise</option>
          </select>
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.channel.url")}</span>
          <input
            name="url"
            required
            placeholder={draft.kind === "webhook" ? "https://…" : "mailto://… tgram://… ntfy://…"}
            value={draft.url}
            onChange={(e) => set({ url: e.target.value })}
          />
        </label>
        {draft.kind === "webhook" && (
          <label className="field">
            <span className="field__label">{t("alerts.channel.secret")}</span>
            <input
              name="secret"
              type="password"
              autoComplete="off"
              value={draft.secret ?? ""}
              onChange={(e) => set({ secret: e.target.value })}
            />
          </label>
        )}
        <label className="field">
          <span className="field__label">{t("alerts.channel.language")}</span>
          <select
            name="language"
            value={draft.language}
            onChange={(e) => set({ language: e.target.value as NewChannel["language"] })}
          >
            <option value="en">English</option>
            <option value="zh-CN">简体中文</option>
          </select>
        </label>
        <FormActions editing={editing !== null} onCancel={stopEditing} t={t} />
      </form>
      {error !== null && <p className="alerts-error" role="alert">{error}</p>}
      <table className="alerts-table" data-testid="channels">
        <thead>
          <tr>
            <th>{t("alerts.channel.name")}</th>
            <th>{t("alerts.channel.url")}</th>
            <th>{t("alerts.channel.state")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {channels.map((channel) => (
            <tr key={channel.id} data-testid="channel-row" data-failing={channel.failing ? "true" : "false"}>
              <td data-label={t("alerts.channel.name")}>
                {channel.name} <span className="muted">({channel.kind})</span>
              </td>
              <td data-label={t("alerts.channel.url")}>{channel.url}</td>
              <td data-label={t("alerts.channel.state")}>
                {channel.failing ? (
                  <span className="alerts-error">{t("alerts.channel.failing", { error: channel.lastError ?? "" })}</span>
                ) : (
                  <span className="alerts-ok">{t("alerts.channel.healthy")}</span>
                )}
                {tested[channel.id] !== undefined && <div data-testid="test-result">{tested[channel.id]}</div>}
              </td>
              <td>
                <button type="button" className="button button--small" onClick={() => void sendTest(channel.id)}>
                  {t("alerts.channel.test")}
                </button>{" "}
                <button type="button" className="button button--small" onClick={() => edit(channel)}>
                  {t("alerts.edit")}
                </button>{" "}
                <button
                  type="button"
                  className="button button--small"
                  onClick={() =>
                    void alertsApi.deleteChannel(channel.id).then(load, (e: unknown) => setError(errorText(e)))
                  }
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
