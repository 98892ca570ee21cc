"""The storage backends the contract suite runs against: SQLite, and PostgreSQL when configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitord.storage.sqlite import open_sqlite_storage
from monitord.storage.transfer import TransferStorage


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The backend's name and, for PostgreSQL, this run's test database.

    Synchronous, so that the PostgreSQL skip (no server configured) keeps its reason.
    """
    if request.param == "postgresql":
        return request.param, request.getfixturevalue("postgres_database")
    return request.param, None


@pytest.fixture
async def storage(backend: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[TransferStorage]:
    """An empty, migrated database of the backend, for this test only."""
    _name, database = backend
    if database is None:
        async with open_sqlite_storage(tmp_path / "contract.db") as sqlite:
            yield sqlite
        return
    from monitord.storage.postgres import open_postgres_storage
    from tests.postgres import scratch_schema_url

    async with scratch_schema_url(database, "t") as url, open_postgres_storage(url) as postgres:
        yield postgres
