"""Storage backends behind one interface; `open_storage` picks one from `database.url`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from monitord.config import DatabaseSettings, Settings
from monitord.storage.base import AlreadyExists, Storage, StorageError, StorageFull

__all__ = [
    "AlreadyExists",
    "Storage",
    "StorageError",
    "StorageFull",
    "open_database",
    "open_storage",
    "redact_url",
    "sqlite_path",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def redact_url(url: str) -> str:
    """`url` without its password or query string (which may hold one), safe to print."""
    if not url.startswith(POSTGRES_SCHEMES):
        return url  # sqlite:///path holds no secrets
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
    if path is not None:
        from monitord.storage.sqlite import open_sqlite_storage

        async with open_sqlite_storage(path, timeout_seconds=settings.database.timeout_seconds) as sqlite:
            yield sqlite
    else:
        async with open_database(settings.database.url, settings.database) as storage:
            yield storage


@asynccontextmanager
async def open_database(url: str, database: DatabaseSettings | None = None) -> AsyncIterator[Storage]:
    """Open the database `url` names: "sqlite:///abs/path.db" or "postgresql://...".

    `database` supplies the deadline of every call and PostgreSQL's pool size and connect timeout
    (defaults when None).
    For PostgreSQL this owns the trio-asyncio loop the backend runs on (see storage.postgres),
    so everything that uses the storage must run inside this context, as the daemon does.
    Raises StorageError with a one-line, credential-free reason when it cannot be opened.
    """
    database = database or DatabaseSettings()
    if url.startswith(POSTGRES_SCHEMES):
        # Imported here so SQLite users never load asyncpg or patch asyncio's policy.
        from monitord.storage.postgres import open_postgres_storage

        async with open_postgres_storage(
            url,
            pool_size=database.pool_size,
            connect_timeout_seconds=database.connect_timeout_seconds,
            timeout_seconds=database.timeout_seconds,
        ) as storage:
            yield storage
    elif url.startswith("sqlite:///"):
        from monitord.storage.sqlite import open_sqlite_storage

        async with open_sqlite_storage(
            Path(url.removeprefix("sqlite://")), timeout_seconds=database.timeout_seconds
        ) as storage:
            yield storage
    else:
        raise StorageError('expected a database URL "sqlite:///abs/path.db" or "postgresql://user@host:port/db"')
