import "../styles/alerts.css";
import type { ActiveAlert } from "../types/alerts";

interface AlertBadgesProps {
  alerts: readonly ActiveAlert[] | undefined;
}

/** One badge per firing alert, coloured by level; nothing at all when none fire. */
export function AlertBadges({ alerts }: AlertBadgesProps) {
  if (alerts === undefined || alerts.length === 0) return null;
  return (
    <span className="alert-badges" data-testid="alert-badges">
      {alerts.map((alert) => (
        <span
          key={alert.ruleId}
          className={`alert-badge alert-badge--${alert.level ?? "warning"}`}
          data-testid="alert-badge"
          data-level={alert.level ?? "warning"}
          title={`${alert.ruleName} (${alert.level ?? ""})`}
        >
          {alert.ruleName}
        </span>
      ))}
    </span>
  );
}
