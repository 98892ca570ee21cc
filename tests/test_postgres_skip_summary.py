"""Without MONITORD_TEST_POSTGRES_URL the PostgreSQL tests are skipped, visibly: one summary line
with their count, and the URL to set when a PostgreSQL answers on the default local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.postgres import ENVIRONMENT_VARIABLE, LOCAL_SERVER, LOCAL_URL, SKIP_PREFIX, postgres_answers
from tests.processes import REPO

POSTGRES_TESTS = """
async def test_schema(postgres_url: str) -> None: ...
async def test_server(postgres_server: str) -> None: ...
def test_database(postgres_database: str) -> None: ...
def test_not_postgres() -> None: ...
"""


def test_skipped_postgres_tests_are_one_summary_line(tmp_path: Path) -> None:
    (tmp_path / "test_uses_postgres.py").write_text(POSTGRES_TESTS)
    env = {key: value for key, value in os.environ.items() if key != ENVIRONMENT_VARIABLE}
    env["PYTHONPATH"] = str(REPO)
    # The project's pytest settings (-ra, trio mode, warnings as errors) and its PostgreSQL plugin.
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(REPO / "pyproject.toml"),
        "--rootdir",
        str(tmp_path),
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.postgres",
        str(tmp_path / "test_uses_postgres.py"),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert " 1 passed, 3 skipped in " in lines[-1], result.stdout
    (summary,) = [line for line in lines if "PostgreSQL" in line]
    assert summary.startswith("SKIPPED [3] ") and SKIP_PREFIX in summary, summary
    hint = f"a PostgreSQL answers on {LOCAL_SERVER[0]}:{LOCAL_SERVER[1]}: set {ENVIRONMENT_VARIABLE}={LOCAL_URL}"
    assert (hint in summary) == postgres_answers(*LOCAL_SERVER), summary


@contextmanager
def one_connection_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on a free local port that handles one connection with `answer`; yields the port."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            connection, _ = listener.accept()
            with connection:
                answer(connection)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield listener.getsockname()[1]
        thread.join(timeout=5)


def test_a_postgresql_server_is_told_from_other_listeners() -> None:
    def postgres(connection: socket.socket) -> None:
        assert connection.recv(8) == bytes.fromhex("0000000804d2162f")  # SSLRequest
        connection.sendall(b"N")

    def http(connection: socket.socket) -> None:
        connection.recv(8)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    def silent(connection: socket.socket) -> None:
        connection.recv(8)

    with one_connection_server(postgres) as port:
        assert postgres_answers("127.0.0.1", port)
    with one_connection_server(http) as port:
        assert not postgres_answers("127.0.0.1", port)
    with one_connection_server(silent) as port:
        assert not postgres_answers("127.0.0.1", port, timeout=0.2)
    with socket.create_server(("127.0.0.1", 0)) as closed:
        free_port = closed.getsockname()[1]
    assert not postgres_answers("127.0.0.1", free_port)
