"""The daemon as a real process on PostgreSQL: against one it cannot use (retries, then one line and
status 1), and on a working one (serves, then stops cleanly on SIGTERM)."""

from __future__ import annotations

import secrets
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import trio

from tests.processes import daemon_process

PASSWORD = "never-Print-Me-42"


def _config(tmp_path: Path, url: str, connect_timeout_seconds: float = 1.5) -> Path:
    config = tmp_path / "monitord.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[http]\nlisten = "127.0.0.1:0"\n[grpc]\nlisten = "127.0.0.1:0"\n'
        f'[database]\nurl = "{url}"\nconnect_timeout_seconds = {connect_timeout_seconds}\n'
    )
    return config


async def _start_and_fail(tmp_path: Path, url: str) -> tuple[str, list[str]]:
    """Run the daemon until it gives up; returns its stderr and its ERROR lines."""
    async with daemon_process("--config", str(_config(tmp_path, url)), cwd=tmp_path) as daemon:
        with trio.fail_after(30):
            assert await daemon.process.wait() == 1
        log = await daemon.read_rest()
    assert "Traceback" not in log
    assert PASSWORD not in log
    return log, [line for line in log.splitlines() if " ERROR " in line]


def _on_the_test_server(server: str, database: str, user: str = "") -> str:
    """The test server's URL for another database (and user), with a password the server never checks."""
    parts = urlsplit(server)
    user = user or parts.username or "postgres"
    return urlunsplit(
        parts._replace(netloc=f"{user}:{PASSWORD}@{parts.hostname}:{parts.port or 5432}", path=f"/{database}")
    )


async def test_a_closed_port_is_retried_then_one_line_naming_host_and_cause(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        log, errors = await _start_and_fail(tmp_path, f"postgresql://monitor:{PASSWORD}@127.0.0.1:{port}/fleet")
    assert len(errors) == 1
    assert (
        f'cannot connect to PostgreSQL at 127.0.0.1:{port} (database "fleet", user "monitor"): connection refused'
        in errors[0]
    )
    assert "gave up after" in errors[0]
    retries = [line for line in log.splitlines() if " WARNING " in line]
    assert retries and all("connection refused" in line and "retrying in" in line for line in retries)


async def test_a_missing_database_is_named(tmp_path: Path, postgres_server: str) -> None:
    missing = f"monitord_missing_{secrets.token_hex(4)}"
    _, errors = await _start_and_fail(tmp_path, _on_the_test_server(postgres_server, missing))
    assert len(errors) == 1
    assert f'database "{missing}" does not exist' in errors[0]


async def test_an_unknown_role_is_an_authentication_failure(tmp_path: Path, postgres_server: str) -> None:
    role = f"ghost_{secrets.token_hex(4)}"
    _, errors = await _start_and_fail(tmp_path, _on_the_test_server(postgres_server, "postgres", user=role))
    assert len(errors) == 1
    assert f'user "{role}"): authentication failed: role "{role}" does not exist' in errors[0]


async def test_the_daemon_on_postgresql_serves_and_stops_cleanly_on_sigterm(tmp_path: Path, postgres_url: str) -> None:
    async with daemon_process("--config", str(_config(tmp_path, postgres_url)), cwd=tmp_path) as daemon:
        line = await daemon.wait_for_line("dashboard and API on http://")
        base_url = line[line.index("http://") :].split()[0]
        await daemon.wait_for_line("ready")
        async with httpx.AsyncClient(base_url=base_url) as client:
            health = (await client.get("/api/health")).json()
        assert (health["status"], health["database"]) == ("ok", "ok")
        daemon.process.send_signal(signal.SIGTERM)
        with trio.fail_after(10):
            assert await daemon.process.wait() == 0
        log = await daemon.read_rest()
    assert "monitord stopped" in log
    # The asyncio side shut down with the daemon: no traceback, warning or abandoned task.
    for trouble in ("Traceback", "Warning", "Task was destroyed", "Error", "unclosed"):
        assert trouble not in log, log
