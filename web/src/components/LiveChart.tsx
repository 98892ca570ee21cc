import { useEffect, useRef, useState } from "react";
import uPlot, { type AlignedData, type Options } from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** A CSS custom property holding the line colour, so the theme decides. */
  colorVar: string;
}

interface LiveChartProps {
  title: string;
  /** Sample times in epoch seconds (uPlot's unit), ascending. */
  times: readonly number[];
  /** Keep this array's identity stable between renders with unchanged data (useMemo). */
  series: readonly ChartSeries[];
  formatValue(value: number): string;
  /** Fixed y range, e.g. [0, 100] for percentages; otherwise it follows the data from 0. */
  yRange?: [number, number];
  height?: number;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === "" ? fallback : value;
}

/** A faint area fill from a "#rrggbb" line colour; other colour syntaxes get no fill. */
function translucent(color: string): string | undefined {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}1f` : undefined;
}

/** Bumps when the system switches between light and dark, so charts redraw in new colours. */
function useColorSchemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (typeof window.matchMedia !== "function") return;
    const query = window.matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => setVersion((v) => v + 1);
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, []);
  return version;
}

/**
 * A uPlot line chart fed from the rolling window. The chart object is created once per
 * series layout and theme; new samples only call setData, which is cheap.
 */
export function LiveChart({ title, times, series, formatValue, yRange, height = 180 }: LiveChartProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  const schemeVersion = useColorSchemeVersion();
  // Read through a ref so a new formatter identity does not rebuild the chart.
  const formatRef = useRef(formatValue);
  formatRef.current = formatValue;

  const data: AlignedData = [times as number[], ...series.map((s) => s.values as Array<number | null>)];
  const dataRef = useRef(data);
  dataRef.current = data;

  const layoutKey = series.map((s) => `${s.label}:${s.colorVar}`).join("|");
  const yMin = yRange?.[0];
  const yMax = yRange?.[1];

  useEffect(() => {
    const container = containerRef.current;
    if (container === null) return;
    const axisColor = cssVar("--chart-axis", "#888");
    const gridColor = cssVar("--chart-grid", "rgba(128,128,128,0.2)");
    const options: Options = {
      width: Math.max(200, container.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: {
          range: (_u, dataMin, dataMax): [number, number] =>
            yMin !== undefined && yMax !== undefined
              ? [yMin, yMax]
              : [0, dataMax > 0 ? dataMax * 1.1 : Math.max(1, dataMin)],
        },
      },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor },
          size: 70,
          values: (_u, splits) => splits.map((value) => formatRef.current(value)),
        },
      ],
      series: [
        {},
        ...series.map((s) => {
          const color = cssVar(s.colorVar, "#3b82f6");
          return {
            label: s.label,
            stroke: color,
            width: 1.5,
            fill: translucent(color),
            points: { show: false },
            value: (_u: uPlot, value: number | null) => (value === null ? "—" : formatRef.current(value)),
          };
        }),
      ],
    };
    const chart = new uPlot(options, dataRef.current, container);
    chartRef.current = chart;

    let observer: ResizeObserver | null = null;
    if (typeof ResizeObserver === "function") {
      observer = new ResizeObserver((entries) => {
        const width = entries[0]?.contentRect.width ?? 0;
        if (width > 0) chart.setSize({ width, height });
      });
      observer.observe(container);
    }
    return () => {
      observer?.disconnect();
      chart.destroy();
      chartRef.current = null;
    };
    // `series` content is captured by layoutKey; data flows in through setData below.
  }, [layoutKey, schemeVersion, height, yMin, yMax]);

  useEffect(() => {
    chartRef.current?.setData(dataRef.current);
  }, [times, series]);

  return (
    <figure className="chart">
      <figcaption className="chart__title">{title}</figcaption>
      <div ref={containerRef} className="chart__canvas" />
    </figure>
  );
}
