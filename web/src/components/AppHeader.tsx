import type { ReactNode } from "react";
import type { Translate } from "../i18n/i18n";
import type { Locale } from "../i18n/messages";
import { Link } from "../lib/router";
import { LanguageSwitch } from "./LanguageSwitch";

interface AppHeaderProps {
  username: string;
  /** Admins get the links to the administration pages. */
  isAdmin?: boolean;
  locale: Locale;
  t: Translate;
  /** The connection indicator, composed by the layout. */
  connection: ReactNode;
  onLocaleChange(locale: Locale): void;
  onLogout(): void;
}

export function AppHeader({ username, isAdmin = false, locale, t, connection, onLocaleChange, onLogout }: AppHeaderProps) {
  return (
    <header className="app-header">
      <Link to="/" className="app-header__brand">
        {t("app.title")}
      </Link>
      <Link to="/alerts" className="app-header__nav" data-testid="nav-alerts">
        {t("nav.alerts")}
      </Link>
      <div className="app-header__connection">{connection}</div>
      <nav className="app-header__nav" aria-label={t("nav.servers")}>
        {isAdmin && (
          <>
            <Link to="/admin/servers" data-testid="nav-admin-servers">
              {t("nav.adminServers")}
            </Link>
            <Link to="/admin/users" data-testid="nav-users">
              {t("nav.users")}
            </Link>
          </>
        )}
        <Link to="/account" data-testid="nav-account">
          {t("nav.account")}
        </Link>
      </nav>
      <div className="app-header__actions">
        <LanguageSwitch locale={locale} label={t("nav.language")} onChange={onLocaleChange} />
        <span className="muted app-header__user" title={t("nav.signedInAs", { user: username })}>
          {username}
        </span>
        <button type="button" className="button button--ghost" onClick={onLogout}>
          {t("nav.logout")}
        </button>
      </div>
    </header>
  );
}
