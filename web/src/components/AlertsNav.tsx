import type { Translate } from "../i18n/i18n";
import { Link } from "../lib/router";

export type AlertsSection = "overview" | "rules" | "channels" | "silences";

const SECTIONS: { section: AlertsSection; path: string; key: Parameters<Translate>[0] }[] = [
  { section: "overview", path: "/alerts", key: "alerts.nav.overview" },
  { section: "rules", path: "/alerts/rules", key: "alerts.nav.rules" },
  { section: "channels", path: "/alerts/channels", key: "alerts.nav.channels" },
  { section: "silences", path: "/alerts/silences", key: "alerts.nav.silences" },
];

/** Links between the alerting pages. */
export function AlertsNav({ current, t }: { current: AlertsSection; t: Translate }) {
  return (
    <nav className="alerts-nav" aria-label={t("alerts.title")}>
      {SECTIONS.map(({ section, path, key }) => (
        <Link key={section} to={path} aria-current={section === current ? "page" : undefined}>
          {t(key)}
        </Link>
      ))}
    </nav>
  );
}

/** The message of a failed call, for showing under a form. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The submit button of an alert form (create, or save while editing) and, while editing, cancel. */
export function FormActions({ editing, onCancel, t }: { editing: boolean; onCancel: () => void; t: Translate }) {
  return (
    <div className="alerts-form__actions">
      <button type="submit" className="button button--primary">
        {editing ? t("alerts.save") : t("alerts.create")}
      </button>
      {editing && (
        <button type="button" className="button" onClick={onCancel}>
          {t("alerts.cancel")}
        </button>
      )}
    </div>
  );
}
