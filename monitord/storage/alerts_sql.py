"""Alerting's tables (issue 15), with SQL both backends share.

Configuration (channels, rules, silences) and pair states are stored as JSON bodies the alerts
package encodes: the database only needs to find them by id. Events (the history) and the
outbox (deliveries in flight) are plain columns, since they are queried by time and due moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from monitord.storage.alert_tables import ALERT_COPY_TABLES, EVENT_COLUMNS
from monitord.storage.base import AlertDelivery, AlertDeliveryOutcome, AlertEventRow, AlertTable
from monitord.storage.shared import Placeholder, SharedQueries, Step, _marks

_TABLES = {
    AlertTable.CHANNELS: "alert_channels",
    AlertTable.RULES: "alert_rules",
    AlertTable.SILENCES: "alert_silences",
}


class AlertStatements:
    def __init__(self, mark: Placeholder) -> None:
        m = mark
        self.list_config = {kind: f"SELECT id, body FROM {table} ORDER BY id" for kind, table in _TABLES.items()}
        self.insert_config = {
            kind: f"INSERT INTO {table} (body) VALUES ({m(1)}) RETURNING id" for kind, table in _TABLES.items()
        }
        self.update_config = {
            kind: f"UPDATE {table} SET body = {m(1)} WHERE id = {m(2)}" for kind, table in _TABLES.items()
        }
        self.delete_config = {kind: f"DELETE FROM {table} WHERE id = {m(1)}" for kind, table in _TABLES.items()}
        self.list_states = "SELECT rule_id, server_id, body FROM alert_states"
        self.upsert_state = (
            f"INSERT INTO alert_states (rule_id, server_id, body) VALUES ({_marks(m, 3)}) "
            "ON CONFLICT (rule_id, server_id) DO UPDATE SET body = excluded.body"
        )
        self.delete_state = f"DELETE FROM alert_states WHERE rule_id = {m(1)} AND server_id = {m(2)}"
        self.insert_event = (
            f"INSERT INTO alert_events ({', '.join(EVENT_COLUMNS)}) VALUES ({_marks(m, len(EVENT_COLUMNS))})"
        )
        self.insert_delivery = (
            f"INSERT INTO alert_outbox (channel_id, created_ms, due_ms, payload) VALUES ({_marks(m, 4)})"
        )
        # Keyset paging on (time_ms, id) below the cursor ($6, $7), so a filter applied after
        # the query (the caller's grant) can read on until it has `limit` rows.
        self.events = (
            f"SELECT id, {', '.join(EVENT_COLUMNS)} FROM alert_events WHERE time_ms >= {m(1)} AND time_ms < {m(2)} "
            f"AND ({m(3)} < 0 OR server_id = {m(3)}) AND ({m(4)} < 0 OR rule_id = {m(4)}) "
            f"AND (time_ms < {m(6)} OR (time_ms = {m(6)} AND id < {m(7)})) "
            f"ORDER BY time_ms DESC, id DESC LIMIT {m(5)}"
        )
        self.due = (
            "SELECT id, channel_id, created_ms, due_ms, attempts, payload FROM alert_outbox "
            f"WHERE status = 'pending' AND due_ms <= {m(1)} ORDER BY due_ms, id LIMIT {m(2)}"
        )
        _outcome = "channel_id, status, attempts, due_ms, error"
        self.last_outcomes = (
            f"SELECT o.{_outcome.replace(', ', ', o.')} FROM alert_outbox o JOIN (SELECT channel_id, max(due_ms) "
            "AS last_ms FROM alert_outbox WHERE status <> 'pending' GROUP BY channel_id) m "
            "ON o.channel_id = m.channel_id AND o.due_ms = m.last_ms AND o.status <> 'pending' "
            f"UNION ALL SELECT {_outcome} FROM alert_outbox WHERE status = 'pending' AND attempts > 0"
        )
        self.next_due = "SELECT min(due_ms) FROM alert_outbox WHERE status = 'pending'"
        self.finish_delivery = (
            f"UPDATE alert_outbox SET status = {m(1)}, attempts = {m(2)}, due_ms = {m(3)}, error = {m(4)} "
            f"WHERE id = {m(5)}"
        )
        self.expire_events = (
            f"DELETE FROM alert_events WHERE id IN (SELECT id FROM alert_events WHERE time_ms < {m(1)} LIMIT {m(2)})"
        )
        self.rows_after = {table: _rows_after(m, table, *columns) for table, columns in ALERT_COPY_TABLES.items()}
        self.import_rows = {table: _import_rows(m, table, *columns) for table, columns in ALERT_COPY_TABLES.items()}
        self.count_rows = {table: f"SELECT count(*) FROM {table}" for table in ALERT_COPY_TABLES}
        self.expire_outbox = (
            "DELETE FROM alert_outbox WHERE id IN (SELECT id FROM alert_outbox WHERE status <> 'pending' "
            f"AND created_ms < {m(1)} LIMIT {m(2)})"
        )


def _rows_after(m: Placeholder, table: str, key: tuple[str, ...], rest: tuple[str, ...]) -> str:
    """Up to a limit of rows after a key, in key order (keyset paging)."""
    first = f"{key[0]} > {m(1)}"
    after = first if len(key) == 1 else f"({first} OR ({key[0]} = {m(1)} AND {key[1]} > {m(2)}))"
    return (
        f"SELECT {', '.join(key + rest)} FROM {table} WHERE {after} ORDER BY {', '.join(key)} LIMIT {m(len(key) + 1)}"
    )


def _import_rows(m: Placeholder, table: str, key: tuple[str, ...], rest: tuple[str, ...]) -> str:
    """Insert a row with its key, or replace the one with the same key."""
    return (
        f"INSERT INTO {table} ({', '.join(key + rest)}) VALUES ({_marks(m, len(key + rest))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in rest)
    )


def _event_values(event: AlertEventRow) -> tuple[object, ...]:
    return tuple(getattr(event, name) for name in EVENT_COLUMNS)


class AlertQueries(SharedQueries):
    """The alerting part of the storage interface (see Storage in base.py)."""

    _alert_sql: AlertStatements

    async def list_alert_config(self, table: AlertTable) -> list[tuple[int, str]]:
        return [(row["id"], row["body"]) for row in await self._query(self._alert_sql.list_config[table])]

    async def create_alert_config(self, table: AlertTable, body: str) -> int:
        rows = await self._change_returning(self._alert_sql.insert_config[table], body)
        return int(rows[0]["id"])

    async def update_alert_config(self, table: AlertTable, config_id: int, body: str) -> bool:
        return await self._change(self._alert_sql.update_config[table], body, config_id) > 0

    async def delete_alert_config(self, table: AlertTable, config_id: int) -> bool:
        return await self._change(self._alert_sql.delete_config[table], config_id) > 0

    async def list_alert_states(self) -> list[tuple[int, int, str]]:
        rows = await self._query(self._alert_sql.list_states)
        return [(row["rule_id"], row["server_id"], row["body"]) for row in rows]

    async def save_alert_changes(
        self,
        states: Sequence[tuple[int, int, str | None]],
        events: Sequence[AlertEventRow],
        deliveries: Sequence[tuple[int, int, str]],
        *,
        now_ms: int,
    ) -> None:
        steps: list[Step] = [
            (self._alert_sql.upsert_state, [(r, s, body) for r, s, body in states if body is not None]),
            (self._alert_sql.delete_state, [(r, s) for r, s, body in states if body is None]),
            (self._alert_sql.insert_event, [_event_values(event) for event in events]),
            (
                self._alert_sql.insert_delivery,
                [(channel, now_ms, due, payload) for channel, due, payload in deliveries],
            ),
        ]
        await self._change_in_steps([step for step in steps if step[1]])

    async def alert_events(
        self,
        from_ms: int,
        to_ms: int,
        *,
        server_id: int | None = None,
        rule_id: int | None = None,
        limit: int = 1000,
        server_visible: Callable[[int], bool] | None = None,
    ) -> list[AlertEventRow]:
        found: list[AlertEventRow] = []
        cursor = (to_ms, 2**63 - 1)
        while True:
            rows = await self._query(
                self._alert_sql.events,
                from_ms,
                to_ms,
                -1 if server_id is None else server_id,
                -1 if rule_id is None else rule_id,
                limit,
                *cursor,
            )
            for row in rows:
                if server_visible is None or server_visible(row["server_id"]):
                    found.append(AlertEventRow(**{name: row[name] for name in EVENT_COLUMNS}))
            if len(rows) < limit or len(found) >= limit:
                return found[:limit]
            cursor = (rows[-1]["time_ms"], rows[-1]["id"])

    async def due_alert_deliveries(self, now_ms: int, limit: int) -> list[AlertDelivery]:
        rows = await self._query(self._alert_sql.due, now_ms, limit)
        return [
            AlertDelivery(
                id=row["id"],
                channel_id=row["channel_id"],
                created_ms=row["created_ms"],
                due_ms=row["due_ms"],
                attempts=row["attempts"],
                payload=row["payload"],
            )
            for row in rows
        ]

    async def last_alert_delivery_outcomes(self) -> list[AlertDeliveryOutcome]:
        rows = await self._query(self._alert_sql.last_outcomes)
        return [
            AlertDeliveryOutcome(
                channel_id=row["channel_id"],
                status=row["status"],
                attempts=row["attempts"],
                due_ms=row["due_ms"],
                error=row["error"],
            )
            for row in rows
        ]

    async def next_alert_delivery_ms(self) -> int | None:
        value = await self._query_value(self._alert_sql.next_due)
        return None if value is None else int(value)

    async def finish_alert_delivery(
        self, delivery_id: int, *, status: str, attempts: int, due_ms: int, error: str, event: AlertEventRow
    ) -> None:
        await self._change_in_steps(
            [
                (self._alert_sql.finish_delivery, [(status, attempts, due_ms, error, delivery_id)]),
                (self._alert_sql.insert_event, [_event_values(event)]),
            ]
        )

    # --- db copy ---------------------------------------------------------------------------------
    async def alert_rows_after(
        self, table: str, after: tuple[object, ...] | None, limit: int
    ) -> list[tuple[object, ...]]:
        """Up to `limit` rows of an alerting table (ALERT_COPY_TABLES) after the key `after`
        (from the start when None), in key order, each as its key columns then the others."""
        key, rest = ALERT_COPY_TABLES[table]
        rows = await self._query(self._alert_sql.rows_after[table], *(after or (0,) * len(key)), limit)
        return [tuple(row[name] for name in key + rest) for row in rows]

    async def import_alert_rows(self, table: str, rows: Sequence[tuple[object, ...]]) -> None:
        """Insert rows as `alert_rows_after` gives them, or replace those with the same key; one transaction."""
        await self._change_in_steps([(self._alert_sql.import_rows[table], rows)])

    async def alert_row_counts(self) -> dict[str, int]:
        """How many rows each alerting table holds."""
        return {table: int(await self._query_value(sql)) for table, sql in self._alert_sql.count_rows.items()}

    async def expire_alert_history(self, before_ms: int, *, max_rows: int) -> int:
        events = await self._change(self._alert_sql.expire_events, before_ms, max_rows)
        return events + await self._change(self._alert_sql.expire_outbox, before_ms, max_rows)


def encode_body(value: object) -> str:
    return msgspec.json.encode(value).decode()
