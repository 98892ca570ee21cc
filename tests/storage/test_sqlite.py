"""SQLite specifics: file settings, refusing a schema from the future, space reclaimed, the reader."""

from __future__ import annotations

import sqlite3
import threading
from functools import partial
from pathlib import Path

import pytest
import trio

from monitord.storage import StorageError
from monitord.storage.base import HOUR_MS, RetentionCutoffs, Tier
from monitord.storage.sqlite import open_sqlite_storage
from monitord.storage.sqlite_schema import MIGRATIONS
from tests.storage.test_contract import T0, sample

H0 = T0 - T0 % HOUR_MS


async def test_a_new_database_is_migrated_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "m.db"
    async with open_sqlite_storage(path):
        pass
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental


async def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with open_sqlite_storage(path) as storage:
        await storage.create_server("kept", "h", now_ms=1)
    async with open_sqlite_storage(path) as storage:
        assert [server.name for server in await storage.list_servers()] == ["kept"]


async def test_a_schema_newer_than_this_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StorageError, match="newer than this monitord understands"):
        async with open_sqlite_storage(path):
            pass


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open SQLite database"):
        async with open_sqlite_storage(path):
            pass


async def test_retention_gives_the_space_back_to_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / "m.db"

    def pages() -> tuple[int, int]:
        """(pages in the database, free pages among them), as a checkpoint would leave the file."""
        with sqlite3.connect(path) as connection:
            result = (
                connection.execute("PRAGMA page_count").fetchone()[0],
                connection.execute("PRAGMA freelist_count").fetchone()[0],
            )
        connection.close()
        return result

    async with open_sqlite_storage(path) as storage:
        server = await storage.create_server("s", "h", now_ms=T0)
        for start in range(0, 60_000, 5_000):
            await storage.insert_samples([(server.id, sample(T0 + t * 1000)) for t in range(start, start + 5_000)])
        while not (await storage.roll_up(T0 + 60_000_000, max_samples=20_000)).caught_up:
            pass
        grown, _ = pages()
        cutoffs = RetentionCutoffs(raw_before_ms=T0 + 50_000_000, minute_before_ms=0, hour_before_ms=0)
        while await storage.delete_expired(cutoffs, max_rows=10_000):
            pass
        total, free = pages()
        assert total >= grown and free > grown // 2  # deleted rows leave free pages behind
        assert await storage.reclaim_space(max_pages=500) == free - 500  # 500 pages at a time
        while await storage.reclaim_space(max_pages=500):
            pass
        total, free = pages()
        assert free == 0 and total < grown * 0.3


async def test_the_size_counts_the_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with open_sqlite_storage(path) as storage:
        server = await storage.create_server("s", "h", now_ms=T0)
        await storage.insert_samples([(server.id, sample(T0 + t)) for t in range(2_000)])
        wal = (tmp_path / "m.db-wal").stat().st_size
        assert wal > 0
        assert await storage.size_bytes() >= path.stat().st_size + wal


async def test_a_long_history_read_does_not_hold_up_writes(tmp_path: Path) -> None:
    # History reads use their own connection: a write goes ahead while one is open.
    path = tmp_path / "m.db"
    async with open_sqlite_storage(path) as storage:
        server = await storage.create_server("s", "h", now_ms=T0)
        await storage.insert_samples([(server.id, sample(T0 + t)) for t in range(100)])
        reader_busy, release = trio.Event(), threading.Event()

        def block_reader() -> None:
            trio.from_thread.run_sync(reader_busy.set)
            release.wait(10)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(trio.to_thread.run_sync, block_reader, limiter=storage._reader_limiter))
            await reader_busy.wait()
            with trio.fail_after(5):
                assert await storage.insert_samples([(server.id, sample(T0 + 1000))]) == 1
            release.set()
        assert len(await storage.history(server.id, Tier.RAW, T0, T0 + 2000, 1)) == 101


async def test_a_version_1_database_is_migrated_and_its_history_rolled_up(tmp_path: Path) -> None:
    # A database from before the history tiers: its raw samples are rolled up from the oldest.
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version = 1;")
        connection.execute("INSERT INTO servers (id, name, agent_token_hash, created_at_ms) VALUES (1, 'old', 'h', 0)")
    connection.close()
    async with open_sqlite_storage(path) as storage:
        await storage.insert_samples([(1, sample(H0 + t * 1000, cpu=float(t % 2))) for t in range(7200)])
    async with open_sqlite_storage(path) as storage:
        while not (await storage.roll_up(H0 + 2 * HOUR_MS, max_samples=1000)).caught_up:
            pass
        hours = await storage.history(1, Tier.HOUR, H0, H0 + 2 * HOUR_MS, HOUR_MS)
        assert [(h.bucket_ms, h.sample_count, h.gauges[0]) for h in hours] == [
            (H0, 3600, 0.5),
            (H0 + HOUR_MS, 3600, 0.5),
        ]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    connection.close()


async def test_a_call_waits_for_another_writer_no_longer_than_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with open_sqlite_storage(path, timeout_seconds=0.5) as storage:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            started = trio.current_time()
            with pytest.raises(StorageError, match="locked"):
                await storage.create_server("s", "h", now_ms=T0)
            assert 0.4 < trio.current_time() - started < 1.5
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert [server.name for server in await storage.list_servers()] == []
