"""systemd integration: the notify protocol from a real process, unit files, W^X tolerance."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from tests.processes import REPO, daemon_process

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed here: unit files not verified"
)
UNITS = sorted((REPO / "systemd").glob("*.service"))


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "monitord.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[http]\nlisten = "127.0.0.1:0"\n[grpc]\nlisten = "127.0.0.1:0"\n'
    )
    return config


async def _datagrams(sock: trio.socket.SocketType, needle: str, timeout: float = 20) -> list[str]:
    """Datagrams received until one contains `needle`."""
    received: list[str] = []
    with trio.fail_after(timeout):
        while not received or needle not in received[-1]:
            received.append((await sock.recv(4096)).decode())
    return received


async def test_ready_watchdog_and_stopping_reach_systemd(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify_socket:
        await notify_socket.bind(str(notify_path))
        env = {"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "200000"}
        async with daemon_process("--config", str(_config(tmp_path)), cwd=tmp_path, env=env) as daemon:
            before_ready = await _datagrams(notify_socket, "READY=1")
            ready = before_ready[-1]
            url = re.search(r"dashboard on (http://\S+)", ready)
            assert url is not None, ready
            # READY means listening: the API answers at once.
            async with httpx.AsyncClient(base_url=url[1]) as client:
                assert (await client.get("/api/health")).status_code == 200
            # WATCHDOG_USEC=200 ms: a ping every 100 ms while the loop runs.
            pings = 0
            with trio.fail_after(10):
                while pings < 3:
                    pings += (await notify_socket.recv(4096)).decode() == "WATCHDOG=1"
            daemon.process.send_signal(signal.SIGTERM)
            stopping = await _datagrams(notify_socket, "STOPPING=1")
            assert stopping[-1].startswith("STOPPING=1")
            with trio.fail_after(5):
                assert await daemon.process.wait() == 0


@needs_systemd_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_units_pass_systemd_analyze_verify(tmp_path: Path, unit: Path) -> None:
    # verify checks that ExecStart exists; point it at this venv's interpreter, keep the rest.
    installed = tmp_path / unit.name
    installed.write_text(
        unit.read_text()
        .replace("/opt/monitord/bin/python", sys.executable)
        .replace("/opt/monitord-agent/bin/python", sys.executable)
    )
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(installed)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@needs_systemd_analyze
def test_the_daemon_unit_is_hardened(tmp_path: Path) -> None:
    unit = REPO / "systemd" / "monitord.service"
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert exposure is not None, result.stdout + result.stderr
    assert float(exposure[1]) <= 2.0  # README quotes the figure; 10 is wide open, 1-2 is tight


def _mdwe_available() -> bool:
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


# Sets PR_SET_MDWE with PR_MDWE_REFUSE_EXEC_GAIN, then runs the daemon in the same process.
_UNDER_MDWE = (
    "import ctypes, runpy, sys\n"
    "assert ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) == 0\n"
    "sys.argv = ['monitord', *sys.argv[1:]]\n"
    "runpy.run_module('monitord', run_name='__main__')\n"
)


@pytest.mark.skipif(not _mdwe_available(), reason="kernel without PR_SET_MDWE: W^X tolerance not checked")
async def test_the_daemon_runs_with_write_execute_memory_refused(tmp_path: Path) -> None:
    """What MemoryDenyWriteExecute=yes enforces, enforced by the kernel on the real daemon."""
    command = [sys.executable, "-c", _UNDER_MDWE]
    async with daemon_process("--config", str(_config(tmp_path)), cwd=tmp_path, command=command) as daemon:
        line = await daemon.wait_for_line("dashboard and API on http://")
        url = re.search(r"http://\S+", line)
        assert url is not None
        password = (tmp_path / "data" / "initial-admin-password").read_text().strip()
        async with httpx.AsyncClient(base_url=url[0]) as client:
            login = await client.post("/api/auth/login", json={"username": "admin", "password": password})
            assert login.status_code == 200  # argon2 (cffi), JWT, SQLite, msgspec all ran
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            assert (await client.post("/api/servers", json={"name": "wx"}, headers=headers)).status_code == 201
        daemon.process.send_signal(signal.SIGTERM)
        with trio.fail_after(5):
            assert await daemon.process.wait() == 0
        assert "Traceback" not in await daemon.read_rest()
