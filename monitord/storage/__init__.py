"""Storage backends behind one interface; `open_storage` picks one from `database.url`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from monitord.config import Settings
from monitord.storage.base import AlreadyExists, Storage, StorageError

__all__ = ["AlreadyExists", "Storage", "StorageError", "open_storage", "sqlite_path"]


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file `database.url` names, or None when it names another engine."""
    url = settings.database.url
    if not url:
        return settings.data_path / "monitord.db"
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite://"))
    return None


@asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    """Open the configured database, migrated to the current schema; closed on exit.

    Raises StorageError with a one-line, credential-free reason when it cannot be opened.
    """
    path = sqlite_path(settings)
    if path is None:
        raise StorageError("PostgreSQL storage is not available in this build yet; use SQLite")
    from monitord.storage.sqlite import open_sqlite_storage

    async with open_sqlite_storage(path) as storage:
        yield storage
