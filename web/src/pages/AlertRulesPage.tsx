import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AlertsNav, errorText, FormActions } from "../components/AlertsNav";
import { useI18n } from "../i18n/i18n";
import { changedFields } from "../lib/patch";
import { alertsApi, type NewRule } from "../services/alertsApi";
import "../styles/alerts.css";
import type { AlertChannel, AlertRule, RulePreview } from "../types/alerts";

const EMPTY_RULE: NewRule = {
  name: "",
  enabled: true,
  kind: "metric",
  serverIds: null,
  tags: [],
  excludeServerIds: [],
  metric: "cpuUsagePercent",
  op: ">",
  warning: null,
  critical: 90,
  aggregate: "avg",
  windowSeconds: 0,
  forSeconds: 60,
  clear: null,
  clearForSeconds: 60,
  repeatSeconds: 0,
  repeatMaxSeconds: null,
  notifyResolved: true,
  channelIds: [],
};

function ids(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  return parts.length === 0 ? null : parts.map(Number);
}

function tagList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

function optionalNumber(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

/** Admin: alert rules, with a preview of the scope and the metric's current range. */
export function AlertRulesPage() {
  const { t } = useI18n();
  const [rules, setRules] = useState<AlertRule[]>([]);
  const [metrics, setMetrics] = useState<string[]>([]);
  const [channels, setChannels] = useState<AlertChannel[]>([]);
  const [draft, setDraft] = useState<NewRule>(EMPTY_RULE);
  const [scope, setScope] = useState({ servers: "", tags: "", exclude: "" });
  const [preview, setPreview] = useState<RulePreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The rule being edited, as the API showed it; null: a new one.
  const [editing, setEditing] = useState<AlertRule | null>(null);

  const load = useCallback(async () => {
    try {
      const [ruleBody, channelBody] = await Promise.all([alertsApi.rules(), alertsApi.channels()]);
      setRules(ruleBody.rules);
      setMetrics(ruleBody.metrics);
      setChannels(channelBody.channels);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const rule: NewRule = {
    ...draft,
    serverIds: ids(scope.servers),
    tags: tagList(scope.tags),
    excludeServerIds: ids(scope.exclude) ?? [],
  };
  const ruleKey = JSON.stringify(rule);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      alertsApi
        .previewRule({ ...(JSON.parse(ruleKey) as NewRule), name: draft.name || "preview" })
        .then(setPreview)
        .catch(() => setPreview(null));
    }, 300);
    return () => window.clearTimeout(timer);
  }, [ruleKey]);

  const set = (change: Partial<NewRule>) => setDraft((current) => ({ ...current, ...change }));

  function edit(existing: AlertRule) {
    const { id: _id, ...fields } = existing;
    setEditing(existing);
    setDraft({ ...EMPTY_RULE, ...fields });
    setScope({
      servers: (existing.serverIds ?? []).join(", "),
      tags: (existing.tags ?? []).join(", "),
      exclude: existing.excludeServerIds.join(", "),
    });
    setError(null);
  }

  function stopEditing() {
    setEditing(null);
    setDraft(EMPTY_RULE);
    setScope({ servers: "", tags: "", exclude: "" });
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      if (editing === null) {
        await alertsApi.createRule(rule);
      } else {
        const { id: _id, ...original } = editing;
        await alertsApi.updateRule(editing.id, changedFields<NewRule>({ ...EMPTY_RULE, ...original }, rule));
      }
      stopEditing();
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <section className="page" data-testid="alert-rules-page">
      <div className="page__header">
        <h1>{t("alerts.nav.rules")}</h1>
      </div>
      <AlertsNav current="rules" t={t} />
      <form className="alerts-form panel" onSubmit={(event) => void submit(event)} data-testid="rule-form">
        <label className="field">
          <span className="field__label">{t("alerts.rule.name")}</span>
          <input name="name" required value={draft.name} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.rule.kind")}</span>
          <select name="kind" value={draft.kind} onChange={(e) => set({ kind: e.target.value as NewRule["kind"] })}>
            <option value="metric">{t("alerts.rule.kind.metric")}</option>
            <option value="offline">{t("alerts.rule.kind.offline")}</option>
          </select>
        </label>
        {draft.kind === "metric" && (
          <>
            <label className="field">
              <span className="field__label">{t("alerts.rule.metric")}</span>
              <select name="metric" value={draft.metric} onChange={(e) => set({ metric: e.target.value })}>
                {metrics.map((metric) => (
                  <option key={metric} value={metric}>
                    {metric}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span className="field__label">{t("alerts.rule.op")}</span>
              <select name="op" value={draft.op} onChange={(e) => set({ op: e.target.value as NewRule["op"] })}>
                <option value=">">&gt;</option>
                <option value="<">&lt;</option>
              </select>
            </label>
            <label className="field">
              <span className="field__label">{t("alerts.level.warning")}</span>
              <input
                name="warning"
                inputMode="decimal"
                value={draft.warning ?? ""}
                onChange={(e) => set({ warning: optionalNumber(e.target.value) })}
              />
            </label>
            <label className="field">
              <span className="field__label">{t("alerts.level.critical")}</span>
              <input
                name="critical"
                inputMode="decimal"
                value={draft.critical ?? ""}
                onChange={(e) => set({ critical: optionalNumber(e.target.value) })}
              />
            </label>
            <label className="field">
              <span className="field__label">{t("alerts.rule.aggregate")}</span>
              <select
                name="aggregate"
                value={draft.aggregate}
                onChange={(e) => set({ aggregate: e.target.value as NewRule["aggregate"] })}
              >
                {(["avg", "max", "min", "all"] as const).map((how) => (
                  <option key={how} value={how}>
                    {how}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span className="field__label">{t("alerts.rule.window")}</span>
              <input
                name="windowSeconds"
                inputMode="numeric"
                value={draft.windowSeconds}
                onChange={(e) => set({ windowSeconds: Number(e.target.value) })}
              />
            </label>
          </>
        )}
        <label className="field">
          <span className="field__label">{t("alerts.rule.for")}</span>
          <input
            name="forSeconds"
            inputMode="numeric"
            value={draft.forSeconds}
            onChange={(e) => set({ forSeconds: Number(e.target.value) })}
          />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.rule.clearFor")}</span>
          <input
            name="clearForSeconds"
            inputMode="numeric"
            value={draft.clearForSeconds}
            onChange={(e) => set({ clearForSeconds: Number(e.target.value) })}
          />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.rule.repeat")}</span>
          <input
            name="repeatSeconds"
            inputMode="numeric"
            value={draft.repeatSeconds}
            onChange={(e) => set({ repeatSeconds: Number(e.target.value) })}
          />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.rule.servers")}</span>
          <input
            name="serverIds"
            placeholder={t("alerts.rule.allServers")}
            value={scope.servers}
            onChange={(e) => setScope({ ...scope, servers: e.target.value })}
          />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.rule.tags")}</span>
          <input
            name="tags"
            placeholder={t("alerts.rule.noTags")}
            value={scope.tags}
            onChange={(e) => setScope({ ...scope, tags: e.target.value })}
          />
        </label>
        <label className="field">
          <span className="field__label">{t("alerts.rule.exclude")}</span>
          <input
            name="excludeServerIds"
            value={scope.exclude}
            onChange={(e) => setScope({ ...scope, exclude: e.target.value })}
          />
        </label>
        <fieldset className="field">
          <legend className="field__label">{t("alerts.nav.channels")}</legend>
          {channels.map((channel) => (
            <label key={channel.id}>
              <input
                type="checkbox"
                name={`channel-${channel.id}`}
                checked={draft.channelIds.includes(channel.id)}
                onChange={(e) =>
                  set({
                    channelIds: e.target.checked
                      ? [...draft.channelIds, channel.id]
                      : draft.channelIds.filter((id) => id !== channel.id),
                  })
                }
              />{" "}
              {channel.name}
            </label>
          ))}
        </fieldset>
        <p className="muted" data-testid="rule-preview">
          {preview === null
            ? "–"
            : t("alerts.rule.preview", {
                servers: preview.servers,
                min: preview.min === null ? "–" : preview.min.toFixed(1),
                max: preview.max === null ? "–" : preview.max.toFixed(1),
              })}
        </p>
        <FormActions editing={editing !== null} onCancel={stopEditing} t={t} />
      </form>
      {error !== null && <p className="alerts-error" role="alert">{error}</p>}
      <table className="alerts-table" data-testid="rules">
        <thead>
          <tr>
            <th>{t("alerts.rule.name")}</th>
            <th>{t("alerts.rule.condition")}</th>
            <th>{t("alerts.rule.for")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id} data-testid="rule-row">
              <td data-label={t("alerts.rule.name")}>{r.name}</td>
              <td data-label={t("alerts.rule.condition")}>
                {r.kind === "offline"
                  ? t("alerts.rule.kind.offline")
                  : `${r.metric} ${r.op} ${[r.warning, r.critical].filter((v) => v != null).join(" / ")}`}
              </td>
              <td data-label={t("alerts.rule.for")}>{r.forSeconds} s</td>
              <td>
                <button type="button" className="button button--small" onClick={() => edit(r)}>
                  {t("alerts.edit")}
                </button>{" "}
                <button
                  type="button"
                  className="button button--small"
                  onClick={() => void alertsApi.deleteRule(r.id).then(load, (e: unknown) => setError(errorText(e)))}
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
