interface UsageBarProps {
  /** 0–100, or null when unknown (renders an empty track). */
  percent: number | null;
}

/** A thin horizontal gauge; amber from 75 %, red from 90 %. */
export function UsageBar({ percent }: UsageBarProps) {
  const clamped = percent === null ? 0 : Math.min(100, Math.max(0, percent));
  const level = clamped >= 90 ? "high" : clamped >= 75 ? "warn" : "ok";
  return (
    <span className="usage-bar" aria-hidden="true">
      <span className={`usage-bar__fill usage-bar__fill--${level}`} style={{ width: `${clamped}%` }} />
    </span>
  );
}
