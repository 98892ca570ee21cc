"""The install command the dashboard shows, run for real (issue 14): fetched from a real daemon,
installing the agent into an empty venv from the daemon's wheelhouse with no package index
reachable, reporting until the host is online over the WebSocket, then uninstalled.

Needs the wheelhouse of `make agent-bundle` (which `make test` builds first).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from monitord.http.routes_agent import WHEELHOUSE_DIR
from tests.conftest import RunningDaemon
from tests.live_feed_helpers import feed

# The daemon's dependencies that the agent must not pull in (issue 14: "no web server, no database
# drivers, no password hashing").
DAEMON_ONLY = {
    "quart",
    "quart-trio",
    "hypercorn",
    "asyncpg",
    "argon2-cffi",
    "pyjwt",
    "prometheus-client",
    "trio-asyncio",
}

pytestmark = pytest.mark.skipif(
    not any(WHEELHOUSE_DIR.glob("monitord-*.whl")),
    reason="no agent wheelhouse: run `make agent-bundle` (make test does)",
)


def _env(tmp_path: Path) -> dict[str, str]:
    """A shell environment with no package index to reach and no pip config of this machine."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL="http://127.0.0.1:9/simple/",  # discard port: nothing listens
        PYTHON=getattr(sys, "_base_executable", sys.executable),
        HOME=str(tmp_path),
    )
    return env


async def _install_command(running: RunningDaemon, admin_token: str) -> tuple[str, str]:
    """The dashboard's command (as a container would run it: no sudo, --no-systemd) and a new token."""
    async with running.client(admin_token) as client:
        created = (await client.post("/api/servers", json={"name": "fresh-host"})).json()
        command = (await client.get("/api/agent/install")).json()["installCommand"]
    assert command.startswith("sudo sh -c ")
    return command.removeprefix("sudo "), created["agentToken"]


async def _status_over_websocket(running: RunningDaemon, token: str, name: str, wanted: str) -> None:
    async with feed(running, token) as connection:
        while True:
            message = json.loads(await connection.get_message())
            statuses = {server["name"]: server["status"] for server in message["servers"]}
            if statuses.get(name) == wanted:
                return


async def _sh(command: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[bytes]:
    """Run a shell command off the event loop (the daemon answering it runs on that loop)."""
    with trio.fail_after(60):
        return await trio.run_process(
            ["sh", "-c", command], stdin=stdin.encode(), capture_stdout=True, capture_stderr=True, env=env, check=False
        )


def _files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")) if root.exists() else []


async def test_the_pasted_command_installs_an_agent_that_reports_and_uninstalls_cleanly(
    running: RunningDaemon, admin_token: str, tmp_path: Path
) -> None:
    command, token = await _install_command(running, admin_token)
    prefix = tmp_path / "root"
    env = _env(tmp_path)
    log = tmp_path / "install.log"
    with log.open("wb") as output:
        process = await trio.lowlevel.open_process(
            ["sh", "-c", f"{command} --no-systemd --prefix {prefix}"],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # the shells and the agent they exec: one group to stop
        )
        assert process.stdin is not None
        await process.stdin.send_all(f"{token}\n".encode())
        await process.stdin.aclose()
        try:
            async with trio.open_nursery() as nursery:

                async def fail_if_it_exits() -> None:
                    await process.wait()
                    raise AssertionError(f"the installer ended first:\n{log.read_text()}")

                nursery.start_soon(fail_if_it_exits)
                with trio.fail_after(120):
                    await _status_over_websocket(running, admin_token, "fresh-host", "online")
                nursery.cancel_scope.cancel()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            with trio.fail_after(20):
                returncode = await process.wait()
    text = log.read_text()
    assert returncode in (0, -signal.SIGTERM), text  # the agent's 0, or the shell's death by the signal
    assert token not in text
    token_file = prefix / "etc/monitord/agent.token"
    assert token_file.read_text().strip() == token
    assert token_file.stat().st_mode & 0o777 == 0o600

    installed = await _sh(f"{prefix}/opt/monitord-agent/bin/python -m pip list --format=json", env)
    packages = {entry["name"].lower() for entry in json.loads(installed.stdout)}
    assert "monitord" in packages and "psutil" in packages
    assert not packages & DAEMON_ONLY, packages & DAEMON_ONLY
    daemon = await _sh(f"{prefix}/opt/monitord-agent/bin/python -m monitord --version", env)
    assert daemon.returncode == 1
    assert daemon.stderr.decode().startswith(
        "monitord: the daemon needs its own packages: pip install 'monitord[server]'"
    )

    # Re-running with no token on stdin upgrades in place and keeps the installed token.
    rerun = await _sh(f"{command} --no-systemd --prefix {prefix} --dry-run", env)
    assert rerun.returncode == 0, rerun.stderr
    assert b"keeping the installed token" in rerun.stdout
    assert token_file.read_text().strip() == token

    uninstall = await _sh(f"{command} --uninstall --prefix {prefix}", env)
    assert uninstall.returncode == 0, uninstall.stderr
    assert _files_under(prefix) == []


@pytest.mark.parametrize(
    "case,change,expected",
    [
        ("token_rejected", {"token": "1.not-the-secret"}, "the daemon rejected the token"),
        ("unreachable", {"url": "http://127.0.0.1:9"}, "cannot reach the daemon at http://127.0.0.1:9"),
        ("old_python", {"python": "old"}, "Python 3.11 or newer is needed"),
        ("not_root", {"uid": "1000"}, "run it as root (sudo): it writes /opt/monitord-agent"),
    ],
)
async def test_the_installer_refuses_in_one_line(
    running: RunningDaemon, admin_token: str, tmp_path: Path, case: str, change: dict[str, object], expected: str
) -> None:
    command, token = await _install_command(running, admin_token)
    env = _env(tmp_path)
    if change.get("python") == "old":
        old = tmp_path / "python3.9"
        old.write_text('#!/bin/sh\n[ "$1" = -c ] && case $2 in *platform*) echo 3.9.2;; *) exit 1;; esac\n')
        old.chmod(0o755)
        env["PYTHON"] = str(old)
    if "url" in change:
        command = command.replace(f"--url {running.base_url}", f"--url {change['url']}")
    options = f"--prefix {tmp_path / 'root'} --no-systemd"
    if "uid" in change:  # an `id` that says we are not root; without --prefix the system paths need root
        fake_bin = tmp_path / "bin"
        fake_bin.mkdir()
        (fake_bin / "id").write_text(f"#!/bin/sh\necho {change['uid']}\n")
        (fake_bin / "id").chmod(0o755)
        env["PATH"] = f"{fake_bin}:{env['PATH']}"
        options = "--no-systemd"
    result = await _sh(f"{command} {options}", env, stdin=f"{change.get('token', token)}\n")
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("monitord agent install: "), lines
    assert expected in lines[0]
    assert _files_under(tmp_path / "root") == []
