"""`python -m monitord user|server ...` against the same database the daemon uses."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.conftest import make_settings, start_daemon
from tests.processes import child_env, run_monitord


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitord.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n[http]\nlisten = "127.0.0.1:0"\n')
    return path


def test_user_add_then_log_in(tmp_path: Path, config: Path) -> None:
    result = run_monitord(
        "user", "add", "olga", "--role", "viewer", "--password-stdin", "--config", str(config), stdin="olga-password\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "user olga created with role viewer"
    assert "olga-password" not in result.stdout + result.stderr

    async def log_in() -> None:
        async with trio.open_nursery() as nursery:
            running = await start_daemon(nursery, make_settings(tmp_path / "data"))
            assert await running.login("olga", "olga-password")
            running.shutdown.set()

    trio.run(log_in)


# Runs `user add` through the CLI's entry point in a fresh interpreter, then reports whether
# hypercorn's trio server still serves connections with its own class.
_USER_ADD_THEN_CHECK_HYPERCORN = """
import sys
import hypercorn.trio.run, hypercorn.trio.tcp_server
from monitord import cli
status = cli.main(["user", "add", "olga", "--role", "viewer", "--password-stdin", "--config", sys.argv[1]])
print(status, hypercorn.trio.run.TCPServer is hypercorn.trio.tcp_server.TCPServer)
"""


def test_cli_commands_leave_hypercorn_alone(config: Path) -> None:
    """Only serving the dashboard changes how hypercorn serves connections; `user add` does not."""
    result = subprocess.run(
        [sys.executable, "-c", _USER_ADD_THEN_CHECK_HYPERCORN, str(config)],
        input="olga-password\n",
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["0", "True"], result.stdout + result.stderr


def test_user_add_refuses_duplicates_short_passwords_and_bad_names(config: Path) -> None:
    add = ("user", "add", "--role", "admin", "--password-stdin", "--config", str(config))
    assert run_monitord(*add[:2], "ann", *add[2:], stdin="long-enough-pw\n").returncode == 0
    duplicate = run_monitord(*add[:2], "ann", *add[2:], stdin="long-enough-pw\n")
    short = run_monitord(*add[:2], "bob", *add[2:], stdin="short\n")
    bad_name = run_monitord(*add[:2], "bad name", *add[2:], stdin="long-enough-pw\n")
    bad_role = run_monitord("user", "add", "cat", "--role", "root", "--password-stdin", stdin="long-enough-pw\n")
    for result, expected in [
        (duplicate, "a user named 'ann' already exists"),
        (short, "must be 8 to 1024 characters"),
        (bad_name, "username 'bad name' is not allowed"),
        (bad_role, "invalid choice: 'root'"),
    ]:
        assert result.returncode == 2
        assert len(result.stderr.splitlines()) == 1 and expected in result.stderr, result.stderr


def test_server_add_prints_the_token_once_and_can_write_it(tmp_path: Path, config: Path) -> None:
    token_file = tmp_path / "agent.token"
    result = run_monitord("server", "add", "db-1", "--token-file", str(token_file), "--config", str(config))
    assert result.returncode == 0, result.stderr
    match = re.search(r"server (\d+) registered: db-1\nagent token \(shown once\): (\S+)", result.stdout)
    assert match is not None, result.stdout
    assert token_file.read_text().strip() == match[2]
    assert match[2].startswith(f"{match[1]}.")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_user_passwd_revokes_and_replaces(tmp_path: Path, config: Path) -> None:
    add = run_monitord(
        "user", "add", "pat", "--role", "viewer", "--password-stdin", "--config", str(config), stdin="first-password\n"
    )
    assert add.returncode == 0
    changed = run_monitord(
        "user", "passwd", "pat", "--password-stdin", "--config", str(config), stdin="second-password\n"
    )
    assert changed.returncode == 0, changed.stderr
    missing = run_monitord(
        "user", "passwd", "nobody", "--password-stdin", "--config", str(config), stdin="whatever-pw\n"
    )
    assert missing.returncode == 2 and "no user named 'nobody'" in missing.stderr

    async def log_in() -> None:
        async with trio.open_nursery() as nursery:
            running = await start_daemon(nursery, make_settings(tmp_path / "data"))
            assert await running.login("pat", "second-password")
            running.shutdown.set()

    trio.run(log_in)
