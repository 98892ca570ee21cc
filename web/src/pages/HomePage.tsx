import { useDeferredValue, useMemo } from "react";
import { useShallow } from "zustand/react/shallow";
import { ListToolbar } from "../components/ListToolbar";
import { ServerTable } from "../components/ServerTable";
import { useDaemonNow } from "../hooks/useDaemonNow";
import { useI18n } from "../i18n/i18n";
import { formatDateTime } from "../lib/format";
import { countByStatus, selectVisibleServers, type ListView } from "../lib/serverView";
import { useListViewStore } from "../store/listViewStore";
import { useServerListStore } from "../store/serverListStore";

/** The server list: counts, filter, sort and one row per server, live from the store. */
export function HomePage() {
  const { locale, t, durationUnits } = useI18n();
  const { servers, isLoading, generatedAt } = useServerListStore(
    useShallow((state) => ({
      servers: state.servers,
      isLoading: state.isLoading,
      generatedAt: state.generatedAt,
    })),
  );
  const view: ListView = useListViewStore(
    useShallow((state) => ({
      statusFilter: state.statusFilter,
      query: state.query,
      sortKey: state.sortKey,
      sortDirection: state.sortDirection,
    })),
  );
  // Actions never change identity; reading them once avoids a subscription.
  const actions = useListViewStore.getState();
  const nowMs = useDaemonNow(generatedAt);

  const counts = useMemo(() => countByStatus(servers), [servers]);
  // Typing in the filter re-lays out up to 1000 rows; deferring lets the input stay responsive
  // while React renders the new list in the background.
  const deferredView = useDeferredValue(view);
  const visible = useMemo(() => selectVisibleServers(servers, deferredView), [servers, deferredView]);

  return (
    <section className="page page--list" aria-labelledby="list-title">
      <div className="page__header">
        <h1 id="list-title">{t("list.title")}</h1>
        {generatedAt !== null && (
          <span className="muted">{t("list.updatedAt", { time: formatDateTime(generatedAt, locale) })}</span>
        )}
      </div>
      <ListToolbar
        view={view}
        counts={counts}
        t={t}
        onStatusFilter={actions.setStatusFilter}
        onQuery={actions.setQuery}
        onSortKey={actions.setSortKey}
        onSortDirection={actions.setSortDirection}
      />
      {generatedAt === null ? (
        // No list received yet: never claim "no servers" before the daemon has said so.
        <p className="placeholder" role="status">
          {isLoading ? t("list.loading") : t("list.noData")}
        </p>
      ) : servers.length === 0 ? (
        <p className="placeholder">{t("list.empty")}</p>
      ) : visible.length === 0 ? (
        <p className="placeholder">{t("list.noMatch")}</p>
      ) : (
        <>
          {visible.length !== servers.length && (
            <p className="muted">{t("list.showing", { shown: visible.length, total: servers.length })}</p>
          )}
          <ServerTable
            servers={visible}
            nowMs={nowMs}
            locale={locale}
            t={t}
            durationUnits={durationUnits}
            sortKey={deferredView.sortKey}
            sortDirection={deferredView.sortDirection}
            onSort={actions.toggleSort}
          />
        </>
      )}
    </section>
  );
}
