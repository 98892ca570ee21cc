import { memo, useMemo, useState } from "react";
import { useLiveWindow } from "../hooks/useLiveWindow";
import { useLiveSeed, useRangedHistory, type HistoryClient } from "../hooks/useMetricsHistory";
import { useI18n, type I18n } from "../i18n/i18n";
import {
  chartColumns,
  drawnPoints,
  HISTORY_CHARTS,
  HISTORY_RANGES,
  LIVE_GAP_MS,
  tooltipTime,
  tooltipValue,
  withGaps,
  type ChartDef,
  type GappedSamples,
  type HistoryRange,
} from "../lib/history";
import { api } from "../services/api";
import type { RollingSample } from "../store/rollingWindow";
import { TimeSeriesChart, type ChartSeries, type TooltipFormat } from "./TimeSeriesChart";

const NO_SAMPLES: readonly RollingSample[] = [];

interface HistoryChartProps {
  chart: ChartDef;
  gapped: GappedSamples;
  range: HistoryRange;
  xRange: [number, number] | undefined;
  i18n: I18n;
}

/** One chart of the panel, with its test hooks: `data-range` and `data-points` (drawn). */
const HistoryChart = memo(function HistoryChart({ chart, gapped, range, xRange, i18n }: HistoryChartProps) {
  const { t, locale } = i18n;
  const columns = useMemo(() => chartColumns(chart, gapped), [chart, gapped]);
  const series = useMemo<ChartSeries[]>(
    () => chart.series.map((s, index) => ({ label: t(s.label), colorVar: s.colorVar, values: columns[index]! })),
    [chart, columns, t],
  );
  const tooltip = useMemo<TooltipFormat>(
    () => ({
      time: (epochSeconds) => tooltipTime(epochSeconds, locale),
      value: (_index, value) => tooltipValue(chart, value, locale),
    }),
    [chart, locale],
  );
  return (
    <TimeSeriesChart
      title={t(chart.title)}
      times={gapped.times}
      series={series}
      formatValue={chart.format}
      yRange={chart.yRange}
      xRange={xRange}
      tooltip={tooltip}
      attributes={{
        "data-testid": "history-chart",
        "data-chart": chart.id,
        "data-range": range,
        "data-points": String(drawnPoints(columns)),
      }}
    />
  );
});

/**
 * The detail page's charts over a chosen range: live (the store's rolling window, kept while
 * this is mounted and seeded from the API on opening) or 1 h to 30 d from the history API. Gaps are drawn as gaps.
 */
export function HistoryCharts({ serverId, client = api }: { serverId: number; client?: HistoryClient }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [range, setRange] = useState<HistoryRange>("live");
  // Watched first, so the window exists when the seed arrives.
  const live = useLiveWindow(serverId);
  useLiveSeed(serverId, range === "live", client);
  const ranged = useRangedHistory(serverId, range, client);

  const samples = range === "live" ? live : ranged.status === "ready" ? ranged.samples : NO_SAMPLES;
  const maxGapMs = range === "live" ? LIVE_GAP_MS : ranged.status === "ready" ? ranged.stepMs : LIVE_GAP_MS;
  const gapped = useMemo(() => withGaps(samples, maxGapMs), [samples, maxGapMs]);
  const fromSeconds = ranged.status === "ready" ? ranged.fromMs / 1000 : undefined;
  const toSeconds = ranged.status === "ready" ? ranged.toMs / 1000 : undefined;
  const xRange = useMemo<[number, number] | undefined>(
    () => (fromSeconds !== undefined && toSeconds !== undefined ? [fromSeconds, toSeconds] : undefined),
    [fromSeconds, toSeconds],
  );

  let status: string | null = null;
  if (range === "live" && samples.length < 2) status = t("chart.collecting");
  else if (ranged.status === "loading") status = t("history.loading");
  else if (ranged.status === "error") status = t("history.error", { message: ranged.message });
  else if (ranged.status === "ready" && samples.length === 0) status = t("history.empty");
  const drawCharts = range === "live" ? samples.length >= 2 : ranged.status === "ready";

  return (
    <>
      <div className="range-picker" role="group" aria-label={t("history.ranges")}>
        {HISTORY_RANGES.map((choice) => (
          <button
            key={choice}
            type="button"
            className="range-picker__button"
            data-testid={`range-${choice}`}
            aria-pressed={choice === range}
            onClick={() => setRange(choice)}
          >
            {t(`range.${choice}`)}
          </button>
        ))}
      </div>
      {status !== null && (
        <p className="placeholder" role="status">
          {status}
        </p>
      )}
      {drawCharts && (
        <div className="charts">
          {HISTORY_CHARTS.map((chart) => (
            <HistoryChart
              key={chart.id}
              chart={chart}
              gapped={gapped}
              range={range}
              xRange={range === "live" ? undefined : xRange}
              i18n={i18n}
            />
          ))}
        </div>
      )}
    </>
  );
}
