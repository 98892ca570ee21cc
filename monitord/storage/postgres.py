"""The PostgreSQL backend: asyncpg running under trio through trio-asyncio.

The asyncio world stays inside this module. `open_postgres_storage` owns a trio-asyncio loop
for as long as the storage is open, hidden from the rest of the trio run; every storage
call crosses into asyncio exactly once, as one coroutine that takes a pooled connection, does
its work and gives the connection back. trio code never sees an asyncpg object or exception.

Every call has a deadline (`database.timeout_seconds`): a server that stops answering without
closing the connection makes calls fail with StorageError, like one that is down, instead of
stalling their callers. Cancellation from trio (the deadline, or the caller's own) cancels that
coroutine: asyncpg asks the server to cancel the running query, and the pool waits (at most
RELEASE_TIMEOUT_SECONDS, in the background, so the caller's deadline holds) until the
connection is idle and reset before handing it out again; a connection that cannot be brought
back is closed. So a cancelled call never leaves a half-used connection in the pool.

Samples are written with binary COPY into a per-connection temporary table and one
`INSERT ... SELECT ... ON CONFLICT DO NOTHING`: bench/postgres_insert_methods.py measured it
against executemany and unnest() arrays.

Rollups (monitord/storage/rollup.py) and ingest meet on the servers' rows: `insert_samples`
locks them before it stores anything, and every rollup transaction locks the rows of the
servers it recomputes before it reads their samples (both in id order, so they cannot
deadlock). So a rollup either sees a batch whole, or the batch sees the rollup's new watermark
and notes its late samples; no sample can slip between the two.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import trio
import trio_asyncio

from monitord.models import INTEGER_METRIC_FIELDS, MetricsSample
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
from monitord.storage.postgres_schema import MIGRATION_LOCK_KEY, MIGRATIONS, SCHEMA_TABLE
from monitord.storage.replication import Notification
from monitord.storage.rollup import (
    TABLES,
    floor_to,
    history_sql,
    hours_completed,
    merge_summaries,
    rollup_sql,
    stitch,
)
from monitord.storage.rows import SAMPLE_COLUMNS, Row, sample_from_row, sample_values
from monitord.storage.shared import SharedStatements, Step
from monitord.storage.transfer import IdHighWater

T = TypeVar("T")
Work = Callable[[asyncpg.Connection], Coroutine[Any, Any, T]]
log = logging.getLogger("monitord.storage")

# How long a connection may take to become idle again after its caller was cancelled (the
# server has to acknowledge the cancel request) before the pool closes it instead.
RELEASE_TIMEOUT_SECONDS = 5.0
POOL_CLOSE_TIMEOUT_SECONDS = 5.0
# Start-up connection attempts: the first retry waits this long, each later one twice as long.
FIRST_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 5.0
# One attempt may take at most this long (a host that drops packets never answers at all).
ATTEMPT_TIMEOUT_SECONDS = 10.0

_INCOMING_COLUMNS = ("server_id", *SAMPLE_COLUMNS)
_SAMPLES = ", ".join(SAMPLE_COLUMNS)

# COPY cannot skip duplicates, so samples are COPYed here first and moved with INSERT ... SELECT
# ... ON CONFLICT DO NOTHING. The table lives in each pooled connection's session (created when
# the pool opens the connection) and empties itself at commit. Its columns come from the code,
# not from `metrics`, so creating it never depends on the migration state of the database.
_INCOMING = "monitord_incoming_samples"
_CREATE_INCOMING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_INCOMING} (server_id BIGINT, "
    + ", ".join(
        f"{name} {'BIGINT' if name == 'time_ms' or name in INTEGER_METRIC_FIELDS else 'DOUBLE PRECISION'}"
        for name in SAMPLE_COLUMNS
    )
    + ") ON COMMIT DELETE ROWS"
)
# Moves the COPYed samples into `metrics` and, in the same statement, notes the minutes that
# got a new sample below their server's rollup watermark (a backfill; see rollup.py).
_MOVE_INCOMING = (
    f"WITH moved AS (INSERT INTO metrics ({', '.join(_INCOMING_COLUMNS)}) "
    f"SELECT {', '.join(_INCOMING_COLUMNS)} FROM {_INCOMING} ON CONFLICT DO NOTHING RETURNING server_id, time_ms), "
    "late AS (INSERT INTO rollup_late (server_id, bucket_ms) "
    f"SELECT DISTINCT moved.server_id, moved.time_ms / {MINUTE_MS} * {MINUTE_MS} FROM moved "
    "JOIN rollup_state AS r ON r.server_id = moved.server_id WHERE moved.time_ms < r.rolled_up_to_ms "
    "ON CONFLICT DO NOTHING) "
    "SELECT count(*) FROM moved"
)
_ROLLUP = {tier: rollup_sql(tier, sid="$1", lo="$2", hi="$3") for tier in (Tier.MINUTE, Tier.HOUR)}
_HISTORY = {
    (tier, maximum): history_sql(tier, sid="$1", lo="$2", hi="$3", step="$4::bigint", maximum=maximum)
    for tier in Tier
    for maximum in (False, True)
}
# A server seen for the first time starts with its watermark at 0: its first roll_up reads from
# its oldest sample on. (Starting at its oldest sample would race with a backfill in flight;
# the watermark only moves while its server row is locked.)
_START_ROLLUP_STATE = (
    "INSERT INTO rollup_state (server_id, rolled_up_to_ms) SELECT id, 0 FROM servers AS s "
    "WHERE NOT EXISTS (SELECT 1 FROM rollup_state WHERE server_id = s.id)"
)
# For the next few servers behind `until` ($1), in id order after $3: the watermark, and how
# many of its samples wait (counting at most $2) with the newest of those counted.
_PROBE_BEHIND = (
    "SELECT r.server_id, r.rolled_up_to_ms, p.count, p.newest FROM rollup_state AS r CROSS JOIN LATERAL ("
    "SELECT count(*) AS count, max(time_ms) AS newest FROM (SELECT time_ms FROM metrics WHERE server_id = r.server_id "
    "AND time_ms >= r.rolled_up_to_ms AND time_ms < $1 ORDER BY time_ms LIMIT $2) AS waiting) AS p "
    "WHERE r.rolled_up_to_ms < $1 AND r.server_id > $3 ORDER BY r.server_id LIMIT $4"
)
_PROBE_PAGE_SERVERS = 64
_LOCK_SERVERS = "SELECT id FROM servers WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"
# Up to $2 rows due in one tier, over all servers (oldest first per server), in one statement.
_DELETE_DUE = {
    tier: (
        f"WITH due AS (SELECT v.server_id, v.moment FROM rollup_state AS r CROSS JOIN LATERAL ("
        f"SELECT server_id, {time} AS moment FROM {TABLES[tier]} WHERE server_id = r.server_id AND {time} < {before} "
        f"ORDER BY {time} LIMIT $2) AS v LIMIT $2) "
        f"DELETE FROM {TABLES[tier]} AS t USING due WHERE t.server_id = due.server_id AND t.{time} = due.moment"
    )
    for tier, time, before in (
        # Nothing is deleted before it is rolled up into the next tier.
        (Tier.RAW, "time_ms", "LEAST($1, r.rolled_up_to_ms)"),
        (Tier.MINUTE, "bucket_ms", f"LEAST($1, r.rolled_up_to_ms / {HOUR_MS} * {HOUR_MS})"),
        (Tier.HOUR, "bucket_ms", "$1"),
    )
}


# --- describing the database without its secrets ----------------------------------------------
class PostgresTarget:
    """Where a postgresql:// URL points, for messages: host, port, database and user, no password."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.user = unquote(parts.username or "") or query.get("user", [""])[0] or "(default user)"
        host = parts.netloc.rpartition("@")[2] or query.get("host", ["localhost"])[0]
        self.host = host if re.search(r":\d+$|,", host) else f"{host}:{query.get('port', ['5432'])[0]}"
        self.database = unquote(parts.path.lstrip("/")) or query.get("dbname", [""])[0] or self.user
        secrets_in_url = [parts.password or "", *query.get("password", []), *query.get("sslpassword", [])]
        # A user's own application_name in the URL wins over ours.
        self.server_settings = {} if "application_name" in query else {"application_name": "monitord"}
        self._secrets = sorted({s for s in secrets_in_url + [unquote(s) for s in secrets_in_url] if s}, key=len)[::-1]

    def __str__(self) -> str:
        return f'{self.host} (database "{self.database}", user "{self.user}")'

    def scrub(self, text: str) -> str:
        """`text` with every form of the URL's password replaced, on one line."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())


def describe_error(exc: BaseException, target: PostgresTarget) -> str:
    """One line, no secrets: why talking to PostgreSQL failed, in the operator's words."""
    if isinstance(exc, asyncpg.InvalidPasswordError):
        reason = f"authentication failed: {exc}"
    elif isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        reason = f"authentication failed: {exc}"  # e.g. role "x" does not exist, no pg_hba entry
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        reason = f"{exc} (create it, or fix the database name in database.url)"
    elif isinstance(exc, asyncpg.CannotConnectNowError):
        reason = f"the server is not accepting connections yet: {exc}"
    elif isinstance(exc, asyncpg.TooManyConnectionsError):
        reason = f"too many connections: {exc}"
    elif isinstance(exc, asyncpg.PostgresError):
        reason = str(exc) or type(exc).__name__
    elif isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and exc.errno is None and "[Errno 111]" in str(exc)
    ):
        reason = "connection refused (is PostgreSQL running and listening on that address?)"
    elif isinstance(exc, socket.gaierror):
        reason = f"host name not found ({exc.strerror})"
    elif isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        reason = "no answer (timed out)"
    elif isinstance(exc, ssl.SSLError):
        reason = f"TLS failed: {exc.reason or exc}"
    elif isinstance(exc, (asyncpg.ConnectionDoesNotExistError, asyncpg.InternalClientError)):
        reason = f"the connection to the server broke ({exc})"
    elif isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
    else:
        reason = str(exc) or type(exc).__name__
    return target.scrub(reason)


# Failures of the database or of the way to it, as opposed to bugs in this module.
# asyncpg's InternalClientError shows up when the server drops a connection at an awkward moment.
_DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    asyncio.TimeoutError,
    ssl.SSLError,
)


# --- rows -------------------------------------------------------------------------------------


def _status_count(status: str) -> int:
    """The row count at the end of a command tag such as "INSERT 0 12" or "DELETE 1"."""
    return int(status.rsplit(" ", 1)[1])


class PostgresStorage(AlertQueries):
    """Storage on an asyncpg pool; create it with `open_postgres_storage`."""

    _sql = SharedStatements(lambda number: f"${number}")
    _alert_sql = AlertStatements(lambda number: f"${number}")

    def __init__(
        self,
        loop: trio_asyncio.TrioEventLoop,
        pool: asyncpg.Pool,
        target: PostgresTarget,
        timeout_seconds: float,
        *,
        url: str = "",
        schema: str = "public",
    ) -> None:
        self._loop = loop
        self._pool = pool
        self._target = target
        self._timeout_seconds = timeout_seconds
        self._url = url
        # The replica channels (storage/replication.py), one pair per schema.
        suffix = "" if schema == "public" else f"_{schema}"
        self.live_channel = f"monitord_live{suffix}"
        self.control_channel = f"monitord_control{suffix}"
        # Releases still waiting for a cancelled query to end (asyncio keeps only weak references).
        self._releasing: set[asyncio.Future[None]] = set()

    async def _run(self, work: Work[T]) -> T:
        """Run `work` on a pooled connection, in asyncio, within the deadline; translate
        database failures (a missed deadline is one) into StorageError."""

        async def on_a_connection() -> T:
            proxy = await self._pool.acquire()
            connection = cast(asyncpg.Connection, proxy)  # the pool's proxy behaves as the Connection it wraps
            try:
                result = await work(connection)
            except BaseException:
                # Maybe cancelled mid-query, maybe by a server that does not answer at all:
                # release in the background, so the caller is not held up by the wait for the
                # cancelled query to end (or for the connection to be closed, after the timeout).
                releasing = asyncio.ensure_future(self._pool.release(proxy, timeout=RELEASE_TIMEOUT_SECONDS))
                self._releasing.add(releasing)
                releasing.add_done_callback(self._released)
                raise
            await self._pool.release(proxy, timeout=RELEASE_TIMEOUT_SECONDS)
            return result

        try:
            with trio.fail_after(self._timeout_seconds):
                result: T = await self._loop.run_aio_coroutine(on_a_connection())
                return result
        except trio.TooSlowError:
            raise StorageError(
                f"PostgreSQL at {self._target.host}: no answer within {self._timeout_seconds:g} s "
                "(database.timeout_seconds)"
            ) from None
        except _DATABASE_ERRORS as exc:
            # No asyncpg exception leaves this module. SQLSTATE 23505: a unique key is taken;
            # 53100 (disk_full): no room until an operator frees some.
            error: type[StorageError] = StorageError
            if isinstance(exc, asyncpg.UniqueViolationError):
                error = AlreadyExists
            elif isinstance(exc, asyncpg.DiskFullError):
                error = StorageFull
            raise error(f"PostgreSQL at {self._target.host}: {describe_error(exc, self._target)}") from exc

    def _released(self, releasing: asyncio.Future[None]) -> None:
        """A background release ended. One that failed (the connection did not become idle in
        time) has had its connection closed by asyncpg; its exception is read here, since an
        unread one would reach trio through trio-asyncio's exception handler and stop the daemon
        (seen under heavy load with several replicas)."""
        self._releasing.discard(releasing)
        if not releasing.cancelled() and releasing.exception() is not None:
            log.debug("closed a PostgreSQL connection that did not become idle: %r", releasing.exception())

    async def _write(self, work: Work[T]) -> T:
        """Run `work` in one transaction, committed (durably) before this returns."""

        async def in_transaction(connection: asyncpg.Connection) -> T:
            async with connection.transaction():
                return await work(connection)

        return await self._run(in_transaction)

    # --- the primitives of the shared statements (users, servers, bulk transfer) -----------------
    async def _query(self, sql: str, *args: object) -> list[Row]:
        return list(await self._run(lambda c: c.fetch(sql, *args)))

    async def _query_value(self, sql: str, *args: object) -> Any:
        return await self._run(lambda c: c.fetchval(sql, *args))

    async def _change(self, sql: str, *args: object) -> int:
        return _status_count(await self._write(lambda c: c.execute(sql, *args)))

    async def _change_returning(self, sql: str, *args: object) -> list[Row]:
        return list(await self._write(lambda c: c.fetch(sql, *args)))

    async def _change_in_steps(self, steps: Sequence[Step]) -> None:
        async def change(connection: asyncpg.Connection) -> None:
            for sql, rows in steps:
                if rows:
                    await connection.executemany(sql, rows)

        await self._write(change)

    # --- metrics -----------------------------------------------------------------------------
    async def insert_samples(self, batch: Sequence[tuple[int, MetricsSample]], *, notify: Sequence[str] = ()) -> int:
        if not batch:
            return 0
        # Within one batch the first sample at a given moment wins, as with SQLite's INSERT OR
        # IGNORE; deduplicating here keeps the outcome independent of PostgreSQL's row order.
        rows: dict[tuple[int, int], tuple[Any, ...]] = {}
        newest: dict[int, int] = {}
        for server_id, sample in batch:
            values = sample_values(sample)
            rows.setdefault((server_id, values[0]), (server_id, *values))
            if values[0] > newest.get(server_id, values[0] - 1):
                newest[server_id] = values[0]
        server_ids = sorted(newest)

        async def insert(connection: asyncpg.Connection) -> int:
            # Locking the servers first (in id order, so concurrent batches cannot deadlock)
            # keeps a concurrent delete_server from removing one between the check and the
            # insert: samples of deleted servers are skipped, never a foreign-key error. NO KEY
            # UPDATE is the lock the last-seen update below takes anyway; unlike FOR UPDATE it
            # does not wait for other transactions' foreign-key checks on the same server.
            live = {
                record["id"]
                for record in await connection.fetch(
                    "SELECT id FROM servers WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE", server_ids
                )
            }
            if not live:
                return 0
            await connection.copy_records_to_table(
                _INCOMING, records=[row for row in rows.values() if row[0] in live], columns=_INCOMING_COLUMNS
            )
            inserted: int = await connection.fetchval(_MOVE_INCOMING)
            live_ids = [server_id for server_id in server_ids if server_id in live]
            await connection.execute(
                "UPDATE servers AS s SET last_seen_ms = GREATEST(s.last_seen_ms, v.moment) "
                "FROM unnest($1::bigint[], $2::bigint[]) AS v(id, moment) WHERE s.id = v.id",
                live_ids,
                [newest[server_id] for server_id in live_ids],
            )
            if notify:  # sent at commit, and only if it commits (issue 19)
                await connection.execute(
                    "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", self.live_channel, list(notify)
                )
            return inserted

        return await self._write(insert)

    async def latest_samples(self) -> dict[int, MetricsSample]:
        # One index probe per server (LATERAL ... LIMIT 1) in one round trip.
        rows = await self._run(
            lambda c: c.fetch(
                f"SELECT s.id AS server_id, m.* FROM servers AS s CROSS JOIN LATERAL ("
                f"SELECT {_SAMPLES} FROM metrics WHERE server_id = s.id ORDER BY time_ms DESC LIMIT 1) AS m"
            )
        )
        return {row["server_id"]: sample_from_row(row) for row in rows}

    async def query_samples(self, server_id: int, from_ms: int, to_ms: int) -> list[MetricsSample]:
        rows = await self._run(
            lambda c: c.fetch(
                f"SELECT {_SAMPLES} FROM metrics WHERE server_id = $1 AND time_ms >= $2 AND time_ms < $3 "
                "ORDER BY time_ms",
                server_id,
                from_ms,
                to_ms,
            )
        )
        return [sample_from_row(row) for row in rows]

    # --- history: rollups, retention, ranged queries ----------------------------------------
    async def roll_up(self, until_ms: int, *, max_samples: int) -> RollupProgress:
        async def roll(connection: asyncpg.Connection) -> RollupProgress:
            await connection.execute(_START_ROLLUP_STATE)
            plan: list[tuple[int, int, int]] = []  # (server, from, to)
            read, after, more, done = 0, 0, False, False
            while not done:
                page = await connection.fetch(
                    _PROBE_BEHIND, until_ms, max_samples - read + 1, after, _PROBE_PAGE_SERVERS
                )
                for row in page:
                    server_id, start, count = row["server_id"], row["rolled_up_to_ms"], row["count"]
                    budget = max_samples - read
                    end = until_ms
                    if budget <= 0:
                        more = done = True
                        break
                    if count > budget:
                        more = done = True
                        # Stop before the minute of the first sample over budget; but a single
                        # minute is never split, so one over budget on its own is taken whole.
                        edge = await connection.fetchval(
                            "SELECT time_ms FROM metrics WHERE server_id = $1 AND time_ms >= $2 AND time_ms < $3 "
                            "ORDER BY time_ms OFFSET $4 LIMIT 1",
                            server_id,
                            start,
                            until_ms,
                            budget,
                        )
                        end = floor_to(edge, MINUTE_MS)
                        if end <= start:
                            if read:
                                break
                            end = start + MINUTE_MS
                        count = await connection.fetchval(
                            "SELECT count(*) FROM metrics WHERE server_id = $1 AND time_ms >= $2 AND time_ms < $3",
                            server_id,
                            start,
                            end,
                        )
                    plan.append((server_id, start, end))
                    read += count
                    if done:
                        break
                else:
                    done = len(page) < _PROBE_PAGE_SERVERS
                    after = page[-1]["server_id"] if page else after
            caught_up = not more
            if not plan:
                return RollupProgress(samples=0, caught_up=caught_up)
            # Locked only now, and only those planned: ingest waits for no one else.
            await connection.execute(_LOCK_SERVERS, [server_id for server_id, _, _ in plan])
            await connection.executemany(_ROLLUP[Tier.MINUTE], plan)
            hours = [(server_id, *hours_completed(start, end)) for server_id, start, end in plan]
            await connection.executemany(_ROLLUP[Tier.HOUR], [h for h in hours if h[2] > h[1]])
            await connection.execute(
                "UPDATE rollup_state AS r SET rolled_up_to_ms = p.moment "
                "FROM unnest($1::bigint[], $2::bigint[]) AS p(server_id, moment) WHERE r.server_id = p.server_id",
                [server_id for server_id, _, _ in plan],
                [end for _, _, end in plan],
            )
            return RollupProgress(samples=read, caught_up=caught_up)

        return await self._write(roll)

    async def roll_up_late(self, *, max_buckets: int) -> int:
        async def recompute(connection: asyncpg.Connection) -> int:
            server_ids = [
                row["server_id"]
                for row in await connection.fetch(
                    "SELECT DISTINCT server_id FROM rollup_late ORDER BY server_id LIMIT $1", max_buckets
                )
            ]
            if not server_ids:
                return 0
            # Locked before the samples are read: a batch of theirs now in flight is either
            # seen whole here, or notes its late samples again after this commits.
            await connection.execute(_LOCK_SERVERS, server_ids)
            marks = await connection.fetch(
                "SELECT l.server_id, l.bucket_ms, r.rolled_up_to_ms, r.raw_deleted_before_ms FROM rollup_late AS l "
                "LEFT JOIN rollup_state AS r ON r.server_id = l.server_id WHERE l.server_id = ANY($1::bigint[]) "
                "ORDER BY l.server_id, l.bucket_ms LIMIT $2",
                server_ids,
                max_buckets,
            )
            minutes: list[tuple[int, int, int]] = []
            hours: set[tuple[int, int, int]] = set()
            for server_id, minute, rolled_up_to, raw_deleted_before in marks:
                if rolled_up_to is None or minute < raw_deleted_before:
                    continue  # part of its raw samples are gone: the rollup stays as it was
                minutes.append((server_id, minute, minute + MINUTE_MS))
                hour = floor_to(minute, HOUR_MS)
                if hour + HOUR_MS <= rolled_up_to:
                    hours.add((server_id, hour, hour + HOUR_MS))
            await connection.executemany(_ROLLUP[Tier.MINUTE], minutes)
            await connection.executemany(_ROLLUP[Tier.HOUR], sorted(hours))
            await connection.execute(
                "DELETE FROM rollup_late AS l USING unnest($1::bigint[], $2::bigint[]) AS d(server_id, bucket_ms) "
                "WHERE l.server_id = d.server_id AND l.bucket_ms = d.bucket_ms",
                [mark["server_id"] for mark in marks],
                [mark["bucket_ms"] for mark in marks],
            )
            return len(marks)

        return await self._write(recompute)

    async def delete_expired(self, cutoffs: RetentionCutoffs, *, max_rows: int) -> int:
        # Whole minutes of raw samples and whole hours of minutes go at once, so that a late
        # sample never meets half a bucket (see rollup.py).
        before = {
            Tier.RAW: floor_to(cutoffs.raw_before_ms, MINUTE_MS),
            Tier.MINUTE: floor_to(cutoffs.minute_before_ms, HOUR_MS),
            Tier.HOUR: cutoffs.hour_before_ms,
        }

        async def delete(connection: asyncpg.Connection) -> int:
            # Late samples below this can no longer be rolled up: say so before any goes.
            await connection.execute(
                "UPDATE rollup_state SET raw_deleted_before_ms = LEAST($1, rolled_up_to_ms) "
                "WHERE raw_deleted_before_ms < LEAST($1, rolled_up_to_ms)",
                before[Tier.RAW],
            )
            left = max_rows
            for tier in (Tier.RAW, Tier.MINUTE, Tier.HOUR):
                if left <= 0:
                    break
                left -= _status_count(await connection.execute(_DELETE_DUE[tier], before[tier], left))
            return max_rows - left

        return await self._write(delete)

    async def reclaim_space(self, *, max_pages: int) -> int:
        # (Auto)vacuum makes the space of deleted rows reusable; files do not shrink, nor need to.
        return 0

    async def size_bytes(self) -> int:
        size: int = await self._run(
            lambda c: c.fetchval(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class AS c "
                "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        )
        return size

    async def history(
        self, server_id: int, tier: Tier, from_ms: int, to_ms: int, step_ms: int, *, maximum: bool = False
    ) -> list[BucketAggregate]:
        if step_ms % tier.width_ms:
            raise ValueError(f"step_ms {step_ms} is not a multiple of the {tier} width")

        async def read(connection: asyncpg.Connection) -> list[BucketAggregate]:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                rolled_up_to = await connection.fetchval(
                    "SELECT rolled_up_to_ms FROM rollup_state WHERE server_id = $1", server_id
                )
                pieces = [
                    await connection.fetch(_HISTORY[source, maximum], server_id, lo, hi, step_ms)
                    for source, lo, hi in stitch(tier, from_ms, to_ms, rolled_up_to)
                ]
            return merge_summaries(step_ms, pieces, maximum=maximum)

        return await self._run(read)

    # --- replicas (storage/replication.py) -----------------------------------------------------
    def replication(self) -> PostgresStorage:
        return self

    async def notify(self, channel: str, payload: str) -> None:
        await self._run(lambda c: c.execute("SELECT pg_notify($1, $2)", channel, payload))

    @asynccontextmanager
    async def listen(self, buffer: int, name: str) -> AsyncIterator[PostgresListener]:
        """A dedicated connection (a pooled one would `UNLISTEN *` on release) that LISTENs on
        both channels, closed on exit; `name` is its application_name (unless the URL sets one).
        Raises StorageError when it cannot be opened."""
        settings = {**self._target.server_settings}
        if settings:
            settings["application_name"] = name
        try:
            with trio.fail_after(self._timeout_seconds):
                connection: asyncpg.Connection = await self._loop.run_aio_coroutine(
                    asyncpg.connect(self._url, server_settings=settings)
                )
        except trio.TooSlowError:
            raise StorageError(
                f"PostgreSQL at {self._target.host}: no answer within {self._timeout_seconds:g} s"
            ) from None
        except _DATABASE_ERRORS as exc:
            raise StorageError(f"PostgreSQL at {self._target.host}: {describe_error(exc, self._target)}") from None
        listener = PostgresListener(self, connection, buffer)
        try:
            await listener._call(lambda: connection.add_listener(self.live_channel, listener._received))
            await listener._call(lambda: connection.add_listener(self.control_channel, listener._received))
            connection.add_termination_listener(listener._terminated)
            yield listener
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(POOL_CLOSE_TIMEOUT_SECONDS) as timeout:
                    try:
                        await self._loop.run_aio_coroutine(connection.close(timeout=POOL_CLOSE_TIMEOUT_SECONDS))
                    except _DATABASE_ERRORS:
                        connection.terminate()
                if timeout.cancelled_caught:
                    connection.terminate()

    # --- bulk transfer (db copy) ------------------------------------------------------------
    async def id_high_water(self) -> IdHighWater:
        """The highest ids (users, servers, status pages, alerting) ever handed out (deleted ones included)."""

        async def read(connection: asyncpg.Connection) -> IdHighWater:
            values = {}
            for table in ("users", "servers", "status_pages", *ALERT_ID_TABLES):
                issued = await connection.fetchval(
                    f"SELECT pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id'))"
                )
                highest = await connection.fetchval(f"SELECT max(id) FROM {table}")
                values[table] = max(issued or 0, highest or 0)
            return IdHighWater(
                users=values["users"],
                servers=values["servers"],
                status_pages=values["status_pages"],
                alerts={table: values[table] for table in ALERT_ID_TABLES if values[table] > 0},
            )

        return await self._run(read)

    async def advance_ids(self, high_water: IdHighWater) -> None:
        """Make the next new ids (users, servers, status pages, alerting) larger than `high_water` (never smaller than now)."""

        async def advance(connection: asyncpg.Connection) -> None:
            for table, value in (
                ("users", high_water.users),
                ("servers", high_water.servers),
                ("status_pages", high_water.status_pages),
                *high_water.alerts.items(),
            ):
                if value > 0:
                    await connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST($1::bigint, "
                        f"(SELECT coalesce(max(id), 0) FROM {table}), "
                        f"coalesce(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')), 0)))",
                        value,
                    )

        await self._write(advance)


class PostgresListener:
    """The `Listener` of storage/replication.py on one dedicated asyncpg connection.

    asyncpg calls `_received` and `_terminated` from the trio-asyncio loop, which runs on the
    trio thread: they may use trio's non-blocking calls.
    """

    def __init__(self, storage: PostgresStorage, connection: asyncpg.Connection, buffer: int) -> None:
        self._storage = storage
        self._connection = connection
        self._send, self.notifications = trio.open_memory_channel[Notification](buffer)
        self.overflowed = False
        self.lost = trio.Event()

    def _received(self, _connection: object, _pid: int, channel: str, payload: object) -> None:
        try:
            self._send.send_nowait(Notification(channel, str(payload)))
        except trio.WouldBlock:
            self.overflowed = True  # the receiver resyncs from the tables

    def _terminated(self, _connection: object) -> None:
        self.lost.set()

    async def _call(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        storage = self._storage
        try:
            with trio.fail_after(storage._timeout_seconds):
                result: T = await storage._loop.run_aio_coroutine(work())
                return result
        except trio.TooSlowError:
            self.lost.set()
            raise StorageError(
                f"PostgreSQL at {storage._target.host}: no answer within {storage._timeout_seconds:g} s"
            ) from None
        except _DATABASE_ERRORS as exc:
            self.lost.set()
            raise StorageError(
                f"PostgreSQL at {storage._target.host}: {describe_error(exc, storage._target)}"
            ) from None

    async def heartbeat(self) -> None:
        await self._call(lambda: self._connection.fetchval("SELECT 1"))

    async def try_lock(self, key: int) -> bool:
        held: bool = await self._call(lambda: self._connection.fetchval("SELECT pg_try_advisory_lock($1)", key))
        return held


# --- opening ----------------------------------------------------------------------------------
@asynccontextmanager
async def _asyncio_loop() -> AsyncIterator[trio_asyncio.TrioEventLoop]:
    """A trio-asyncio loop for this module alone, running until the context exits.

    open_loop also makes the loop what `asyncio.get_running_loop()` returns in every trio task
    started inside it, and libraries that check for a running asyncio loop then take their
    asyncio path from trio code (quart's sync-iterable response bodies await an asyncio Future
    and crash the request). So the body runs with the loop hidden again, exactly as without
    PostgreSQL. This module never needs it visible: it passes the loop explicitly, and asyncio
    code runs in the loop's own runner task, which still sees it.
    """
    sole: BaseException | None = None
    try:
        async with trio_asyncio.open_loop() as loop:
            hidden = trio_asyncio.current_loop.set(None)
            try:
                yield loop
            finally:
                trio_asyncio.current_loop.reset(hidden)
    except BaseExceptionGroup as group:
        # open_loop runs its body inside two nurseries, which wrap whatever the body raises.
        # Give the caller back the one exception it raised, as if no loop had been there.
        leaves = list(_leaves(group))
        if len(leaves) != 1:
            raise
        sole = leaves[0]
    if sole is not None:
        raise sole  # outside the except clause, so the group does not become its context


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


async def _terminate(pool: asyncpg.Pool) -> None:
    pool.terminate()


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.execute(_CREATE_INCOMING)


async def _migrate(connection: asyncpg.Connection) -> None:
    async with connection.transaction():
        # Several daemons (or a daemon and the CLI) may start at once: one migrates, the
        # others wait here and then find nothing left to do.
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute(SCHEMA_TABLE)
        version = await connection.fetchval("SELECT coalesce(max(version), 0) FROM monitord_schema")
        if version > len(MIGRATIONS):
            raise StorageError(
                f"the database schema is version {version}, newer than this monitord understands "
                f"({len(MIGRATIONS)}); upgrade monitord"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await connection.execute(script)
            await connection.execute("INSERT INTO monitord_schema (version) VALUES ($1)", number)
            log.info("PostgreSQL schema migrated to version %d", number)


async def _connect_with_retries(
    loop: trio_asyncio.TrioEventLoop, url: str, target: PostgresTarget, connect_timeout_seconds: float
) -> asyncpg.Connection:
    """Connect once, retrying with exponential backoff for up to `connect_timeout_seconds`.

    Every failure is logged as one line naming the host and the cause; the last one raises
    StorageError. Database servers start in any order with the daemon (containers, boot),
    and a missing database or role may be created moments later, so every cause is retried.
    """
    deadline = trio.current_time() + connect_timeout_seconds
    delay = FIRST_RETRY_DELAY_SECONDS
    attempts = 0
    while True:
        attempts += 1
        attempt_timeout = min(ATTEMPT_TIMEOUT_SECONDS, max(deadline - trio.current_time(), 0.1))
        try:
            with trio.fail_after(attempt_timeout):
                connection: asyncpg.Connection = await loop.run_aio_coroutine(
                    asyncpg.connect(url, server_settings=target.server_settings)
                )
                return connection
        except ValueError as exc:  # asyncpg's verdict on the URL itself: retrying cannot help
            raise StorageError(f"database.url is not a valid PostgreSQL URL: {target.scrub(str(exc))}") from None
        except trio.TooSlowError:
            reason = f"no answer within {attempt_timeout:g} s"
        except _DATABASE_ERRORS as exc:
            reason = describe_error(exc, target)
        remaining = deadline - trio.current_time()
        if remaining <= 0:
            raise StorageError(
                f"cannot connect to PostgreSQL at {target}: {reason}; gave up after {attempts} "
                f"attempt{'s' if attempts > 1 else ''} in {connect_timeout_seconds:g} s "
                "(database.connect_timeout_seconds)"
            )
        wait = min(delay, remaining)
        log.warning("cannot connect to PostgreSQL at %s: %s; retrying in %.1f s", target, reason, wait)
        await trio.sleep(wait)
        delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)


@asynccontextmanager
async def open_postgres_storage(
    url: str, *, pool_size: int = 10, connect_timeout_seconds: float = 30.0, timeout_seconds: float = 5.0
) -> AsyncIterator[PostgresStorage]:
    """Open the PostgreSQL database at `url`, migrated to the current schema; closed on exit.

    Owns a trio-asyncio loop around the whole time the storage is open (see `_asyncio_loop`).
    Retries the first connection for up to `connect_timeout_seconds` (see
    `_connect_with_retries`), then keeps a pool of up to `pool_size` connections. Every call
    then has `timeout_seconds` to finish. Raises
    StorageError with a one-line, password-free reason when the database cannot be used.
    """
    target = PostgresTarget(url)
    async with _asyncio_loop() as loop:
        connection = await _connect_with_retries(loop, url, target, connect_timeout_seconds)
        try:
            await loop.run_aio_coroutine(_migrate(connection))
            schema: str = await loop.run_aio_coroutine(connection.fetchval("SELECT current_schema()"))
        except _DATABASE_ERRORS as exc:
            raise StorageError(
                f"cannot prepare the PostgreSQL database at {target}: {describe_error(exc, target)}"
            ) from None
        finally:
            with trio.CancelScope(shield=True):
                await loop.run_aio_coroutine(connection.close(timeout=POOL_CLOSE_TIMEOUT_SECONDS))

        async def create_pool() -> asyncpg.Pool:
            # Built inside the loop: asyncpg's Pool looks up the running loop when constructed.
            return await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, init=_init_connection, server_settings=target.server_settings
            )

        try:
            pool = await loop.run_aio_coroutine(create_pool())
        except _DATABASE_ERRORS as exc:
            raise StorageError(f"cannot connect to PostgreSQL at {target}: {describe_error(exc, target)}") from None
        log.info("storage: PostgreSQL at %s, pool of up to %d connections", target, pool_size)
        try:
            yield PostgresStorage(loop, pool, target, timeout_seconds, url=url, schema=schema)
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(POOL_CLOSE_TIMEOUT_SECONDS):
                    await loop.run_aio_coroutine(pool.close())
                await loop.run_aio_coroutine(_terminate(pool))  # no-op after a clean close
