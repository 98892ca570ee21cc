import type { Translate } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import type { ListView, SortKey, StatusCounts, StatusFilter } from "../lib/serverView";

interface ListToolbarProps {
  view: ListView;
  counts: StatusCounts;
  t: Translate;
  onStatusFilter(filter: StatusFilter): void;
  onQuery(query: string): void;
  onSortKey(key: SortKey): void;
  onSortDirection(direction: ListView["sortDirection"]): void;
}

const FILTERS: ReadonlyArray<{ filter: StatusFilter; label: MessageKey }> = [
  { filter: "all", label: "list.total" },
  { filter: "online", label: "status.online" },
  { filter: "offline", label: "status.offline" },
  { filter: "pending", label: "status.pending" },
];

const SORT_KEYS: ReadonlyArray<{ key: SortKey; label: MessageKey }> = [
  { key: "name", label: "col.name" },
  { key: "status", label: "col.status" },
  { key: "os", label: "col.os" },
  { key: "cpu", label: "col.cpu" },
  { key: "memory", label: "col.memory" },
  { key: "disk", label: "col.disk" },
  { key: "network", label: "col.network" },
  { key: "uptime", label: "col.uptime" },
  { key: "lastSeen", label: "col.lastSeen" },
];

/**
 * Status filter (which doubles as the online/offline/pending counts), name search and sort.
 * The sort select matters on phones, where the table header is hidden.
 */
export function ListToolbar({ view, counts, t, onStatusFilter, onQuery, onSortKey, onSortDirection }: ListToolbarProps) {
  return (
    <div className="toolbar">
      <div className="toolbar__filters" role="group" aria-label={t("list.filterStatus")} data-testid="status-counts">
        {FILTERS.map(({ filter, label }) => (
          <button
            key={filter}
            type="button"
            className={`chip chip--${filter}`}
            aria-pressed={view.statusFilter === filter}
            data-filter={filter}
            onClick={() => onStatusFilter(filter)}
          >
            {t(label)} <span className="chip__count">{counts[filter]}</span>
          </button>
        ))}
      </div>
      <div className="toolbar__controls">
        <label className="field field--search">
          <span className="visually-hidden">{t("list.search")}</span>
          <input
            type="search"
            name="q"
            value={view.query}
            placeholder={t("list.searchPlaceholder")}
            aria-label={t("list.search")}
            onChange={(event) => onQuery(event.target.value)}
          />
        </label>
        <label className="field field--sort">
          <span className="field__label">{t("list.sortBy")}</span>
          <select
            value={view.sortKey}
            aria-label={t("list.sortBy")}
            onChange={(event) => onSortKey(event.target.value as SortKey)}
          >
            {SORT_KEYS.map(({ key, label }) => (
              <option key={key} value={key}>
                {t(label)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="button button--ghost"
          onClick={() => onSortDirection(view.sortDirection === "asc" ? "desc" : "asc")}
          aria-label={view.sortDirection === "asc" ? t("list.sortAscending") : t("list.sortDescending")}
          title={view.sortDirection === "asc" ? t("list.sortAscending") : t("list.sortDescending")}
        >
          {view.sortDirection === "asc" ? "▲" : "▼"}
        </button>
      </div>
    </div>
  );
}
