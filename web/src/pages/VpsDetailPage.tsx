import { FactList, type Fact } from "../components/FactList";
import { HistoryCharts } from "../components/HistoryCharts";
import { MetricTile } from "../components/MetricTile";
import { AlertBadges } from "../components/AlertBadges";
import { StatusBadge } from "../components/StatusBadge";
import { useDaemonNow } from "../hooks/useDaemonNow";
import { useI18n, type I18n } from "../i18n/i18n";
import {
  formatBytes,
  formatCount,
  formatDateTime,
  formatLoad,
  formatPercent,
  formatRate,
  formatRelativeTime,
  formatUptime,
  textOrDash,
  usagePercent,
} from "../lib/format";
import { Link } from "../lib/router";
import { useServerListStore } from "../store/serverListStore";
import type { VpsListItemResponse } from "../types";

function hostFacts(server: VpsListItemResponse, { t, locale }: I18n, nowMs: number): Fact[] {
  const lastSeen = server.lastSeenAt === null
    ? textOrDash(null)
    : `${formatDateTime(server.lastSeenAt, locale)} (${formatRelativeTime(server.lastSeenAt, nowMs, locale)})`;
  return [
    { label: t("fact.hostname"), value: textOrDash(server.hostname) },
    { label: t("fact.os"), value: textOrDash([server.osType, server.osVersion].filter(Boolean).join(" ")) },
    { label: t("fact.kernel"), value: textOrDash(server.kernelVersion) },
    { label: t("fact.arch"), value: textOrDash(server.arch) },
    { label: t("fact.cpuModel"), value: textOrDash(server.cpuModel) },
    { label: t("fact.cpuCores"), value: formatCount(server.cpuCores, locale) },
    { label: t("fact.ip"), value: textOrDash(server.ipAddress) },
    { label: t("fact.agentVersion"), value: textOrDash(server.agentVersion) },
    { label: t("fact.createdAt"), value: formatDateTime(server.createdAt, locale) },
    { label: t("fact.lastSeenAt"), value: lastSeen },
  ];
}

function LiveFigures({ server, i18n }: { server: VpsListItemResponse; i18n: I18n }) {
  const { t, locale, durationUnits } = i18n;
  const m = server.latestMetrics;
  if (m === null) return <p className="placeholder">{t("detail.noMetrics")}</p>;
  return (
    <>
      <p className="muted">{t("metric.sampledAt", { time: formatDateTime(m.time, locale) })}</p>
      <div className="tiles" data-testid="live-figures">
        <MetricTile label={t("metric.cpu")} value={formatPercent(m.cpuUsagePercent)} percent={m.cpuUsagePercent} />
        <MetricTile
          label={t("metric.memory")}
          value={formatBytes(m.memoryUsageBytes)}
          detail={`/ ${formatBytes(m.memoryTotalBytes)} · ${formatPercent(usagePercent(m.memoryUsageBytes, m.memoryTotalBytes))}`}
          percent={usagePercent(m.memoryUsageBytes, m.memoryTotalBytes)}
        />
        <MetricTile
          label={t("metric.swap")}
          value={formatBytes(m.swapUsageBytes)}
          detail={`/ ${formatBytes(m.swapTotalBytes)}`}
          percent={usagePercent(m.swapUsageBytes, m.swapTotalBytes)}
        />
        <MetricTile
          label={t("metric.disk")}
          value={formatBytes(m.diskUsedBytes)}
          detail={`/ ${formatBytes(m.diskTotalBytes)} · ${formatPercent(usagePercent(m.diskUsedBytes, m.diskTotalBytes))}`}
          percent={usagePercent(m.diskUsedBytes, m.diskTotalBytes)}
        />
        <MetricTile label={t("metric.diskIo")} value={`${formatRate(m.diskReadBps)} / ${formatRate(m.diskWriteBps)}`} />
        <MetricTile
          label={t("metric.network")}
          value={`${formatRate(m.networkRxInstantBps)} / ${formatRate(m.networkTxInstantBps)}`}
        />
        <MetricTile
          label={t("metric.networkTotals")}
          value={`${formatBytes(m.networkRxTotalBytes)} / ${formatBytes(m.networkTxTotalBytes)}`}
        />
        <MetricTile
          label={t("metric.load")}
          value={`${formatLoad(m.load1)} / ${formatLoad(m.load5)} / ${formatLoad(m.load15)}`}
        />
        <MetricTile label={t("metric.processes")} value={formatCount(m.processCount, locale)} />
        <MetricTile
          label={t("metric.connections")}
          value={`${formatCount(m.tcpConnections, locale)} / ${formatCount(m.udpConnections, locale)}`}
        />
        <MetricTile label={t("metric.uptime")} value={formatUptime(m.uptimeSeconds, durationUnits)} />
      </div>
    </>
  );
}

/** One server: host facts and live figures from the same store as the list, and its charts. */
export function VpsDetailPage({ id }: { id: number }) {
  const i18n = useI18n();
  const { t } = i18n;
  // find() returns the stored object, so this re-renders only when this server changed.
  const server = useServerListStore((state) => state.servers.find((s) => s.id === id));
  const hasList = useServerListStore((state) => state.generatedAt !== null);
  const generatedAt = useServerListStore((state) => state.generatedAt);
  const nowMs = useDaemonNow(generatedAt);

  return (
    <section className="page page--detail" data-testid="server-detail" data-server-id={id}>
      <nav className="breadcrumb">
        <Link to="/">← {t("detail.back")}</Link>
      </nav>
      {server === undefined ? (
        <p className="placeholder" role="status">
          {hasList ? t("detail.notFound", { id }) : t("detail.loading")}
        </p>
      ) : (
        <>
          <div className="page__header">
            <h1>{server.name}</h1>
            <StatusBadge status={server.status} label={t(`status.${server.status}`)} />
            <AlertBadges alerts={server.activeAlerts} />
          </div>
          <div className="detail-grid">
            <section className="panel" aria-labelledby="facts-title">
              <h2 id="facts-title">{t("detail.facts")}</h2>
              <FactList facts={hostFacts(server, i18n, nowMs)} />
            </section>
            <section className="panel" aria-labelledby="live-title">
              <h2 id="live-title">{t("detail.live")}</h2>
              <LiveFigures server={server} i18n={i18n} />
            </section>
          </div>
          <section className="panel" aria-labelledby="history-title" data-testid="history-charts">
            <h2 id="history-title">{t("detail.history")}</h2>
            <HistoryCharts serverId={id} />
          </section>
        </>
      )}
    </section>
  );
}
