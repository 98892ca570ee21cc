import type { ServerStatus } from "../types";

interface StatusBadgeProps {
  status: ServerStatus;
  label: string;
}

/** A coloured dot and the status in words (colour alone would not reach every reader). */
export function StatusBadge({ status, label }: StatusBadgeProps) {
  return (
    <span className={`badge badge--${status}`} data-status={status}>
      <span className="badge__dot" aria-hidden="true" />
      {label}
    </span>
  );
}
