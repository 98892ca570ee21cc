import { useRef } from "react";
import { useWindowedRows } from "../hooks/useWindowedRows";
import type { Translate } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import { formatRelativeTime, type DurationUnits } from "../lib/format";
import type { ListView, SortKey } from "../lib/serverView";
import type { VpsListItemResponse } from "../types";
import { ServerRow } from "./ServerRow";

interface ServerTableProps {
  servers: readonly VpsListItemResponse[];
  /** Reference time for "last seen"; the daemon's clock keeps client clock skew out. */
  nowMs: number;
  locale: string;
  t: Translate;
  durationUnits: DurationUnits;
  sortKey: ListView["sortKey"];
  sortDirection: ListView["sortDirection"];
  onSort(key: SortKey): void;
}

const COLUMNS: ReadonlyArray<{ key: SortKey; label: MessageKey; numeric?: boolean }> = [
  { key: "status", label: "col.status" },
  { key: "name", label: "col.name" },
  { key: "os", label: "col.os" },
  { key: "cpu", label: "col.cpu", numeric: true },
  { key: "memory", label: "col.memory", numeric: true },
  { key: "disk", label: "col.disk", numeric: true },
  { key: "network", label: "col.network", numeric: true },
  { key: "uptime", label: "col.uptime", numeric: true },
  { key: "lastSeen", label: "col.lastSeen" },
];

const ROW_SELECTOR = '[data-testid="server-row"]';

/**
 * The server table; on narrow screens CSS turns each row into a card. Long lists render only
 * the rows near the viewport (see useWindowedRows); aria-rowcount/aria-rowindex tell
 * assistive technology the full size.
 */
export function ServerTable({
  servers,
  nowMs,
  locale,
  t,
  durationUnits,
  sortKey,
  sortDirection,
  onSort,
}: ServerTableProps) {
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const { start, end, padTop, padBottom } = useWindowedRows(servers.length, bodyRef, ROW_SELECTOR);
  return (
    <div className="table-scroll">
      <table className="server-table" aria-rowcount={servers.length + 1}>
        <colgroup>
          {COLUMNS.map((column) => (
            <col key={column.key} className={`col--${column.key}`} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            {COLUMNS.map((column) => {
              const active = column.key === sortKey;
              return (
                <th
                  key={column.key}
                  scope="col"
                  className={column.numeric === true ? "cell--num" : undefined}
                  aria-sort={active ? (sortDirection === "asc" ? "ascending" : "descending") : "none"}
                >
                  <button type="button" className="sort-button" onClick={() => onSort(column.key)}>
                    {t(column.label)}
                    <span className="sort-button__arrow" aria-hidden="true">
                      {active ? (sortDirection === "asc" ? "▲" : "▼") : ""}
                    </span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody ref={bodyRef}>
          {padTop > 0 && <tr className="spacer" aria-hidden="true" style={{ height: padTop }} />}
          {servers.slice(start, end).map((server, offset) => (
            <ServerRow
              key={server.id}
              server={server}
              rowIndex={start + offset + 2}
              lastSeen={formatRelativeTime(server.lastSeenAt, nowMs, locale)}
              t={t}
              durationUnits={durationUnits}
            />
          ))}
          {padBottom > 0 && <tr className="spacer" aria-hidden="true" style={{ height: padBottom }} />}
        </tbody>
      </table>
    </div>
  );
}
