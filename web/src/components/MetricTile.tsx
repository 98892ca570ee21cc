import { UsageBar } from "./UsageBar";

interface MetricTileProps {
  label: string;
  value: string;
  detail?: string;
  /** Draws a usage bar when given (null = unknown). */
  percent?: number | null;
}

export function MetricTile({ label, value, detail, percent }: MetricTileProps) {
  return (
    <div className="tile">
      <div className="tile__label">{label}</div>
      <div className="tile__value">{value}</div>
      {percent !== undefined && <UsageBar percent={percent} />}
      {detail !== undefined && <div className="tile__detail">{detail}</div>}
    </div>
  );
}
