import { useEffect, type ReactNode } from "react";
import { useShallow } from "zustand/react/shallow";
import { AccountPage } from "./admin/AccountPage";
import { AdminServersPage } from "./admin/AdminServersPage";
import { UsersPage } from "./admin/UsersPage";
import { AppHeader } from "./components/AppHeader";
import { ConnectionStatus } from "./components/ConnectionStatus";
import { useLiveConnection } from "./hooks/useLiveConnection";
import { useNow } from "./hooks/useNow";
import { useI18n, useLocaleStore } from "./i18n/i18n";
import { matchRoute, navigate, safeNextPath, useLocationPath, type Route } from "./lib/router";
import { AlertChannelsPage } from "./pages/AlertChannelsPage";
import { AlertRulesPage } from "./pages/AlertRulesPage";
import { AlertSilencesPage } from "./pages/AlertSilencesPage";
import { AlertsPage } from "./pages/AlertsPage";
import { HomePage } from "./pages/HomePage";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { StatusPage } from "./pages/StatusPage";
import { StatusPagesAdmin } from "./pages/StatusPagesAdmin";
import { VpsDetailPage } from "./pages/VpsDetailPage";
import { useAuthStore, type Session } from "./store/authStore";
import { useServerListStore } from "./store/serverListStore";

function ConnectionIndicator({ token }: { token: string }) {
  const { locale, t } = useI18n();
  const { connectionStatus, nextRetryAt } = useServerListStore(
    useShallow((state) => ({ connectionStatus: state.connectionStatus, nextRetryAt: state.nextRetryAt })),
  );
  // Tick only while a countdown is on screen.
  const nowMs = useNow(1000, connectionStatus === "reconnecting");
  return (
    <ConnectionStatus
      status={connectionStatus}
      nextRetryAt={nextRetryAt}
      nowMs={nowMs}
      locale={locale}
      t={t}
      onRetry={() => useServerListStore.getState().initializeWebSocket(token)}
    />
  );
}

function SignedInLayout({ session, children }: { session: Session; children: ReactNode }) {
  const { locale, t } = useI18n();
  useLiveConnection(session);
  return (
    <div className="app">
      <AppHeader
        username={session.user.username}
        isAdmin={session.user.role === "admin"}
        locale={locale}
        t={t}
        connection={<ConnectionIndicator token={session.token} />}
        onLocaleChange={useLocaleStore.getState().setLocale}
        onLogout={() => useAuthStore.getState().logout("logged_out")}
      />
      <main className="app__main">{children}</main>
    </div>
  );
}

function signedInPage(route: Route, session: Session): ReactNode {
  const isAdmin = session.user.role === "admin";
  switch (route.name) {
    case "adminServers":
      return isAdmin ? <AdminServersPage /> : <NotFoundPage />;
    case "users":
      return isAdmin ? <UsersPage /> : <NotFoundPage />;
    case "account":
      return <AccountPage />;
    case "home":
      return <HomePage />;
    case "detail":
      // Keyed so that moving between servers starts each page fresh.
      return <VpsDetailPage key={route.id} id={route.id} />;
    case "statusPages":
      return <StatusPagesAdmin />;
    case "alerts":
      if (route.section === "rules") return <AlertRulesPage />;
      if (route.section === "channels") return <AlertChannelsPage />;
      if (route.section === "silences") return <AlertSilencesPage />;
      return <AlertsPage />;
    case "login":
    case "status":
    case "notFound":
      return <NotFoundPage />;
  }
}

/** Routes, the login guard and the document language. */
export function App() {
  const path = useLocationPath();
  const url = new URL(path, "http://dashboard.invalid");
  const route = matchRoute(url.pathname);
  const session = useAuthStore((state) => state.session);
  const locale = useLocaleStore((state) => state.locale);

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  // A public status page needs no session (and uses none).
  const needsLogin = session === null && route.name !== "login" && route.name !== "status";
  const loginDone = session !== null && route.name === "login";
  const next = url.searchParams.get("next");
  useEffect(() => {
    if (needsLogin) navigate(`/login?next=${encodeURIComponent(path)}`, { replace: true });
    else if (loginDone) navigate(safeNextPath(next), { replace: true });
  }, [needsLogin, loginDone, path, next]);

  useEffect(() => {
    // A new session must not see the previous one's servers, even for a moment.
    if (session === null) useServerListStore.getState().reset();
  }, [session]);

  if (route.name === "status") return <StatusPage key={route.slug} slug={route.slug} />;
  if (route.name === "login") return session === null ? <LoginPage next={safeNextPath(next)} /> : null;
  if (session === null) return null;
  return <SignedInLayout session={session}>{signedInPage(route, session)}</SignedInLayout>;
}
