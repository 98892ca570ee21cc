import { formatClockTime } from "../lib/format";
import type { Translate } from "../i18n/i18n";
import type { ConnectionStatus as Status } from "../store/serverListStore";

interface ConnectionStatusProps {
  status: Status;
  /** Epoch ms of the next reconnect attempt, while reconnecting. */
  nextRetryAt: number | null;
  nowMs: number;
  locale: string;
  t: Translate;
  onRetry(): void;
}

/** Describes the live connection in words; offers Retry once retries are exhausted. */
export function ConnectionStatus({ status, nextRetryAt, nowMs, locale, t, onRetry }: ConnectionStatusProps) {
  let text: string;
  switch (status) {
    case "connected":
      text = t("conn.connected");
      break;
    case "connecting":
      text = t("conn.connecting");
      break;
    case "reconnecting":
      text =
        nextRetryAt !== null && nextRetryAt > nowMs
          ? t("conn.reconnecting", {
              seconds: Math.ceil((nextRetryAt - nowMs) / 1000),
              time: formatClockTime(nextRetryAt, locale),
            })
          : t("conn.reconnectingNow");
      break;
    case "error":
      text = t("conn.error");
      break;
    case "permanently_failed":
      text = t("conn.failed");
      break;
    case "disconnected":
      text = t("conn.disconnected");
      break;
  }
  // Only problems interrupt a screen reader; "Live" and "Connecting" are announced politely.
  const urgent = status === "permanently_failed" || status === "error";
  return (
    <div
      className={`connection connection--${status}`}
      data-testid="connection-status"
      data-status={status}
      role={urgent ? "alert" : "status"}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span className="connection__text">{text}</span>
      {status === "permanently_failed" && (
        <button type="button" className="button button--small" onClick={onRetry}>
          {t("conn.retry")}
        </button>
      )}
    </div>
  );
}
