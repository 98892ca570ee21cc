"""`make run`'s launcher: daemon plus local agent, this host registered once, Ctrl-C stops both."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import trio

from tests.processes import daemon_process


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _run_once(tmp_path: Path, config: Path) -> str:
    devrun = [sys.executable, "-m", "monitord.devrun"]
    async with daemon_process("--config", str(config), cwd=tmp_path, command=devrun) as output:
        await output.wait_for_line("Dashboard: http://")
        await output.wait_for_line("connected to")
        output.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        with trio.fail_after(20):
            assert await output.process.wait() == 0
        return await output.read_rest()


async def test_make_run_starts_daemon_and_local_agent_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    http, grpc = _free_port(), _free_port()
    config = tmp_path / "monitord.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[http]\nlisten = "127.0.0.1:{http}"\n[grpc]\nlisten = "127.0.0.1:{grpc}"\n'
    )
    first = await _run_once(tmp_path, config)
    password = (tmp_path / "data" / "initial-admin-password").read_text().strip()
    assert f"Dashboard: http://127.0.0.1:{http}   user: admin   password: {password}" in first
    assert "Registered this host" in first
    assert "monitord agent stopped" in first and "monitord stopped" in first
    assert "Traceback" not in first
    second = await _run_once(tmp_path, config)
    assert "Registered this host" not in second  # once only: the token still works
    assert "as server 1;" in second
