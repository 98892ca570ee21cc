"""The storage backends the contract suite runs against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitord.storage import Storage
from monitord.storage.sqlite import open_sqlite_storage


@pytest.fixture(params=["sqlite"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with open_sqlite_storage(tmp_path / "contract.db") as opened:
        yield opened
