import { useDeferredValue, useMemo } from "react";
import { useShallow } from "zustand/react/shallow";
import { ListToolbar } from "../components/ListToolbar";
import { ServerTable } from "../components/ServerTable";
import { TagEditor } from "../components/TagEditor";
import { useDaemonNow } from "../hooks/useDaemonNow";
import { useI18n } from "../i18n/i18n";
import { formatDateTime } from "../lib/format";
import { Link, navigate, useLocationPath } from "../lib/router";
import { countByStatus, selectVisibleServers, type ListView } from "../lib/serverView";
import { allTags, filterByTag, groupByTag, readTagView, tagViewSearch, type TagView } from "../lib/tags";
import { useAuthStore } from "../store/authStore";
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

  const isAdmin = useAuthStore((state) => state.session?.user.role === "admin");
  // The tag filter and grouping live in the URL, so a view can be bookmarked.
  const search = new URL(useLocationPath(), "http://dashboard.invalid").search;
  const tagView = readTagView(search);
  const setTagView = (next: TagView) => navigate(`/${tagViewSearch(search, next)}`, { replace: true });
  const tags = useMemo(() => allTags(servers), [servers]);

  const counts = useMemo(() => countByStatus(servers), [servers]);
  // Typing in the filter re-lays out up to 1000 rows; deferring lets the input stay responsive
  // while React renders the new list in the background.
  const deferredView = useDeferredValue(view);
  const visible = useMemo(
    () => selectVisibleServers(filterByTag(servers, tagView.tag), deferredView),
    [servers, deferredView, tagView.tag],
  );
  const groups = useMemo(() => (tagView.grouped ? groupByTag(visible) : []), [visible, tagView.grouped]);
  const table = (rows: typeof visible) => (
    <ServerTable
      servers={rows}
      nowMs={nowMs}
      locale={locale}
      t={t}
      durationUnits={durationUnits}
      sortKey={deferredView.sortKey}
      sortDirection={deferredView.sortDirection}
      onSort={actions.toggleSort}
    />
  );

  return (
    <section className="page page--list" aria-labelledby="list-title">
      <div className="page__header">
        <h1 id="list-title">{t("list.title")}</h1>
        {generatedAt !== null && (
          <span className="muted">{t("list.updatedAt", { time: formatDateTime(generatedAt, locale) })}</span>
        )}
      </div>
      <div className="toolbar toolbar--tags">
        <label className="field">
          <span className="field__label">{t("tags.filter")}</span>
          <select
            name="tag"
            value={tagView.tag ?? ""}
            onChange={(event) => setTagView({ ...tagView, tag: event.target.value === "" ? null : event.target.value })}
          >
            <option value="">{t("tags.any")}</option>
            {tags.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <input
            type="checkbox"
            name="group"
            checked={tagView.grouped}
            onChange={(event) => setTagView({ ...tagView, grouped: event.target.checked })}
          />
          {t("tags.groupBy")}
        </label>
        {isAdmin && (
          <Link to="/status-pages" className="button button--ghost">
            {t("statusAdmin.title")}
          </Link>
        )}
      </div>
      {isAdmin && <TagEditor servers={servers} t={t} />}
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
          {tagView.grouped
            ? groups.map((group) => (
                <details key={group.tag ?? ""} className="tag-group" data-tag={group.tag ?? ""} open>
                  <summary>
                    <span className="tag-group__name">{group.tag ?? t("tags.untagged")}</span>{" "}
                    <span className="muted" data-testid="group-counts">
                      {t("tags.groupCounts", {
                        total: group.servers.length,
                        online: group.counts.online,
                        offline: group.counts.offline,
                      })}
                      {group.alerting > 0 && ` · ${t("tags.groupAlerts", { alerting: group.alerting })}`}
                    </span>
                  </summary>
                  {table(group.servers)}
                </details>
              ))
            : table(visible)}
        </>
      )}
    </section>
  );
}
