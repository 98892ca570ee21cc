"""A scratch PostgreSQL database for a benchmark run: created empty, dropped at the end."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import trio
import trio_asyncio


async def _execute_once(url: str, sql: str) -> None:
    async with trio_asyncio.open_loop() as loop:
        connection = await loop.run_aio_coroutine(asyncpg.connect(url))
        try:
            await loop.run_aio_coroutine(connection.execute(sql))
        finally:
            with trio.CancelScope(shield=True):
                await loop.run_aio_coroutine(connection.close())


@asynccontextmanager
async def scratch_database_url(admin_url: str, prefix: str = "monitord_scratch") -> AsyncIterator[str]:
    """A new, uniquely named database on the server of `admin_url` (as a user allowed to
    CREATE DATABASE) for the duration of the context; dropped, sessions and all, on exit."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _execute_once(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with trio.CancelScope(shield=True):
            await _execute_once(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
