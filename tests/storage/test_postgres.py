"""PostgreSQL specifics: migrations, column types, cancellation from trio, lost connections."""

from __future__ import annotations

import pytest
import trio

from monitord.models import ms_to_datetime
from monitord.storage import StorageError
from monitord.storage.base import HOUR_MS, Tier
from monitord.storage.postgres import open_postgres_storage
from monitord.storage.postgres_schema import MIGRATIONS, SCHEMA_TABLE
from tests.postgres import SqlSession, sql_session
from tests.storage.test_contract import T0, sample

# The storage's own sessions, told apart from the test's by application_name.
STORAGE_SESSIONS = (
    "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name = 'monitord' AND pid <> pg_backend_pid()"
)


async def storage_session(other: SqlSession) -> dict[str, object]:
    """The storage's one session as pg_stat_activity sees it now."""
    # Within a transaction pg_stat_activity is a snapshot taken at first use; drop it.
    await other.execute("SELECT pg_stat_clear_snapshot()")
    (session,) = await other.fetch(STORAGE_SESSIONS)
    return session


async def wait_until_idle(other: SqlSession) -> None:
    """Poll the server until the storage's one session is idle (a cancelled query ended)."""
    with trio.fail_after(10):
        while (await storage_session(other))["state"] != "idle":
            await trio.lowlevel.checkpoint()


async def wait_until_blocked_on_a_lock(other: SqlSession) -> None:
    """Poll the server (no sleeping) until the storage's one session waits for a lock."""
    with trio.fail_after(10):
        while (await storage_session(other))["wait_event_type"] != "Lock":
            await trio.lowlevel.checkpoint()


async def test_a_new_database_is_migrated_to_the_current_version(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url):
        pass
    async with sql_session(postgres_url) as other:
        versions = [row["version"] for row in await other.fetch("SELECT version FROM monitord_schema ORDER BY 1")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


async def test_a_version_1_database_is_migrated_and_its_history_rolled_up(postgres_url: str) -> None:
    # A database from before the history tiers: its raw samples are rolled up from the oldest.
    async with sql_session(postgres_url) as other:
        await other.execute(
            f"{SCHEMA_TABLE}; {MIGRATIONS[0]}; INSERT INTO monitord_schema (version) VALUES (1); "
            "INSERT INTO servers (id, name, agent_token_hash, created_at_ms) VALUES (1, 'old', 'h', 0)"
        )
    start = T0 - T0 % HOUR_MS
    async with open_postgres_storage(postgres_url) as storage:
        await storage.insert_samples([(1, sample(start + t * 1000, cpu=float(t % 2))) for t in range(7200)])
        while not (await storage.roll_up(start + 2 * HOUR_MS, max_samples=1000)).caught_up:
            pass
        hours = await storage.history(1, Tier.HOUR, start, start + 2 * HOUR_MS, HOUR_MS)
    assert [(h.bucket_ms, h.sample_count, h.gauges[0]) for h in hours] == [
        (start, 3600, 0.5),
        (start + HOUR_MS, 3600, 0.5),
    ]


async def test_ids_and_times_are_bigint(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url):
        pass
    async with sql_session(postgres_url) as other:
        types = {
            (row["table_name"], row["column_name"]): row["data_type"]
            for row in await other.fetch(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema()"
            )
        }
    for column in [
        ("users", "id"),
        ("servers", "id"),
        ("metrics", "server_id"),
        ("metrics", "time_ms"),
        ("users", "created_at_ms"),
        ("servers", "last_seen_ms"),
        ("metrics", "network_rx_total_bytes"),
        ("metrics_1m", "bucket_ms"),
        ("metrics_1h", "memory_usage_bytes_max"),
        ("metrics_1h", "network_rx_total_bytes_last"),
        ("rollup_state", "rolled_up_to_ms"),
        ("rollup_late", "bucket_ms"),
    ]:
        assert types[column] == "bigint", column
    assert types[("metrics", "cpu_usage_percent")] == "double precision"
    assert types[("metrics_1m", "memory_usage_bytes_avg")] == "double precision"


async def test_reopening_keeps_the_data_and_migrates_nothing_twice(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url) as storage:
        await storage.create_server("kept", "h", now_ms=T0)
    async with open_postgres_storage(postgres_url) as storage:
        assert [server.name for server in await storage.list_servers()] == ["kept"]


async def test_daemons_starting_together_migrate_once(postgres_url: str) -> None:
    opened: list[int] = []

    async def open_one() -> None:
        async with open_postgres_storage(postgres_url) as storage:
            opened.append(len(await storage.list_servers()))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(open_one)
    assert opened == [0, 0, 0, 0]
    async with sql_session(postgres_url) as other:
        assert await other.fetchval("SELECT count(*) FROM monitord_schema") == len(MIGRATIONS)


async def test_a_schema_newer_than_this_version_is_refused(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url):
        pass
    async with sql_session(postgres_url) as other:
        await other.execute(f"INSERT INTO monitord_schema (version) VALUES ({len(MIGRATIONS) + 1})")
    with pytest.raises(StorageError, match="newer than this monitord understands"):
        async with open_postgres_storage(postgres_url):
            pass


async def test_a_cancelled_query_stops_on_the_server_and_its_connection_is_reused(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url, pool_size=1) as storage, sql_session(postgres_url) as other:
        await storage.ping()
        pid_before = (await storage_session(other))["pid"]
        await other.execute("BEGIN; LOCK TABLE servers IN ACCESS EXCLUSIVE MODE")
        finished = False

        async def list_servers() -> None:
            nonlocal finished
            await storage.list_servers()
            finished = True

        # A call that ignored the cancellation would wait for the lock forever: fail instead.
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(list_servers)
                await wait_until_blocked_on_a_lock(other)
                nursery.cancel_scope.cancel()
        assert not finished
        # The lock is still held: the query did not finish, the server cancels it (the caller
        # does not wait for that; the connection is released in the background).
        await wait_until_idle(other)
        assert (await storage_session(other))["pid"] == pid_before
        await other.execute("ROLLBACK")
        assert await storage.list_servers() == []
        assert (await storage_session(other))["pid"] == pid_before  # the same connection, still usable


async def test_a_write_cancelled_mid_transaction_leaves_nothing_behind(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url, pool_size=1) as storage, sql_session(postgres_url) as other:
        server = await storage.create_server("s", "h", now_ms=T0)
        # Another transaction is inserting the same (server, time): ours must wait for it after
        # it has locked the server and COPYed its batch.
        await other.execute("BEGIN")
        await other.fetch(
            "INSERT INTO metrics SELECT * FROM (SELECT $1::bigint AS server_id) AS s, LATERAL ("
            "SELECT * FROM unnest(ARRAY[$2::bigint])) AS t(time_ms), LATERAL (SELECT 1.0, 1, 1, 1, 1, 1, 1, 1.0, "
            "1.0, 1.0, 1.0, 1, 1, 1.0, 1.0, 1.0, 1, 1, 1, 1) AS v",
            server.id,
            T0,
        )
        # A call that ignored the cancellation would wait for the other transaction forever.
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(storage.insert_samples, [(server.id, sample(T0)), (server.id, sample(T0 + 1))])
                await wait_until_blocked_on_a_lock(other)
                assert str((await storage_session(other))["query"]).startswith("WITH moved AS (INSERT INTO metrics")
                nursery.cancel_scope.cancel()
        await other.execute("ROLLBACK")
        assert await storage.query_samples(server.id, 0, T0 * 2) == []
        assert (await storage.get_server(server.id)).last_seen_ms is None  # type: ignore[union-attr]
        # Nothing of the cancelled batch lingers in the connection's staging table either.
        assert await storage.insert_samples([(server.id, sample(T0 + 5))]) == 1
        assert [s.time for s in await storage.query_samples(server.id, 0, T0 * 2)] == [ms_to_datetime(T0 + 5)]


async def test_a_connection_the_server_drops_fails_one_call_clearly_then_is_replaced(postgres_url: str) -> None:
    async with open_postgres_storage(postgres_url, pool_size=1) as storage, sql_session(postgres_url) as other:
        await storage.ping()
        pid = (await storage_session(other))["pid"]
        assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(StorageError) as failure:
            await storage.list_servers()
        message = str(failure.value)
        assert message.startswith("PostgreSQL at 127.0.0.1:5432") and "\n" not in message
        assert await storage.list_servers() == []


async def test_a_call_past_its_deadline_fails_then_the_connection_is_reused(postgres_url: str) -> None:
    async with (
        open_postgres_storage(postgres_url, pool_size=1, timeout_seconds=0.5) as storage,
        sql_session(postgres_url) as other,
    ):
        await storage.ping()
        pid_before = (await storage_session(other))["pid"]
        await other.execute("BEGIN; LOCK TABLE servers IN ACCESS EXCLUSIVE MODE")
        started = trio.current_time()
        with (
            trio.fail_after(10),
            pytest.raises(StorageError, match=r"no answer within 0\.5 s \(database\.timeout_seconds\)"),
        ):
            await storage.list_servers()
        assert trio.current_time() - started < 1.0
        await wait_until_idle(other)
        await other.execute("ROLLBACK")
        # The server cancelled the query; the pool hands out the same connection, idle again.
        assert await storage.list_servers() == []
        assert (await storage_session(other))["pid"] == pid_before
