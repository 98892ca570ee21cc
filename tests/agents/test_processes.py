"""The agent and the daemon's gRPC listener as real processes: exit codes, signals, stderr."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import trio

from tests.agents.conftest import register_server
from tests.conftest import make_settings, start_daemon
from tests.processes import DaemonProcess, child_env, daemon_process

AGENT = [sys.executable, "-m", "monitord.agent"]


def run_agent(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGENT, *args], capture_output=True, text=True, cwd=cwd, env=child_env(), timeout=30, check=False
    )


CASES = {
    "unknown_key": ("servr = '127.0.0.1:1'\ntoken = '1.x'\n", "servr: unknown key"),
    "no_token": ("server = '127.0.0.1:50051'\n", "token_file: set token_file or token (exactly one)"),
    "both_tokens": ("token = '1.x'\ntoken_file = '/tmp/t'\n", "token_file: set token_file or token (exactly one)"),
    "bad_token": ("token = 'secret-without-id'\n", "token: expected `<server id>.<secret>`"),
    "bad_server": ("server = 'nohost'\ntoken = '1.x'\n", 'server: expected "host:port"'),
    "port_zero": ("server = '127.0.0.1:0'\ntoken = '1.x'\n", "server: the port must be 1-65535"),
    "interval_too_short": ("token = '1.x'\ninterval_seconds = 0.01\n", "interval_seconds: expected a number >= 0.1"),
    "wrong_type": ("token = '1.x'\ntls = 'yes'\n", "tls: expected true or false, got a string"),
    "ca_without_tls": ("token = '1.x'\nca_file = '/etc/ca.pem'\n", "ca_file: only used with tls = true"),
    "missing_token_file": ("token_file = 'absent.token'\n", "token_file: absent.token: file not found"),
    "missing_ca_file": ("token = '1.x'\ntls = true\nca_file = 'absent.pem'\n", "ca_file: absent.pem:"),
    "not_toml": ("token = \n", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_agent_config_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    text, expected = CASES[case]
    config = tmp_path / "agent.toml"
    config.write_text(text)
    result = run_agent("--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"monitord-agent: {config}: ")
    assert expected in lines[0]
    assert result.stdout == ""


def test_a_token_file_without_a_token_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "agent.token").write_text("hello\n")
    (tmp_path / "agent.toml").write_text("token_file = 'agent.token'\n")
    result = run_agent("--config", "agent.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "monitord-agent: agent.toml: token_file: agent.token: expected `<server id>.<secret>` as printed by "
        "`monitord server add`"
    ]


def test_a_bad_agent_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_agent(cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "monitord-agent: the following arguments are required: --config (see `python -m monitord.agent --help`)"
    ]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_the_agent_stops_on_a_signal_with_status_0(
    tmp_path: Path, nursery: trio.Nursery, signum: signal.Signals
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    server_id, token = await register_server(daemon)
    (tmp_path / "agent.token").write_text(token + "\n")
    (tmp_path / "agent.toml").write_text(f"server = '{daemon.endpoints.grpc}'\ntoken_file = 'agent.token'\n")
    async with agent_process("--config", "agent.toml", cwd=tmp_path) as agent:
        line = await agent.wait_for_line("connected to")
        assert f"as server {server_id}" in line
        agent.process.send_signal(signum)
        with trio.fail_after(5):
            assert await agent.process.wait() == 0
        log = await agent.read_rest()
    assert "Traceback" not in log and token.split(".")[1] not in log  # and the secret is never logged
    assert log.splitlines()[-1].endswith("monitord agent stopped")


def agent_process(*args: str, cwd: Path) -> AbstractAsyncContextManager[DaemonProcess]:
    """`python -m monitord.agent ARGS` with its stderr read line by line; killed if left running."""
    return daemon_process(*args, cwd=cwd, command=AGENT)


async def test_a_taken_grpc_port_is_one_clear_line_and_status_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "monitord.toml"
        config.write_text(
            f'data_dir = "{tmp_path / "data"}"\n[http]\nlisten = "127.0.0.1:0"\n[grpc]\nlisten = "127.0.0.1:{port}"\n'
        )
        async with daemon_process("--config", str(config), cwd=tmp_path) as daemon:
            with trio.fail_after(10):
                assert await daemon.process.wait() == 1
            log = await daemon.read_rest()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert errors[0].endswith(f"agents (gRPC): cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "Traceback" not in log
