"""`make run`: the daemon plus one local agent reporting this host, for a first look.

    python -m monitord.devrun [--config FILE]

Registers this host once (`python -m monitord server add <hostname>`, its token kept in
`{data_dir}/local-agent.token`, registered again if that server is gone), writes
`{data_dir}/local-agent.toml`, starts the daemon, waits until it accepts agents, starts the agent
and prints the dashboard URL with the admin credentials. Ctrl-C or SIGTERM stops both cleanly:
each gets one SIGTERM (they run in their own sessions, so the terminal's Ctrl-C does not reach
them twice). Exits with the daemon's status; 2 for a bad config, like the daemon.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import trio

from monitord.auth.agent_tokens import secret_matches, split_agent_token
from monitord.auth.bootstrap import PASSWORD_FILE
from monitord.config import ConfigError, ListenAddress, Settings, load_settings
from monitord.storage import StorageError, open_storage

TOKEN_FILE = "local-agent.token"
AGENT_CONFIG = "local-agent.toml"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


def _local(address: ListenAddress) -> ListenAddress:
    """Where a process on this host reaches a listener bound to `address`."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    return ListenAddress(wildcard.get(address.host, address.host), address.port)


async def _still_registered(settings: Settings, token: str) -> bool:
    parsed = split_agent_token(token)
    if parsed is None:
        return False
    async with open_storage(settings) as storage:
        record = await storage.get_server(parsed[0])
    return record is not None and secret_matches(parsed[1], record.agent_token_hash)


def _register(settings: Settings, config_args: list[str], token_file: Path) -> None:
    token = token_file.read_text().strip() if token_file.exists() else ""
    if token and trio.run(_still_registered, settings, token):
        return
    name = socket.gethostname()[:100] or "localhost"
    subprocess.run(
        [sys.executable, "-m", "monitord", "server", "add", name, "--token-file", str(token_file), *config_args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"Registered this host as server {name!r} for the local agent.", file=sys.stderr, flush=True)


def _wait_until_listening(address: ListenAddress, daemon: subprocess.Popen[bytes], stop: list[int]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and daemon.poll() is None and not stop:
        try:
            socket.create_connection((address.host, address.port), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
        else:
            return True
    return False


def _stop(*processes: subprocess.Popen[bytes] | None) -> None:
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the daemon and a local agent until Ctrl-C; returns the daemon's exit status."""
    parser = argparse.ArgumentParser(prog="python -m monitord.devrun", description=__doc__.split("\n")[0])
    parser.add_argument("--config", metavar="FILE", help="daemon TOML config (default: built-in defaults)")
    args = parser.parse_args(argv)
    config_args = ["--config", args.config] if args.config else []
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"monitord: {exc}", file=sys.stderr)
        return 2
    data = settings.data_path.resolve()
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    token_file = data / TOKEN_FILE
    try:
        _register(settings, config_args, token_file)
    except (subprocess.CalledProcessError, StorageError, OSError) as exc:
        print(f"monitord: cannot register this host for the local agent: {exc}", file=sys.stderr)
        return 1
    grpc = _local(settings.grpc.address)
    agent_config = data / AGENT_CONFIG
    agent_config.write_text(f'server = "{grpc}"\ntoken_file = "{token_file}"\ninterval_seconds = 1.0\n')

    stop: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    daemon = subprocess.Popen([sys.executable, "-m", "monitord", *config_args], start_new_session=True)
    agent: subprocess.Popen[bytes] | None = None
    try:
        if _wait_until_listening(grpc, daemon, stop):
            agent = subprocess.Popen(
                [sys.executable, "-m", "monitord.agent", "--config", str(agent_config)], start_new_session=True
            )
            password_file = data / PASSWORD_FILE
            password = password_file.read_text().strip() if password_file.exists() else "(the one you set)"
            http = _local(settings.http.address)
            print(
                f"\n  Dashboard: http://{http}   user: admin   password: {password}\n"
                f"  A local agent reports this host to {grpc}. Ctrl-C stops both.\n",
                file=sys.stderr,
                flush=True,
            )
        while daemon.poll() is None and not stop:
            time.sleep(0.2)
    finally:
        _stop(agent, daemon)
    return daemon.returncode if daemon.returncode is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
