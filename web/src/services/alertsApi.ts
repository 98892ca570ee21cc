/** /api/alerts calls (issue 15), on the app's REST client. */
import type {
  ActiveAlertRow,
  AlertChannel,
  AlertEvent,
  AlertRule,
  AlertSilence,
  RulePreview,
} from "../types/alerts";
import { api } from "./api";

export type NewRule = Omit<AlertRule, "id">;
export type NewChannel = Omit<AlertChannel, "id" | "failing" | "lastError">;
export type NewSilence = Omit<AlertSilence, "id">;

export const alertsApi = {
  active: () => api.request<{ alerts: ActiveAlertRow[] }>("GET", "/api/alerts/active"),
  events: (query: { from?: string; to?: string; serverId?: string; ruleId?: string }) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    return api.request<{ events: AlertEvent[] }>("GET", `/api/alerts/events?${params.toString()}`);
  },
  rules: () => api.request<{ rules: AlertRule[]; metrics: string[] }>("GET", "/api/alerts/rules"),
  createRule: (rule: NewRule) => api.request<AlertRule>("POST", "/api/alerts/rules", { body: rule }),
  updateRule: (id: number, change: Partial<NewRule>) =>
    api.request<AlertRule>("PATCH", `/api/alerts/rules/${id}`, { body: change }),
  deleteRule: (id: number) => api.request<unknown>("DELETE", `/api/alerts/rules/${id}`).catch(ignoreEmpty),
  previewRule: (rule: NewRule) => api.request<RulePreview>("POST", "/api/alerts/rules/preview", { body: rule }),
  channels: () => api.request<{ channels: AlertChannel[] }>("GET", "/api/alerts/channels"),
  createChannel: (channel: NewChannel) =>
    api.request<AlertChannel>("POST", "/api/alerts/channels", { body: channel }),
  updateChannel: (id: number, change: Partial<NewChannel>) =>
    api.request<AlertChannel>("PATCH", `/api/alerts/channels/${id}`, { body: change }),
  deleteChannel: (id: number) => api.request<unknown>("DELETE", `/api/alerts/channels/${id}`).catch(ignoreEmpty),
  testChannel: (id: number) =>
    api.request<{ ok: boolean; error: string | null }>("POST", `/api/alerts/channels/${id}/test`),
  silences: () => api.request<{ silences: AlertSilence[] }>("GET", "/api/alerts/silences"),
  createSilence: (silence: NewSilence) =>
    api.request<AlertSilence>("POST", "/api/alerts/silences", { body: silence }),
  deleteSilence: (id: number) => api.request<unknown>("DELETE", `/api/alerts/silences/${id}`).catch(ignoreEmpty),
};

/** A 204 has no JSON body: parsing it fails after the delete succeeded. */
function ignoreEmpty(error: unknown): void {
  if (error instanceof SyntaxError) return;
  throw error;
}
