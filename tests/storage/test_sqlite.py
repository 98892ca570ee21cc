"""SQLite specifics: file settings and refusing a schema from the future."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitord.storage import StorageError
from monitord.storage.sqlite import open_sqlite_storage
from monitord.storage.sqlite_schema import MIGRATIONS


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
