"""What both backends do with the same SQL: users, servers and the bulk transfer of `db copy`.

The statements are written once, with each driver's placeholders filled in by a function
(`?` for sqlite3, `$1`, `$2`... for asyncpg), as rollup.py does for the history SQL. Both engines
speak this SQL alike (RETURNING, ON CONFLICT, `excluded`). `SharedQueries` runs them on four
primitives each backend implements over its own driver; what truly differs between the engines
(storing samples, rollups, retention, vacuum, id sequences) stays in each backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from monitord.models import Grant, HostFacts, MetricsSample, Role, ServerRecord, StatusPageRecord, Tag, User
from monitord.storage.base import AlreadyExists, Tier
from monitord.storage.rollup import BUCKET_VALUE_COLUMNS, TABLES, import_buckets_sql
from monitord.storage.rows import (
    FACT_COLUMNS,
    SAMPLE_COLUMNS,
    SERVER_COLUMNS,
    USER_COLUMNS,
    Row,
    page_from_row,
    sample_from_row,
    server_from_row,
    user_from_row,
)
from monitord.storage.transfer import BucketRow, RollupState, SampleStats, TableCounts

# The n-th (from 1) query parameter in the driver's syntax.
Placeholder = Callable[[int], str]
# One statement run for each parameter row, in a transaction of several.
Step = tuple[str, Sequence[Sequence[object]]]

_USERS = ", ".join(USER_COLUMNS)
_SERVERS = ", ".join(SERVER_COLUMNS)
_SAMPLES = ", ".join(SAMPLE_COLUMNS)
_PAGES = "id, slug, config, password_hash, created_at_ms"
# Bounds of a BIGINT, for "no lower/upper bound" without a second statement.
_BEFORE_ALL = -(2**63)
_AFTER_ALL = 2**63 - 1
_BUCKET_ROW_COLUMNS = ("bucket_ms", *BUCKET_VALUE_COLUMNS)


def _marks(mark: Placeholder, count: int, start: int = 1) -> str:
    return ", ".join(mark(number) for number in range(start, start + count))


class SharedStatements:
    """The shared statements, with the placeholders of one driver."""

    def __init__(self, mark: Placeholder) -> None:
        m = mark
        # --- users
        self.insert_user = (
            f"INSERT INTO users (username, password_hash, role, created_at_ms) VALUES ({_marks(m, 4)}) "
            f"RETURNING {_USERS}"
        )
        self.user_by_id = f"SELECT {_USERS} FROM users WHERE id = {m(1)}"
        self.user_by_name = f"SELECT {_USERS} FROM users WHERE username = {m(1)}"
        self.list_users = f"SELECT {_USERS} FROM users ORDER BY id"
        self.count_users = "SELECT count(*) FROM users"
        # Each change of what a session rests on bumps the token version, revoking older tokens.
        self.update_user = {
            column: f"UPDATE users SET {column} = {m(1)}, token_version = token_version + 1 WHERE id = {m(2)} "
            f"RETURNING {_USERS}"
            for column in ("password_hash", "role")
        }
        self.delete_user = f"DELETE FROM users WHERE id = {m(1)}"
        # --- servers
        self.insert_server = (
            f"INSERT INTO servers (name, agent_token_hash, created_at_ms) VALUES ({_marks(m, 3)}) RETURNING {_SERVERS}"
        )
        self.server_by_id = f"SELECT {_SERVERS} FROM servers WHERE id = {m(1)}"
        self.list_servers = f"SELECT {_SERVERS} FROM servers ORDER BY id"
        self.rename_server = f"UPDATE servers SET name = {m(1)} WHERE id = {m(2)} RETURNING {_SERVERS}"
        self.set_token_hash = f"UPDATE servers SET agent_token_hash = {m(1)} WHERE id = {m(2)}"
        facts = ", ".join(f"{name} = {m(number)}" for number, name in enumerate(FACT_COLUMNS, start=1))
        self.update_facts = f"UPDATE servers SET {facts} WHERE id = {m(len(FACT_COLUMNS) + 1)}"
        # Metrics, rollups and rollup state go with it (ON DELETE CASCADE), in the same statement.
        self.delete_server = f"DELETE FROM servers WHERE id = {m(1)}"
        # --- tags, grants, status pages
        self.ensure_tag = f"INSERT INTO tags (name) VALUES ({m(1)}) ON CONFLICT (name) DO NOTHING"
        self.clear_server_tags = f"DELETE FROM server_tags WHERE server_id = {m(1)}"
        # Placeholders in order of appearance (SQLite's ? are positional). Through the servers
        # table: a server deleted meanwhile gets no tags (and no FK error).
        self.add_server_tag = (
            f"INSERT INTO server_tags (server_id, tag) SELECT id, {m(1)} FROM servers WHERE id = {m(2)}"
        )
        # A tag nobody carries and nobody coloured is forgotten.
        self.forget_unused_tags = (
            "DELETE FROM tags WHERE color = '' AND NOT EXISTS (SELECT 1 FROM server_tags WHERE tag = tags.name)"
        )
        self.server_tags = "SELECT server_id, tag FROM server_tags ORDER BY server_id, tag"
        self.list_tags = (
            "SELECT t.name AS name, t.color AS color, count(s.server_id) AS count FROM tags AS t "
            "LEFT JOIN server_tags AS s ON s.tag = t.name GROUP BY t.name, t.color ORDER BY t.name"
        )
        self.set_tag_color = f"UPDATE tags SET color = {m(1)} WHERE name = {m(2)}"
        self.list_grants = "SELECT user_id, tags, server_ids FROM user_grants ORDER BY user_id"
        self.set_grant = (
            f"INSERT INTO user_grants (user_id, tags, server_ids) SELECT id, {m(1)}, {m(2)} FROM users WHERE id = {m(3)} "
            "ON CONFLICT (user_id) DO UPDATE SET tags = excluded.tags, server_ids = excluded.server_ids"
        )
        self.clear_grant = f"DELETE FROM user_grants WHERE user_id = {m(1)}"
        self.insert_page = (
            f"INSERT INTO status_pages (slug, config, password_hash, created_at_ms) VALUES ({_marks(m, 4)}) "
            f"RETURNING {_PAGES}"
        )
        self.page_by_id = f"SELECT {_PAGES} FROM status_pages WHERE id = {m(1)}"
        self.page_by_slug = f"SELECT {_PAGES} FROM status_pages WHERE slug = {m(1)}"
        self.list_pages = f"SELECT {_PAGES} FROM status_pages ORDER BY id"
        self.update_page = (
            f"UPDATE status_pages SET slug = {m(1)}, config = {m(2)}, password_hash = {m(3)} WHERE id = {m(4)} "
            f"RETURNING {_PAGES}"
        )
        self.delete_page = f"DELETE FROM status_pages WHERE id = {m(1)}"
        # --- replicas
        self.propose_secret = (
            f"INSERT INTO monitord_secrets (name, value) VALUES ({_marks(m, 2)}) ON CONFLICT (name) DO NOTHING"
        )
        self.secret = f"SELECT value FROM monitord_secrets WHERE name = {m(1)}"
        # --- bulk transfer
        self.table_counts = (
            "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM servers) AS servers, "
            "(SELECT count(*) FROM metrics) AS samples, (SELECT count(*) FROM metrics_1m) AS minutes, "
            "(SELECT count(*) FROM metrics_1h) AS hours"
        )
        self.sample_stats = (
            "SELECT count(*) AS count, min(time_ms) AS first_ms, max(time_ms) AS last_ms FROM metrics "
            f"WHERE server_id = {m(1)} AND time_ms <= {m(2)}"
        )
        self.samples_after = f"SELECT {_SAMPLES} FROM metrics WHERE server_id = {m(1)} AND time_ms > {m(2)} ORDER BY time_ms LIMIT {m(3)}"
        self.bucket_stats = {
            tier: "SELECT count(*) AS count, min(bucket_ms) AS first_ms, max(bucket_ms) AS last_ms "
            f"FROM {TABLES[tier]} WHERE server_id = {m(1)} AND bucket_ms <= {m(2)}"
            for tier in (Tier.MINUTE, Tier.HOUR)
        }
        self.buckets_after = {
            tier: f"SELECT {', '.join(_BUCKET_ROW_COLUMNS)} FROM {TABLES[tier]} "
            f"WHERE server_id = {m(1)} AND bucket_ms > {m(2)} ORDER BY bucket_ms LIMIT {m(3)}"
            for tier in (Tier.MINUTE, Tier.HOUR)
        }
        self.import_buckets = {
            tier: import_buckets_sql(tier, [m(number) for number in range(1, 3 + len(BUCKET_VALUE_COLUMNS))])
            for tier in (Tier.MINUTE, Tier.HOUR)
        }
        self.rollup_state = f"SELECT rolled_up_to_ms, raw_deleted_before_ms FROM rollup_state WHERE server_id = {m(1)}"
        self.late_minutes = f"SELECT bucket_ms FROM rollup_late WHERE server_id = {m(1)} ORDER BY bucket_ms"
        self.import_rollup_state = (
            f"INSERT INTO rollup_state (server_id, rolled_up_to_ms, raw_deleted_before_ms) VALUES ({_marks(m, 3)}) "
            "ON CONFLICT (server_id) DO UPDATE SET rolled_up_to_ms = excluded.rolled_up_to_ms, "
            "raw_deleted_before_ms = excluded.raw_deleted_before_ms"
        )
        self.import_late_minute = (
            f"INSERT INTO rollup_late (server_id, bucket_ms) VALUES ({_marks(m, 2)}) ON CONFLICT DO NOTHING"
        )
        self.import_tag = f"INSERT INTO tags (name, color) VALUES ({_marks(m, 2)}) ON CONFLICT (name) DO UPDATE SET color = excluded.color"
        self.import_page = (
            f"INSERT INTO status_pages ({_PAGES}) VALUES ({_marks(m, 5)}) ON CONFLICT (id) DO UPDATE SET "
            "slug = excluded.slug, config = excluded.config, password_hash = excluded.password_hash, "
            "created_at_ms = excluded.created_at_ms"
        )
        self.import_user = (
            f"INSERT INTO users ({_USERS}) VALUES ({_marks(m, len(USER_COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in USER_COLUMNS[1:])
        )
        self.import_server = (
            f"INSERT INTO servers ({_SERVERS}) VALUES ({_marks(m, len(SERVER_COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in SERVER_COLUMNS[1:])
        )


class SharedQueries(ABC):
    """The storage methods whose SQL both backends share, on five primitives per backend."""

    _sql: SharedStatements

    @abstractmethod
    async def _query(self, sql: str, *args: object) -> list[Row]:
        """The rows `sql` selects."""

    @abstractmethod
    async def _query_value(self, sql: str, *args: object) -> Any:
        """The first column of the first row `sql` selects."""

    @abstractmethod
    async def _change(self, sql: str, *args: object) -> int:
        """Run `sql` in a transaction of its own; how many rows it changed."""

    @abstractmethod
    async def _change_returning(self, sql: str, *args: object) -> list[Row]:
        """Run `sql` in a transaction of its own; the rows it returned."""

    @abstractmethod
    async def _change_in_steps(self, steps: Sequence[Step]) -> None:
        """Run every step, each statement once per parameter row, in one transaction."""

    # --- users -------------------------------------------------------------------------------
    async def create_user(self, username: str, password_hash: str, role: Role, *, now_ms: int) -> User:
        try:
            rows = await self._change_returning(self._sql.insert_user, username, password_hash, role.value, now_ms)
        except AlreadyExists:
            raise AlreadyExists(f"user {username!r} already exists") from None
        return user_from_row(rows[0])

    async def get_user(self, user_id: int) -> User | None:
        rows = await self._query(self._sql.user_by_id, user_id)
        return user_from_row(rows[0]) if rows else None

    async def get_user_by_name(self, username: str) -> User | None:
        rows = await self._query(self._sql.user_by_name, username)
        return user_from_row(rows[0]) if rows else None

    async def list_users(self) -> list[User]:
        return [user_from_row(row) for row in await self._query(self._sql.list_users)]

    async def count_users(self) -> int:
        return int(await self._query_value(self._sql.count_users))

    async def set_password(self, user_id: int, password_hash: str) -> User | None:
        rows = await self._change_returning(self._sql.update_user["password_hash"], password_hash, user_id)
        return user_from_row(rows[0]) if rows else None

    async def set_role(self, user_id: int, role: Role) -> User | None:
        rows = await self._change_returning(self._sql.update_user["role"], role.value, user_id)
        return user_from_row(rows[0]) if rows else None

    async def delete_user(self, user_id: int) -> bool:
        changed = await self._change(self._sql.delete_user, user_id)
        return changed > 0

    # --- servers -----------------------------------------------------------------------------
    async def create_server(self, name: str, agent_token_hash: str, *, now_ms: int) -> ServerRecord:
        rows = await self._change_returning(self._sql.insert_server, name, agent_token_hash, now_ms)
        return server_from_row(rows[0])

    async def get_server(self, server_id: int) -> ServerRecord | None:
        rows = await self._query(self._sql.server_by_id, server_id)
        return server_from_row(rows[0]) if rows else None

    async def list_servers(self) -> list[ServerRecord]:
        return [server_from_row(row) for row in await self._query(self._sql.list_servers)]

    async def rename_server(self, server_id: int, name: str) -> ServerRecord | None:
        rows = await self._change_returning(self._sql.rename_server, name, server_id)
        return server_from_row(rows[0]) if rows else None

    async def set_agent_token_hash(self, server_id: int, agent_token_hash: str) -> bool:
        changed = await self._change(self._sql.set_token_hash, agent_token_hash, server_id)
        return changed > 0

    async def update_host_facts(self, server_id: int, facts: HostFacts) -> bool:
        values = tuple(getattr(facts, name) for name in FACT_COLUMNS)
        changed = await self._change(self._sql.update_facts, *values, server_id)
        return changed > 0

    async def delete_server(self, server_id: int) -> bool:
        changed = await self._change(self._sql.delete_server, server_id)
        return changed > 0

    async def ping(self) -> None:
        await self._query_value("SELECT 1")

    # --- tags, grants, status pages ---------------------------------------------------------
    async def set_server_tags(self, server_id: int, tags: Sequence[str]) -> None:
        await self._change_in_steps(
            [
                (self._sql.ensure_tag, [(tag,) for tag in tags]),
                (self._sql.clear_server_tags, [(server_id,)]),
                (self._sql.add_server_tag, [(tag, server_id) for tag in tags]),
                (self._sql.forget_unused_tags, [()]),
            ]
        )

    async def server_tags(self) -> dict[int, tuple[str, ...]]:
        tags: dict[int, list[str]] = {}
        for row in await self._query(self._sql.server_tags):
            tags.setdefault(row["server_id"], []).append(row["tag"])
        return {server_id: tuple(names) for server_id, names in tags.items()}

    async def list_tags(self) -> list[Tag]:
        return [
            Tag(name=row["name"], color=row["color"], count=row["count"])
            for row in await self._query(self._sql.list_tags)
        ]

    async def set_tag_color(self, name: str, color: str) -> bool:
        return await self._change(self._sql.set_tag_color, color, name) > 0

    async def list_grants(self) -> dict[int, Grant]:
        return {
            row["user_id"]: Grant(
                all=False,
                tags=frozenset(msgspec.json.decode(row["tags"], type=list[str])),
                server_ids=frozenset(msgspec.json.decode(row["server_ids"], type=list[int])),
            )
            for row in await self._query(self._sql.list_grants)
        }

    async def set_grant(self, user_id: int, grant: Grant) -> bool:
        if grant.all:
            await self._change(self._sql.clear_grant, user_id)
            return await self.get_user(user_id) is not None
        tags = msgspec.json.encode(sorted(grant.tags)).decode()
        server_ids = msgspec.json.encode(sorted(grant.server_ids)).decode()
        return await self._change(self._sql.set_grant, tags, server_ids, user_id) > 0

    async def create_status_page(self, slug: str, config: str, password_hash: str, *, now_ms: int) -> StatusPageRecord:
        try:
            rows = await self._change_returning(self._sql.insert_page, slug, config, password_hash, now_ms)
        except AlreadyExists:
            raise AlreadyExists(f"a status page with the slug {slug!r} already exists") from None
        return page_from_row(rows[0])

    async def get_status_page(self, page_id: int) -> StatusPageRecord | None:
        rows = await self._query(self._sql.page_by_id, page_id)
        return page_from_row(rows[0]) if rows else None

    async def get_status_page_by_slug(self, slug: str) -> StatusPageRecord | None:
        rows = await self._query(self._sql.page_by_slug, slug)
        return page_from_row(rows[0]) if rows else None

    async def list_status_pages(self) -> list[StatusPageRecord]:
        return [page_from_row(row) for row in await self._query(self._sql.list_pages)]

    async def update_status_page(
        self, page_id: int, slug: str, config: str, password_hash: str
    ) -> StatusPageRecord | None:
        try:
            rows = await self._change_returning(self._sql.update_page, slug, config, password_hash, page_id)
        except AlreadyExists:
            raise AlreadyExists(f"a status page with the slug {slug!r} already exists") from None
        return page_from_row(rows[0]) if rows else None

    async def delete_status_page(self, page_id: int) -> bool:
        return await self._change(self._sql.delete_page, page_id) > 0

    async def shared_secret(self, name: str, proposal: bytes) -> bytes:
        await self._change(self._sql.propose_secret, name, proposal)
        return bytes(await self._query_value(self._sql.secret, name))

    # --- bulk transfer (db copy) ------------------------------------------------------------
    async def table_counts(self) -> TableCounts:
        """How many users, servers and samples are stored."""
        (row,) = await self._query(self._sql.table_counts)
        return TableCounts(
            users=row["users"],
            servers=row["servers"],
            samples=row["samples"],
            minute_buckets=row["minutes"],
            hour_buckets=row["hours"],
        )

    async def sample_stats(self, server_id: int, until_ms: int | None = None) -> SampleStats:
        """Count and time range of one server's samples, optionally only those at or before `until_ms`."""
        (row,) = await self._query(self._sql.sample_stats, server_id, _AFTER_ALL if until_ms is None else until_ms)
        return SampleStats(count=row["count"], first_ms=row["first_ms"], last_ms=row["last_ms"])

    async def samples_after(self, server_id: int, after_ms: int | None, limit: int) -> list[MetricsSample]:
        """Up to `limit` samples of one server newer than `after_ms` (all when None), oldest first."""
        rows = await self._query(
            self._sql.samples_after, server_id, _BEFORE_ALL if after_ms is None else after_ms, limit
        )
        return [sample_from_row(row) for row in rows]

    async def bucket_stats(self, tier: Tier, server_id: int, until_ms: int | None = None) -> SampleStats:
        """Count and range of one server's buckets of a rollup tier (those starting at or before `until_ms`)."""
        (row,) = await self._query(
            self._sql.bucket_stats[tier], server_id, _AFTER_ALL if until_ms is None else until_ms
        )
        return SampleStats(count=row["count"], first_ms=row["first_ms"], last_ms=row["last_ms"])

    async def buckets_after(self, tier: Tier, server_id: int, after_ms: int | None, limit: int) -> list[BucketRow]:
        """Up to `limit` buckets of one server starting after `after_ms` (all when None), oldest first."""
        rows = await self._query(
            self._sql.buckets_after[tier], server_id, _BEFORE_ALL if after_ms is None else after_ms, limit
        )
        return [tuple(row[column] for column in _BUCKET_ROW_COLUMNS) for row in rows]

    async def import_buckets(self, tier: Tier, server_id: int, rows: Sequence[BucketRow]) -> None:
        """Insert buckets, or replace the ones at the same start; one transaction."""
        await self._change_in_steps([(self._sql.import_buckets[tier], [(server_id, *row) for row in rows])])

    async def rollup_state(self, server_id: int) -> RollupState | None:
        rows = await self._query(self._sql.rollup_state, server_id)
        if not rows:
            return None
        late = await self._query(self._sql.late_minutes, server_id)
        return RollupState(
            rolled_up_to_ms=rows[0]["rolled_up_to_ms"],
            raw_deleted_before_ms=rows[0]["raw_deleted_before_ms"],
            late_minutes=tuple(row["bucket_ms"] for row in late),
        )

    async def import_rollup_state(self, server_id: int, state: RollupState) -> None:
        """Set the server's rollup state (replacing it), and note its late minutes."""
        await self._change_in_steps(
            [
                (self._sql.import_rollup_state, [(server_id, state.rolled_up_to_ms, state.raw_deleted_before_ms)]),
                (self._sql.import_late_minute, [(server_id, minute) for minute in state.late_minutes]),
            ]
        )

    async def import_tags(self, tags: Sequence[Tag]) -> None:
        """Insert tags with their colours, or set the colours of those there; one transaction."""
        await self._change_in_steps([(self._sql.import_tag, [(tag.name, tag.color) for tag in tags])])

    async def import_status_pages(self, pages: Sequence[StatusPageRecord]) -> None:
        """Insert status pages with their ids, or replace the ones with the same id; one transaction."""
        await self._change_in_steps(
            [
                (
                    self._sql.import_page,
                    [(p.id, p.slug, p.config, p.password_hash, p.created_at_ms) for p in pages],
                )
            ]
        )

    async def import_users(self, users: Sequence[User]) -> None:
        """Insert users with their ids, or update the ones with the same id; one transaction."""
        await self._change_in_steps(
            [
                (
                    self._sql.import_user,
                    [
                        (u.id, u.username, u.role.value, u.password_hash, u.token_version, u.created_at_ms)
                        for u in users
                    ],
                )
            ]
        )

    async def import_servers(self, servers: Sequence[ServerRecord]) -> None:
        """Insert servers with their ids, or update the ones with the same id; one transaction."""
        await self._change_in_steps(
            [
                (
                    self._sql.import_server,
                    [
                        (
                            s.id,
                            s.name,
                            s.agent_token_hash,
                            *(getattr(s.facts, name) for name in FACT_COLUMNS),
                            s.last_seen_ms,
                            s.created_at_ms,
                        )
                        for s in servers
                    ],
                )
            ]
        )
