"""Reaching PostgreSQL: retries with backoff, one clear line per failure, never a password.

These need no PostgreSQL server: they talk to a closed port and to a listener that never
answers. Virtual time (autojump after 0.1 s of real idleness) replaces the retry waits.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from functools import partial

import asyncpg
import pytest
import trio
import trio.testing

from monitord.storage import StorageError, redact_url
from monitord.storage.postgres import PostgresTarget, describe_error, open_postgres_storage

PASSWORD = "s3cret-Pa55"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nobody listens on: bound (so nobody else takes it) but not listening, so refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_an_unreachable_server_is_retried_with_backoff_then_fails_in_one_line(
    closed_port: int, mock_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    mock_clock.autojump_threshold = 0.1
    url = f"postgresql://monitor:{PASSWORD}@127.0.0.1:{closed_port}/fleet"
    started = trio.current_time()
    with pytest.raises(StorageError) as failure:
        async with open_postgres_storage(url, connect_timeout_seconds=10):
            pass
    assert trio.current_time() - started == pytest.approx(10)
    message = str(failure.value)
    assert message.startswith(
        f'cannot connect to PostgreSQL at 127.0.0.1:{closed_port} (database "fleet", user "monitor"): '
        "connection refused"
    )
    assert message.endswith("; gave up after 6 attempts in 10 s (database.connect_timeout_seconds)")
    retries = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    # Waits double from 0.5 s up to what is left of the 10 s.
    assert [re.search(r"retrying in (\S+) s$", line)[1] for line in retries] == ["0.5", "1.0", "2.0", "4.0", "2.5"]  # type: ignore[index]
    assert all(f"127.0.0.1:{closed_port}" in line and "connection refused" in line for line in retries)
    assert PASSWORD not in message + caplog.text
    assert "\n" not in message


async def test_a_server_that_never_answers_times_out_each_attempt(
    mock_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    mock_clock.autojump_threshold = 0.1
    held: list[trio.SocketStream] = []

    async def accept_and_say_nothing(stream: trio.SocketStream) -> None:
        held.append(stream)
        await trio.sleep_forever()

    listeners = await nursery.start(partial(trio.serve_tcp, accept_and_say_nothing, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    with pytest.raises(StorageError) as failure:
        async with open_postgres_storage(f"postgresql://monitor@127.0.0.1:{port}/fleet", connect_timeout_seconds=25):
            pass
    # Attempts of 10 s at t=0 and t=10.5, then one cut to the 3.5 s left at t=21.5.
    assert str(failure.value).endswith(
        "no answer within 3.5 s; gave up after 3 attempts in 25 s (database.connect_timeout_seconds)"
    )
    assert len(held) == 3


async def test_a_malformed_url_fails_at_once(mock_clock: trio.testing.MockClock) -> None:
    with pytest.raises(StorageError, match=r"database\.url is not a valid PostgreSQL URL") as failure:
        async with open_postgres_storage(
            f"postgresql://u:{PASSWORD}@db.invalid:notaport/x", connect_timeout_seconds=60
        ):
            pass
    assert trio.current_time() == 0  # no retries
    assert PASSWORD not in str(failure.value)


@pytest.mark.parametrize(
    "error,expected",
    [
        (
            asyncpg.InvalidPasswordError('password authentication failed for user "monitor"'),
            'authentication failed: password authentication failed for user "monitor"',
        ),
        (
            asyncpg.InvalidAuthorizationSpecificationError('role "ghost" does not exist'),
            'authentication failed: role "ghost" does not exist',
        ),
        (
            asyncpg.InvalidCatalogNameError('database "fleet" does not exist'),
            'database "fleet" does not exist (create it, or fix the database name in database.url)',
        ),
        (
            asyncpg.CannotConnectNowError("the database system is starting up"),
            "the server is not accepting connections yet: the database system is starting up",
        ),
        (
            ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
            "connection refused (is PostgreSQL running and listening on that address?)",
        ),
        (
            OSError(
                "Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), "
                "[Errno 111] Connect call failed ('127.0.0.1', 5432)"
            ),
            "connection refused (is PostgreSQL running and listening on that address?)",
        ),
        (socket.gaierror(-2, "Name or service not known"), "host name not found (Name or service not known)"),
        (TimeoutError(), "no answer (timed out)"),
        (OSError(f"something odd about {PASSWORD}\nand a second line"), "something odd about *** and a second line"),
    ],
)
def test_failures_are_described_in_one_line_without_secrets(error: BaseException, expected: str) -> None:
    target = PostgresTarget(f"postgresql://monitor:{PASSWORD}@db.example.com:6543/fleet")
    assert describe_error(error, target) == expected


@pytest.mark.parametrize(
    "url,where",
    [
        (
            f"postgresql://monitor:{PASSWORD}@db.example.com:6543/fleet",
            'db.example.com:6543 (database "fleet", user "monitor")',
        ),
        ("postgres://db.example.com/fleet", 'db.example.com:5432 (database "fleet", user "(default user)")'),
        (
            f"postgresql://monitor@db.example.com/fleet?password={PASSWORD}&sslmode=require",
            'db.example.com:5432 (database "fleet", user "monitor")',
        ),
    ],
)
def test_targets_name_host_database_and_user_but_never_the_password(url: str, where: str) -> None:
    target = PostgresTarget(url)
    assert str(target) == where
    assert PASSWORD not in redact_url(url)
    if PASSWORD in url:
        assert target.scrub(f"echo {PASSWORD}") == "echo ***"


def test_an_escaped_password_is_scrubbed_in_both_forms() -> None:
    target = PostgresTarget("postgresql://monitor:p%40ss%2Fword@db/fleet")
    assert target.scrub("p%40ss%2Fword and p@ss/word") == "*** and ***"
    assert (
        redact_url("postgresql://monitor:p%40ss%2Fword@db:5432/fleet?password=x")
        == "postgresql://monitor@db:5432/fleet"
    )
