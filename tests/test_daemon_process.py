"""The daemon as a real process: graceful stop on signals, clear startup failures."""

from __future__ import annotations

import re
import shutil
import signal
import socket
from pathlib import Path

import httpx
import pytest
import trio

from tests.processes import daemon_process, monitord_command


def _config(tmp_path: Path, http_listen: str = "127.0.0.1:0") -> Path:
    config = tmp_path / "monitord.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[http]\nlisten = "{http_listen}"\n[grpc]\nlisten = "127.0.0.1:0"\n'
    )
    return config


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_the_daemon_with_status_0(tmp_path: Path, signum: signal.Signals) -> None:
    async with daemon_process("--config", str(_config(tmp_path)), cwd=tmp_path) as daemon:
        line = await daemon.wait_for_line("dashboard and API on http://")
        url = re.search(r"http://\S+", line)
        assert url is not None
        await daemon.wait_for_line("ready")
        async with httpx.AsyncClient(base_url=url[0]) as client:
            assert (await client.get("/api/health")).json()["status"] == "ok"
        daemon.process.send_signal(signum)
        with trio.fail_after(5):
            assert await daemon.process.wait() == 0
        log = await daemon.read_rest()
    assert "Traceback" not in log
    assert "monitord stopped" in log


async def test_a_taken_port_is_one_clear_line_and_status_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with daemon_process("--config", str(_config(tmp_path, f"127.0.0.1:{port}")), cwd=tmp_path) as daemon:
            with trio.fail_after(10):
                assert await daemon.process.wait() == 1
            log = await daemon.read_rest()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in errors[0]
    assert "Traceback" not in log


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) is not installed")
async def test_the_daemon_raises_its_open_files_limit_to_the_hard_limit(tmp_path: Path) -> None:
    # Started as systemd and shells start services: a soft limit far below the hard one.
    command = ["prlimit", "--nofile=256:8192", *monitord_command()]
    async with daemon_process("--config", str(_config(tmp_path)), cwd=tmp_path, command=command) as daemon:
        await daemon.wait_for_line("ready")
        limits = Path(f"/proc/{daemon.process.pid}/limits").read_text()
        daemon.process.send_signal(signal.SIGTERM)
        with trio.fail_after(5):
            assert await daemon.process.wait() == 0
        log = await daemon.read_rest()
    (line,) = [line for line in limits.splitlines() if line.startswith("Max open files")]
    assert line.split()[3:5] == ["8192", "8192"]
    assert "open files limit raised from 256 to 8192" in log
