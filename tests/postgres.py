"""The PostgreSQL test server: where it is, one database per run and a fresh schema per test.

Tests that need a PostgreSQL server take the `postgres_url` fixture: an empty schema of its own
in a database created for the test run and dropped at its end (or `postgres_server`, the
server's URL). Without MONITORD_TEST_POSTGRES_URL they are skipped from this one place, and a
report hook folds every such skip into a single -ra line saying why, and, when a PostgreSQL
answers on the default local port, the URL that would run them. Using that server is left to the
user (it gets a database created and dropped per run), so the variable stays opt-in.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
import struct
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import trio

ENVIRONMENT_VARIABLE = "MONITORD_TEST_POSTGRES_URL"
SKIP_PREFIX = f"PostgreSQL tests skipped: {ENVIRONMENT_VARIABLE} is not set"
LOCAL_SERVER = ("127.0.0.1", 5432)
LOCAL_URL = f"postgresql://postgres@{LOCAL_SERVER[0]}:{LOCAL_SERVER[1]}/postgres"
# The first message of PostgreSQL's protocol that a server answers without a user or database:
# length 8, code 80877103. A server replies with one byte, S or N (whether it speaks TLS).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def postgres_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a PostgreSQL server answers at host:port (not merely something listening)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(SSL_REQUEST)
            return sock.recv(1) in (b"S", b"N")
    except OSError:
        return False


@functools.cache
def skip_reason() -> str:
    """Why the PostgreSQL tests are skipped, and what would run them (asked once per run)."""
    host, port = LOCAL_SERVER
    if postgres_answers(host, port):
        return (
            f"{SKIP_PREFIX}; a PostgreSQL answers on {host}:{port}: set {ENVIRONMENT_VARIABLE}={LOCAL_URL} to run them"
        )
    return f"{SKIP_PREFIX} (a server URL whose user may CREATE DATABASE, e.g. {LOCAL_URL}; .ci/run sets it)"


def postgres_admin_url() -> str:
    """The server the PostgreSQL tests use, as a user that may CREATE DATABASE; else skip."""
    url = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if not url:
        pytest.skip(skip_reason())
    return url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report every PostgreSQL skip at one place, so `-ra` folds them into a single line.

    pytest reports a skip raised by a fixture at the test's own location, which would print
    one line per test; the reason is the same for all of them.
    """
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and SKIP_PREFIX in report.longrepr[2]:
        report.longrepr = (__file__, postgres_admin_url.__code__.co_firstlineno, report.longrepr[2])
    return report


@pytest.fixture
def postgres_server() -> str:
    """`postgres_admin_url()` as a fixture, for async tests: pytest-trio reports a skip raised
    inside an async test or fixture as a bare "Skipped" and the reason would be lost."""
    return postgres_admin_url()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run, created at first use and dropped at the end.

    Synchronous on purpose: pytest-trio turns a skip raised inside an async fixture into a bare
    "Skipped" and the reason would be lost; and a session outlives any one trio run.
    """
    admin_url = postgres_admin_url()
    name = f"monitord_test_{secrets.token_hex(6)}"
    url = trio.run(create_database, admin_url, name)
    try:
        yield url
    finally:
        trio.run(drop_database, admin_url, name)


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    """A fresh, empty monitord database for this test only (a schema in the run's database)."""
    async with scratch_schema_url(postgres_database, "t") as url:
        yield url


class SqlSession:
    """One connection of the test's own, beside the code under test (tests only)."""

    def __init__(self, loop: Any, connection: Any) -> None:
        self._loop = loop
        self._connection = connection

    async def fetch(self, query: str, *args: object) -> list[dict[str, Any]]:
        rows = await self._loop.run_aio_coroutine(self._connection.fetch(query, *args))
        return [dict(row) for row in rows]

    async def fetchval(self, query: str, *args: object) -> Any:
        return await self._loop.run_aio_coroutine(self._connection.fetchval(query, *args))

    async def execute(self, script: str) -> None:
        await self._loop.run_aio_coroutine(self._connection.execute(script))


@asynccontextmanager
async def sql_session(url: str) -> AsyncIterator[SqlSession]:
    """Open a plain asyncpg connection to `url`, on a trio-asyncio loop of its own."""
    import asyncpg
    import trio_asyncio

    async with trio_asyncio.open_loop() as loop:
        connection = await loop.run_aio_coroutine(asyncpg.connect(url))
        try:
            yield SqlSession(loop, connection)
        finally:
            with trio.CancelScope(shield=True):
                await loop.run_aio_coroutine(connection.close())


async def execute_once(url: str, sql: str) -> None:
    """Run one statement on a connection of its own to `url`."""
    async with sql_session(url) as session:
        await session.execute(sql)


async def create_database(admin_url: str, name: str) -> str:
    """Create the empty database `name` on the server of `admin_url`; returns its URL."""
    await execute_once(admin_url, f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


async def drop_database(admin_url: str, name: str) -> None:
    """Drop the database `name`, closing whatever sessions still use it."""
    await execute_once(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_schema_url(database_url: str, prefix: str = "monitord_scratch") -> AsyncIterator[str]:
    """A new, uniquely named schema in the database of `database_url`, dropped on exit.

    Yields a URL whose connections use that schema (search_path), so one database holds many
    independent monitord databases cheaply: a schema costs milliseconds, a database a tenth of
    a second and more.
    """
    name = f"{prefix}_{secrets.token_hex(6)}"
    await execute_once(database_url, f'CREATE SCHEMA "{name}"')
    parts = urlsplit(database_url)
    query = f"{parts.query}&search_path={name}" if parts.query else f"search_path={name}"
    try:
        yield urlunsplit(parts._replace(query=query))
    finally:
        with trio.CancelScope(shield=True):
            await execute_once(database_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
