import { memo } from "react";
import type { Translate } from "../i18n/i18n";
import {
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
import { StatusBadge } from "./StatusBadge";
import { UsageBar } from "./UsageBar";

export interface ServerRowProps {
  server: VpsListItemResponse;
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
 * changed re-render. Every agent-supplied string is rendered as a text node.
 */
export const ServerRow = memo(function ServerRow({ server, lastSeen, t, durationUnits }: ServerRowProps) {
  const metrics = server.latestMetrics;
  const memoryPercent = metrics && usagePercent(metrics.memoryUsageBytes, metrics.memoryTotalBytes);
  const diskPercent = metrics && usagePercent(metrics.diskUsedBytes, metrics.diskTotalBytes);
  return (
    <tr data-testid="server-row" data-server-id={server.id} className={`row row--${server.status}`}>
      <td className="cell cell--status" data-label={t("col.status")}>
        <StatusBadge status={server.status} label={t(`status.${server.status}`)} />
      </td>
      <td className="cell cell--name" data-label={t("col.name")}>
        <Link to={serverPath(server.id)} className="row__link">
          {server.name}
        </Link>
        {server.hostname !== null && server.hostname !== "" && server.hostname !== server.name && (
          <div className="muted row__hostname">{server.hostname}</div>
        )}
      </td>
      <td className="cell" data-label={t("col.os")}>
        {osLabel(server)}
      </td>
      <td className="cell cell--num" data-label={t("col.cpu")}>
        {formatPercent(metrics?.cpuUsagePercent)}
        <UsageBar percent={metrics?.cpuUsagePercent ?? null} />
      </td>
      <td className="cell cell--num" data-label={t("col.memory")}>
        {metrics ? `${formatBytes(metrics.memoryUsageBytes)} / ${formatBytes(metrics.memoryTotalBytes)}` : "—"}
        <UsageBar percent={memoryPercent ?? null} />
      </td>
      <td className="cell cell--num" data-label={t("col.disk")}>
        {metrics ? `${formatBytes(metrics.diskUsedBytes)} / ${formatBytes(metrics.diskTotalBytes)}` : "—"}
        <UsageBar percent={diskPercent ?? null} />
      </td>
      <td className="cell cell--num" data-label={t("col.network")}>
        {metrics ? (
          <>
            <span className="rate">↓ {formatRate(metrics.networkRxInstantBps)}</span>{" "}
            <span className="rate">↑ {formatRate(metrics.networkTxInstantBps)}</span>
          </>
        ) : (
          "—"
        )}
      </td>
      <td className="cell cell--num" data-label={t("col.uptime")}>
        {formatUptime(metrics?.uptimeSeconds, durationUnits)}
      </td>
      <td className="cell" data-label={t("col.lastSeen")}>
        {lastSeen}
      </td>
    </tr>
  );
});
