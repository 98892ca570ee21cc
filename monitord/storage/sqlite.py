"""The embedded SQLite backend.

One connection, used from worker threads one call at a time (a CapacityLimiter of 1), so the
event loop never blocks on disk. WAL mode lets readers in other processes (the CLI) work while
the daemon writes; synchronous=FULL makes a returned `insert_samples` durable, which is what an
agent ack promises.

History queries read on a second, read-only connection with a limiter of its own: in WAL mode
a reader never blocks the writer, so a dashboard drawing a day of raw samples never holds up
ingest. Maintenance (rollups, retention, vacuum) goes through the writer in short transactions
(see monitord/storage/rollup.py and monitord/history/maintenance.py).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import trio

from monitord.models import MetricsSample, datetime_to_ms
from monitord.storage.alert_tables import ALERT_ID_TABLES
from monitord.storage.alerts_sql import AlertQueries, AlertStatements
from monitord.storage.base import (
    HOUR_MS,
    MINUTE_MS,
    AlreadyExists,
    BucketAggregate,
    RetentionCutoffs,
    RollupProgress,
    StorageError,
    StorageFull,
    Tier,
)
from monitord.storage.rollup import TABLES, floor_to, history_sql, hours_completed, merge_summaries, rollup_sql, stitch
from monitord.storage.rows import SAMPLE_COLUMNS, Row, sample_from_row, sample_values
from monitord.storage.shared import SharedStatements, Step
from monitord.storage.sqlite_schema import MIGRATIONS
from monitord.storage.transfer import IdHighWater

T = TypeVar("T")

_INSERT_SAMPLE = (
    f"INSERT OR IGNORE INTO metrics (server_id, {', '.join(SAMPLE_COLUMNS)}) "
    f"SELECT ?, {', '.join('?' for _ in SAMPLE_COLUMNS)} WHERE EXISTS (SELECT 1 FROM servers WHERE id = ?)"
)


_ROLLUP = {tier: rollup_sql(tier, sid=":sid", lo=":lo", hi=":hi") for tier in (Tier.MINUTE, Tier.HOUR)}
_HISTORY = {
    (tier, maximum): history_sql(tier, sid=":sid", lo=":lo", hi=":hi", step=":step", maximum=maximum)
    for tier in Tier
    for maximum in (False, True)
}
# A server seen for the first time starts with its watermark at 0: its first roll_up reads from
# its oldest sample on (as on PostgreSQL, where starting anywhere else would race with ingest).
_START_ROLLUP_STATE = (
    "INSERT INTO rollup_state (server_id, rolled_up_to_ms) SELECT id, 0 FROM servers AS s "
    "WHERE NOT EXISTS (SELECT 1 FROM rollup_state WHERE server_id = s.id)"
)
# Up to :limit of one server's samples in [lo, hi), oldest first: how many, and the newest.
_PROBE_SAMPLES = (
    "SELECT count(*), max(time_ms) FROM (SELECT time_ms FROM metrics WHERE server_id = ? AND time_ms >= ? "
    "AND time_ms < ? ORDER BY time_ms LIMIT ?)"
)
# SQLite limits the number of parameters of one statement.
_IN_CHUNK = 500


class SqliteStorage(AlertQueries):
    """Storage on one SQLite connection; create it with `open_sqlite_storage`."""

    _sql = SharedStatements(lambda _number: "?")
    _alert_sql = AlertStatements(lambda number: f"?{number}")  # numbered: some repeat

    def replication(self) -> None:
        """None: one daemon per SQLite file (the daemon's lock file refuses a second one)."""
        return None

    def __init__(self, connection: sqlite3.Connection, reader: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self._limiter = trio.CapacityLimiter(1)
        self._reader = reader
        self._reader_limiter = trio.CapacityLimiter(1)
        self._path = path

    async def close_reader(self) -> None:
        """Close the reader connection, never while a read runs on it: a task that outlived its
        storage must get an error, not a segmentation fault (sqlite3 closes under a running step)."""
        await trio.to_thread.run_sync(self._reader.close, limiter=self._reader_limiter)

    async def close_writer(self) -> None:
        """Close the writer connection, never while a call runs on it (see close_reader)."""
        await trio.to_thread.run_sync(self._connection.close, limiter=self._limiter)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return work(self._connection)
            except sqlite3.Error as exc:
                raise _storage_error(exc) from exc

        return await trio.to_thread.run_sync(call, limiter=self._limiter)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one read transaction on the reader connection (one snapshot)."""

        def call() -> T:
            try:
                self._reader.execute("BEGIN")
                try:
                    return work(self._reader)
                finally:
                    self._reader.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _storage_error(exc) from exc

        return await trio.to_thread.run_sync(call, limiter=self._reader_limiter)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one IMMEDIATE transaction, committed before this returns."""

        def transaction(connection: sqlite3.Connection) -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

        return await self._run(transaction)

    # --- the primitives of the shared statements (users, servers, bulk transfer) -----------------
    async def _query(self, sql: str, *args: object) -> list[Row]:
        rows: list[Row] = await self._run(lambda c: c.execute(sql, args).fetchall())
        return rows

    async def _query_value(self, sql: str, *args: object) -> Any:
        return await self._run(lambda c: c.execute(sql, args).fetchone()[0])

    async def _change(self, sql: str, *args: object) -> int:
        count: int = await self._write(lambda c: c.execute(sql, args).rowcount)
        return count

    async def _change_returning(self, sql: str, *args: object) -> list[Row]:
        # Read to the end: a statement still stepping would block the COMMIT.
        rows: list[Row] = await self._write(lambda c: c.execute(sql, args).fetchall())
        return rows

    async def _change_in_steps(self, steps: Sequence[Step]) -> None:
        def change(connection: sqlite3.Connection) -> None:
            for sql, rows in steps:
                connection.executemany(sql, rows)

        await self._write(change)

    # --- metrics -----------------------------------------------------------------------------
    async def insert_samples(self, batch: Sequence[tuple[int, MetricsSample]], *, notify: Sequence[str] = ()) -> int:
        # `notify` has no listener here: SQLite serves one daemon.
        if not batch:
            return 0
        rows = [(server_id, *sample_values(sample), server_id) for server_id, sample in batch]
        newest: dict[int, int] = {}
        for server_id, sample in batch:
            moment = datetime_to_ms(sample.time)
            if moment > newest.get(server_id, moment - 1):
                newest[server_id] = moment

        def insert(connection: sqlite3.Connection) -> int:
            before = connection.total_changes
            connection.executemany(_INSERT_SAMPLE, rows)
            inserted = connection.total_changes - before
            connection.executemany(
                "UPDATE servers SET last_seen_ms = max(coalesce(last_seen_ms, 0), ?) WHERE id = ?",
                [(moment, server_id) for server_id, moment in newest.items()],
            )
            _note_late_samples(connection, rows)
            return inserted

        return await self._write(insert)

    async def latest_samples(self) -> dict[int, MetricsSample]:
        def latest(connection: sqlite3.Connection) -> dict[int, MetricsSample]:
            # One index probe per server: a GROUP BY max() would scan the whole table.
            result: dict[int, MetricsSample] = {}
            for (server_id,) in connection.execute("SELECT id FROM servers").fetchall():
                row = connection.execute(
                    f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM metrics WHERE server_id = ? "
                    "ORDER BY time_ms DESC LIMIT 1",
                    (server_id,),
                ).fetchone()
                if row:
                    result[server_id] = sample_from_row(row)
            return result

        return await self._run(latest)

    async def query_samples(self, server_id: int, from_ms: int, to_ms: int) -> list[MetricsSample]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM metrics "
                "WHERE server_id = ? AND time_ms >= ? AND time_ms < ? ORDER BY time_ms",
                (server_id, from_ms, to_ms),
            ).fetchall()
        )
        return [sample_from_row(row) for row in rows]

    # --- history: rollups, retention, ranged queries ----------------------------------------
    async def roll_up(self, until_ms: int, *, max_samples: int) -> RollupProgress:
        def roll(connection: sqlite3.Connection) -> RollupProgress:
            connection.execute(_START_ROLLUP_STATE)
            behind = connection.execute(
                "SELECT server_id, rolled_up_to_ms FROM rollup_state WHERE rolled_up_to_ms < ? ORDER BY server_id",
                (until_ms,),
            ).fetchall()
            read = 0
            for server_id, start in behind:
                budget = max_samples - read
                if budget <= 0:
                    return RollupProgress(samples=read, caught_up=False)
                count, newest = connection.execute(_PROBE_SAMPLES, (server_id, start, until_ms, budget + 1)).fetchone()
                end = until_ms
                if count > budget:
                    # Stop before the minute of the first sample over budget; but a single
                    # minute is never split, so one over budget on its own is taken whole.
                    end = floor_to(newest, MINUTE_MS)
                    if end <= start:
                        if read:
                            return RollupProgress(samples=read, caught_up=False)
                        end = start + MINUTE_MS
                    count = connection.execute(
                        "SELECT count(*) FROM metrics WHERE server_id = ? AND time_ms >= ? AND time_ms < ?",
                        (server_id, start, end),
                    ).fetchone()[0]
                connection.execute(_ROLLUP[Tier.MINUTE], {"sid": server_id, "lo": start, "hi": end})
                hours_lo, hours_hi = hours_completed(start, end)
                if hours_hi > hours_lo:
                    connection.execute(_ROLLUP[Tier.HOUR], {"sid": server_id, "lo": hours_lo, "hi": hours_hi})
                connection.execute("UPDATE rollup_state SET rolled_up_to_ms = ? WHERE server_id = ?", (end, server_id))
                read += count
                if end < until_ms:
                    return RollupProgress(samples=read, caught_up=False)
            return RollupProgress(samples=read, caught_up=True)

        return await self._write(roll)

    async def roll_up_late(self, *, max_buckets: int) -> int:
        def recompute(connection: sqlite3.Connection) -> int:
            marks = connection.execute(
                "SELECT l.server_id, l.bucket_ms, r.rolled_up_to_ms, r.raw_deleted_before_ms FROM rollup_late AS l "
                "LEFT JOIN rollup_state AS r ON r.server_id = l.server_id ORDER BY l.server_id, l.bucket_ms LIMIT ?",
                (max_buckets,),
            ).fetchall()
            hours: set[tuple[int, int]] = set()
            for server_id, minute, rolled_up_to, raw_deleted_before in marks:
                if rolled_up_to is None or minute < raw_deleted_before:
                    continue  # part of its raw samples are gone: the rollup stays as it was
                connection.execute(_ROLLUP[Tier.MINUTE], {"sid": server_id, "lo": minute, "hi": minute + MINUTE_MS})
                hour = floor_to(minute, HOUR_MS)
                if hour + HOUR_MS <= rolled_up_to:
                    hours.add((server_id, hour))
            for server_id, hour in sorted(hours):
                connection.execute(_ROLLUP[Tier.HOUR], {"sid": server_id, "lo": hour, "hi": hour + HOUR_MS})
            connection.executemany(
                "DELETE FROM rollup_late WHERE server_id = ? AND bucket_ms = ?", [(m[0], m[1]) for m in marks]
            )
            return len(marks)

        return await self._write(recompute)

    async def delete_expired(self, cutoffs: RetentionCutoffs, *, max_rows: int) -> int:
        # Whole minutes of raw samples and whole hours of minutes go at once, so that a late
        # sample never meets half a bucket (see rollup.py).
        raw_before = floor_to(cutoffs.raw_before_ms, MINUTE_MS)
        minute_before = floor_to(cutoffs.minute_before_ms, HOUR_MS)

        def delete(connection: sqlite3.Connection) -> int:
            # Late samples below this can no longer be rolled up: say so before any goes.
            connection.execute(
                "UPDATE rollup_state SET raw_deleted_before_ms = min(?, rolled_up_to_ms) "
                "WHERE raw_deleted_before_ms < min(?, rolled_up_to_ms)",
                (raw_before, raw_before),
            )
            states = connection.execute(
                "SELECT server_id, rolled_up_to_ms FROM rollup_state ORDER BY server_id"
            ).fetchall()
            plans = [
                # Nothing is deleted before it is rolled up into the next tier.
                (Tier.RAW, [(server_id, min(raw_before, rolled_up_to)) for server_id, rolled_up_to in states]),
                (
                    Tier.MINUTE,
                    [
                        (server_id, min(minute_before, floor_to(rolled_up_to, HOUR_MS)))
                        for server_id, rolled_up_to in states
                    ],
                ),
                (Tier.HOUR, [(server_id, cutoffs.hour_before_ms) for server_id, _ in states]),
            ]
            left = max_rows
            for tier, cutoffs_by_server in plans:
                table = TABLES[tier]
                time = "time_ms" if tier is Tier.RAW else "bucket_ms"
                for server_id, before in cutoffs_by_server:
                    if left <= 0:
                        return max_rows
                    # The first row beyond this batch, if any: delete strictly before it.
                    edge = connection.execute(
                        f"SELECT {time} FROM {table} WHERE server_id = ? AND {time} < ? ORDER BY {time} LIMIT 1 OFFSET ?",
                        (server_id, before, left),
                    ).fetchone()
                    left -= connection.execute(
                        f"DELETE FROM {table} WHERE server_id = ? AND {time} < ?",
                        (server_id, before if edge is None else edge[0]),
                    ).rowcount
            return max_rows - left

        return await self._write(delete)

    async def reclaim_space(self, *, max_pages: int) -> int:
        def vacuum(connection: sqlite3.Connection) -> int:
            if connection.execute("PRAGMA freelist_count").fetchone()[0]:
                # Through execute() it frees a single page (one step, and no row to fetch);
                # executescript() steps it to the end. No transaction is open here.
                connection.executescript(f"PRAGMA incremental_vacuum({int(max_pages)});")
            left: int = connection.execute("PRAGMA freelist_count").fetchone()[0]
            return left

        return await self._run(vacuum)

    async def size_bytes(self) -> int:
        def measure(connection: sqlite3.Connection) -> int:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
            return int(pages * page_size)

        size = await self._run(measure)
        for suffix in ("-wal", "-shm"):
            try:
                size += os.stat(f"{self._path}{suffix}").st_size
            except FileNotFoundError:
                pass
        return size

    async def history(
        self, server_id: int, tier: Tier, from_ms: int, to_ms: int, step_ms: int, *, maximum: bool = False
    ) -> list[BucketAggregate]:
        if step_ms % tier.width_ms:
            raise ValueError(f"step_ms {step_ms} is not a multiple of the {tier} width")

        def read(connection: sqlite3.Connection) -> list[BucketAggregate]:
            state = connection.execute(
                "SELECT rolled_up_to_ms FROM rollup_state WHERE server_id = ?", (server_id,)
            ).fetchone()
            return merge_summaries(
                step_ms,
                (
                    connection.execute(
                        _HISTORY[source, maximum], {"sid": server_id, "lo": lo, "hi": hi, "step": step_ms}
                    ).fetchall()
                    for source, lo, hi in stitch(tier, from_ms, to_ms, state[0] if state else None)
                ),
                maximum=maximum,
            )

        return await self._read(read)

    # --- bulk transfer (db copy) ------------------------------------------------------------
    async def id_high_water(self) -> IdHighWater:
        """The highest ids (users, servers, status pages, alerting) ever handed out (deleted ones included)."""

        def read(connection: sqlite3.Connection) -> IdHighWater:
            values = {}
            for table in ("users", "servers", "status_pages", *ALERT_ID_TABLES):
                # AUTOINCREMENT keeps the highest id ever used in sqlite_sequence.
                issued = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
                highest = connection.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
                values[table] = max(issued[0] if issued else 0, highest or 0)
            return IdHighWater(
                users=values["users"],
                servers=values["servers"],
                status_pages=values["status_pages"],
                alerts={table: values[table] for table in ALERT_ID_TABLES if values[table] > 0},
            )

        return await self._run(read)

    async def advance_ids(self, high_water: IdHighWater) -> None:
        """Make the next new ids (users, servers, status pages, alerting) larger than `high_water` (never smaller than now)."""

        def advance(connection: sqlite3.Connection) -> None:
            for table, value in (
                ("users", high_water.users),
                ("servers", high_water.servers),
                ("status_pages", high_water.status_pages),
                *high_water.alerts.items(),
            ):
                updated = connection.execute(
                    "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (value, table)
                ).rowcount
                if not updated and value > 0:
                    connection.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, value))

        await self._write(advance)


def _note_late_samples(connection: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Note each minute that got a sample below its server's rollup watermark (see rollup.py).

    Rows are `_INSERT_SAMPLE` parameters: (server_id, time_ms, ...). Re-sent duplicates are
    noted too; recomputing their minute changes nothing. Deleted servers have no state.
    """
    # The common case, live samples newer than every watermark, costs one small read.
    highest = connection.execute("SELECT max(rolled_up_to_ms) FROM rollup_state").fetchone()[0]
    if highest is None or min(row[1] for row in rows) >= highest:
        return
    server_ids = sorted({row[0] for row in rows})
    watermarks: dict[int, int] = {}
    for start in range(0, len(server_ids), _IN_CHUNK):
        chunk = server_ids[start : start + _IN_CHUNK]
        watermarks.update(
            connection.execute(
                f"SELECT server_id, rolled_up_to_ms FROM rollup_state WHERE server_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        )
    late = {
        (row[0], floor_to(row[1], MINUTE_MS)) for row in rows if row[0] in watermarks and row[1] < watermarks[row[0]]
    }
    if late:
        connection.executemany("INSERT OR IGNORE INTO rollup_late (server_id, bucket_ms) VALUES (?, ?)", sorted(late))


# Extended result codes of a unique key (or primary key) that is taken.
_TAKEN = frozenset((sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY))


def _storage_error(exc: sqlite3.Error) -> StorageError:
    """The storage error standing for `exc`: no sqlite3 exception leaves this module."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code in _TAKEN:
        return AlreadyExists(f"SQLite: {exc}")
    # SQLITE_FULL: the disk, or PRAGMA max_page_count, leaves no room; retrying soon won't help.
    return (StorageFull if code == sqlite3.SQLITE_FULL else StorageError)(f"SQLite: {exc}")


def _busy_timeout_ms(timeout_seconds: float) -> int:
    return max(1, round(timeout_seconds * 1000))


def _connect(path: Path, timeout_seconds: float) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(timeout_seconds)}")
    # Only takes effect before the first table exists: lets retention give pages back to the
    # file system with PRAGMA incremental_vacuum instead of a full VACUUM.
    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
    connection.execute("PRAGMA journal_mode = WAL")
    # After each checkpoint the WAL file is cut back to this size, so it cannot stay huge.
    connection.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    _migrate(connection)
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StorageError(
            f"the database schema is version {version}, newer than this monitord understands "
            f"({len(MIGRATIONS)}); upgrade monitord"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        connection.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


@asynccontextmanager
async def open_sqlite_storage(path: Path, *, timeout_seconds: float = 5.0) -> AsyncIterator[SqliteStorage]:
    """Open (creating and migrating as needed) the SQLite database at `path`.

    A call waits at most `timeout_seconds` for another process's lock, then fails with
    StorageError. (The deadline bounds waiting, the one way SQLite stalls for long: the work of
    a call is bounded by its batch size, and a disk that hangs cannot be interrupted at all.)

    The connection is closed when the context exits. Raises StorageError when the file cannot
    be opened or its schema is newer than this version understands.
    """
    path.parent.mkdir(parents=True, exist_ok=True)

    def connect() -> sqlite3.Connection:
        try:
            return _connect(path, timeout_seconds)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {path}: {exc}") from exc

    def connect_reader() -> sqlite3.Connection:
        try:
            reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            reader.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(timeout_seconds)}")
            reader.execute("PRAGMA query_only = ON")
            return reader
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {path}: {exc}") from exc

    connection = await trio.to_thread.run_sync(connect)
    storage: SqliteStorage | None = None
    try:
        reader = await trio.to_thread.run_sync(connect_reader)
        storage = SqliteStorage(connection, reader, path)
        try:
            yield storage
        finally:
            with trio.CancelScope(shield=True):
                await storage.close_reader()
    finally:
        with trio.CancelScope(shield=True):
            if storage is None:
                await trio.to_thread.run_sync(connection.close)
            else:
                await storage.close_writer()
