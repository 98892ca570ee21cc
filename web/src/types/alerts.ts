/** Alerting shapes (issue 15), as /api/alerts returns them. */
import type { IsoTimestamp } from "./index";

export type AlertLevel = "warning" | "critical";

/** `activeAlerts` items of a server in the live snapshot and REST. */
export interface ActiveAlert {
  ruleId: number;
  ruleName: string;
  level: AlertLevel | null;
  since: IsoTimestamp;
}

export interface AlertChannel {
  id: number;
  name: string;
  kind: "webhook" | "apprise";
  url: string;
  secret?: string | null;
  language: "en" | "zh-CN";
  failing?: boolean;
  lastError?: string | null;
}

export interface AlertRule {
  id: number;
  name: string;
  enabled: boolean;
  kind: "metric" | "offline";
  serverIds: number[] | null;
  /** Servers with one of these tags are in scope too (issue 16); none and `serverIds` null: all. */
  tags: string[];
  excludeServerIds: number[];
  metric: string;
  op: ">" | "<";
  warning?: number | null;
  critical?: number | null;
  aggregate: "avg" | "max" | "min" | "all";
  windowSeconds: number;
  forSeconds: number;
  clear?: number | null;
  clearForSeconds: number;
  repeatSeconds: number;
  repeatMaxSeconds?: number | null;
  notifyResolved: boolean;
  channelIds: number[];
}

export interface AlertSilence {
  id: number;
  ruleIds: number[] | null;
  serverIds: number[] | null;
  startsAt: IsoTimestamp;
  endsAt: IsoTimestamp;
  recurrence: "daily" | null;
  timeZone: string;
  comment: string;
}

export interface ActiveAlertRow {
  ruleId: number;
  ruleName: string;
  serverId: number;
  serverName: string;
  level: AlertLevel | null;
  phase: "firing" | "resolving";
  since: IsoTimestamp;
  value: number | null;
}

export interface AlertEvent {
  time: IsoTimestamp;
  kind: "transition" | "suppressed" | "delivery";
  ruleId: number;
  /** The rule's and server's names now; null once deleted (then show the id). */
  ruleName?: string | null;
  serverId: number;
  serverName?: string | null;
  from: string;
  to: string;
  level: AlertLevel | null;
  value: number | null;
  detail: string;
}

export interface RulePreview {
  servers: number;
  min: number | null;
  max: number | null;
}
