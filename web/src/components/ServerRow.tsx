import { memo } from "react";
import type { Translate } from "../i18n/i18n";
import {
  EMPTY,
  formatBytes,
  formatPercent,
  formatRate,
  formatUptime,
  textOrDash,
  usagePercent,
  type DurationUnits,
} from "../lib/format";
import { Link, serverPath } from "../lib/router";
import type { VpsListItemResponse } from "../types";
import { AlertBadges } from "./AlertBadges";
import { StatusBadge } from "./StatusBadge";
import { UsageBar } from "./UsageBar";

export interface ServerRowProps {
  server: VpsListItemResponse;
  /** aria-rowindex: position in the whole list (1 is the header), as rows may be windowed. */
  rowIndex: number;
  /** Preformatted so that an unchanged label keeps the memoised row from re-rendering. */
  lastSeen: string;
  t: Translate;
  durationUnits: DurationUnits;
}

function osLabel(server: VpsListItemResponse): string {
  return textOrDash([server.osType, server.osVersion].filter(Boolean).join(" "));
}

/**
 * One server in the list. Memoised: the store keeps an unchanged server's object identity
 * across pushes, and `t` / `durationUnits` are stable per language, so only servers whose data
 * changed re-render. Every agent-supplied string is rendered as a text node. Each cell keeps
 * the same lines whatever the data (the hostname line is always there, text never wraps), so
 * all rows are equally tall, which row windowing relies on.
 */
export const ServerRow = memo(function ServerRow({ server, rowIndex, lastSeen, t, durationUnits }: ServerRowProps) {
  const metrics = server.latestMetrics;
  const memoryPercent = metrics && usagePercent(metrics.memoryUsageBytes, metrics.memoryTotalBytes);
  const diskPercent = metrics && usagePercent(metrics.diskUsedBytes, metrics.diskTotalBytes);
  const hostname = server.hostname !== null && server.hostname !== server.name ? server.hostname : "";
  return (
    <tr
      data-testid="server-row"
      data-server-id={server.id}
      aria-rowindex={rowIndex}
      className={`row row--${server.status}`}
    >
      <td className="cell cell--status" data-label={t("col.status")}>
        <StatusBadge status={server.status} label={t(`status.${server.status}`)} />
        <AlertBadges alerts={server.activeAlerts} />
      </td>
      <td className="cell cell--name" data-label={t("col.name")}>
        <div className="cell__value">
          <Link to={serverPath(server.id)} className="row__link" title={server.name}>
            {server.name}
          </Link>
          <div className="muted row__hostname" title={hostname}>
            {hostname || "\u00a0"}
          </div>
        </div>
      </td>
      <td className="cell" data-label={t("col.os")}>
        <div className="cell__value" title={osLabel(server)}>
          {osLabel(server)}
        </div>
      </td>
      <td className="cell cell--num" data-label={t("col.cpu")}>
        <div className="cell__value">{formatPercent(metrics?.cpuUsagePercent)}</div>
        <UsageBar percent={metrics?.cpuUsagePercent ?? null} />
      </td>
      <td className="cell cell--num" data-label={t("col.memory")}>
        <div className="cell__value">
          {metrics ? `${formatBytes(metrics.memoryUsageBytes)} / ${formatBytes(metrics.memoryTotalBytes)}` : EMPTY}
        </div>
        <UsageBar percent={memoryPercent ?? null} />
      </td>
      <td className="cell cell--num" data-label={t("col.disk")}>
        <div className="cell__value">
          {metrics ? `${formatBytes(metrics.diskUsedBytes)} / ${formatBytes(metrics.diskTotalBytes)}` : EMPTY}
        </div>
        <UsageBar percent={diskPercent ?? null} />
      </td>
      <td className="cell cell--num" data-label={t("col.network")}>
        <div className="cell__value">
          {metrics
            ? `↓ ${formatRate(metrics.networkRxInstantBps)}  ↑ ${formatRate(metrics.networkTxInstantBps)}`
            : EMPTY}
        </div>
      </td>
      <td className="cell cell--num" data-label={t("col.uptime")}>
        <div className="cell__value">{formatUptime(metrics?.uptimeSeconds, durationUnits)}</div>
      </td>
      <td className="cell" data-label={t("col.lastSeen")}>
        <div className="cell__value">{lastSeen}</div>
      </td>
    </tr>
  );
});
