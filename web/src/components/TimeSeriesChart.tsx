import { useEffect, useRef, useState } from "react";
import uPlot, { type AlignedData, type Options } from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** A CSS custom property holding the line colour, so the theme decides. */
  colorVar: string;
}

/** What the tooltip says at one moment; series values are null in a gap. */
export interface TooltipFormat {
  time(epochSeconds: number): string;
  value(seriesIndex: number, value: number | null): string;
}

interface TimeSeriesChartProps {
  title: string;
  /** Sample times in epoch seconds (uPlot's unit), ascending. */
  times: readonly number[];
  /**
   * Keep this array's identity stable between renders with unchanged data (useMemo). A null
   * value is a gap: the line breaks there (spanGaps off) rather than joining its neighbours.
   */
  series: readonly ChartSeries[];
  formatValue(value: number): string;
  /** Fixed y range, e.g. [0, 100] for percentages; otherwise it follows the data from 0. */
  yRange?: [number, number];
  /** Fixed x range in epoch seconds (a chosen time range); otherwise it follows the data. */
  xRange?: [number, number];
  /** A tooltip following the cursor; none when absent. */
  tooltip?: TooltipFormat;
  /** data-* attributes for the figure, e.g. test hooks. */
  attributes?: Readonly<Record<`data-${string}`, string>>;
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
 * A box inside the plot that shows `format` at the cursor; text only (no HTML from data).
 * Reads the format through a getter so a new one takes effect without rebuilding the chart.
 */
function tooltipPlugin(format: () => TooltipFormat | undefined): uPlot.Plugin {
  let box: HTMLDivElement | null = null;
  return {
    hooks: {
      init: (u) => {
        box = document.createElement("div");
        box.className = "chart__tooltip";
        box.setAttribute("role", "tooltip");
        box.hidden = true;
        u.over.appendChild(box);
      },
      setCursor: (u) => {
        const current = format();
        const index = u.cursor.idx;
        if (box === null) return;
        if (current === undefined || index === null || index === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
          box.hidden = true;
          return;
        }
        const title = document.createElement("div");
        title.className = "chart__tooltip-time";
        title.textContent = current.time(u.data[0][index] ?? 0);
        const lines = u.series.slice(1).map((series, seriesIndex) => {
          const line = document.createElement("div");
          const value = u.data[seriesIndex + 1]?.[index];
          line.textContent = `${typeof series.label === "string" ? series.label : ""}: ${current.value(seriesIndex, value ?? null)}`;
          return line;
        });
        box.replaceChildren(title, ...lines);
        box.hidden = false;
        // Beside the cursor, flipped to the other side near the right or bottom edge.
        const left = u.cursor.left ?? 0;
        const top = u.cursor.top ?? 0;
        const width = u.over.clientWidth;
        box.style.left = `${left + box.offsetWidth + 16 > width ? Math.max(0, left - box.offsetWidth - 12) : left + 12}px`;
        box.style.top = `${Math.max(0, Math.min(top + 12, u.over.clientHeight - box.offsetHeight))}px`;
      },
    },
  };
}

/**
 * The value axis' width: its longest label plus tick and gap, so "39.1 KiB/s" is never clipped
 * (uPlot's fixed default fits only short labels). Measured once per layout cycle, as uPlot's
 * own docs do it.
 */
function valueAxisSize(self: uPlot, values: string[] | null, axisIndex: number, cycle: number): number {
  const axis = self.axes[axisIndex]!;
  const previous = (axis as { _size?: number })._size;
  if (cycle > 1 && previous !== undefined) return previous;
  const longest = (values ?? []).reduce((widest, value) => (value.length > widest.length ? value : widest), "");
  let size = (axis.ticks?.size ?? 10) + (axis.gap ?? 5);
  if (longest !== "" && typeof self.ctx?.measureText === "function") {
    self.ctx.font = axis.font?.[0] ?? "12px system-ui";
    size += self.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  } else {
    size += longest.length * 7;
  }
  return Math.max(40, Math.ceil(size));
}

/**
 * A uPlot line chart. The chart object is created once per series layout, theme and fixed
 * ranges; new data only calls setData, which is cheap.
 */
export function TimeSeriesChart({
  title,
  times,
  series,
  formatValue,
  yRange,
  xRange,
  tooltip,
  attributes,
  height = 180,
}: TimeSeriesChartProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  const schemeVersion = useColorSchemeVersion();
  // Read through refs so new formatter identities do not rebuild the chart.
  const formatRef = useRef(formatValue);
  formatRef.current = formatValue;
  const tooltipRef = useRef(tooltip);
  tooltipRef.current = tooltip;

  const data: AlignedData = [times as number[], ...series.map((s) => s.values as Array<number | null>)];
  const dataRef = useRef(data);
  dataRef.current = data;

  const layoutKey = series.map((s) => `${s.label}:${s.colorVar}`).join("|");
  const yMin = yRange?.[0];
  const yMax = yRange?.[1];
  // The x range moves with every refresh of a ranged chart: read at setData, no rebuild.
  const xRangeRef = useRef(xRange);
  xRangeRef.current = xRange;

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
      plugins: [tooltipPlugin(() => tooltipRef.current)],
      scales: {
        x: {
          time: true,
          range: (_u, dataMin, dataMax): [number, number] => xRangeRef.current ?? [dataMin, dataMax],
        },
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
          size: valueAxisSize,
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
            spanGaps: false,
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
  }, [times, series, xRange?.[0], xRange?.[1]]);

  return (
    <figure className="chart" {...attributes}>
      <figcaption className="chart__title">{title}</figcaption>
      <div ref={containerRef} className="chart__canvas" />
    </figure>
  );
}
