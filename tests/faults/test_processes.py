"""The daemon as a real process under load: `kill -9` loses no acknowledged sample, and SIGTERM
stops it within seconds with every accepted sample stored. Real clock, real SQLite file, real
gRPC calls recording what they were acked, real WebSocket clients."""

from __future__ import annotations

import re
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import msgspec
import trio
import trio.lowlevel
from trio_websocket import ConnectionClosed

from monitord.config import ListenAddress
from monitord.daemon import Endpoints
from monitord.models import datetime_to_ms
from monitord.push.hub import SnapshotHub
from tests.conftest import RunningDaemon, make_settings
from tests.faults.conftest import RecordingAgent, health, recording_agent
from tests.live_feed_helpers import feeds
from tests.processes import DaemonProcess, daemon_process, run_monitord


def _write_config(tmp_path: Path, **sections: dict[str, object]) -> Path:
    lines = [
        f'data_dir = "{tmp_path / "data"}"',
        "[http]",
        'listen = "127.0.0.1:0"',
        "[grpc]",
        'listen = "127.0.0.1:0"',
    ]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {value!r}" for key, value in values.items())
    config = tmp_path / "monitord.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _add_servers(config: Path, count: int) -> list[tuple[int, str]]:
    servers = []
    for index in range(count):
        result = run_monitord("server", "add", f"load-{index}", "--config", str(config))
        assert result.returncode == 0, result.stderr
        server_id = re.search(r"server (\d+) registered", result.stdout)
        token = re.search(r"agent token \(shown once\): (\S+)", result.stdout)
        assert server_id and token
        servers.append((int(server_id[1]), token[1]))
    return servers


async def _addresses(process: DaemonProcess) -> tuple[str, ListenAddress]:
    grpc = re.search(r"agents \(gRPC\) on ([\d.]+):(\d+)", await process.wait_for_line("agents (gRPC) on"))
    http = re.search(r"http://(\S+)", await process.wait_for_line("dashboard and API on http://"))
    await process.wait_for_line("ready")
    assert grpc and http
    return f"http://{http[1]}", ListenAddress(grpc[1], int(grpc[2]))


@asynccontextmanager
async def _streaming(
    grpc: ListenAddress, servers: list[tuple[int, str]], batch: int, pause_seconds: float, gone: trio.Event
) -> AsyncIterator[list[RecordingAgent]]:
    """One agent call per server, each sending `batch` samples every `pause_seconds` (at most
    2000 unacked). Once `gone` is set the daemon may vanish under them: their calls just end."""
    agents: list[RecordingAgent] = []

    async def stream(token: str, started: trio.Event) -> None:
        try:
            async with recording_agent(grpc, token) as agent:
                agents.append(agent)
                started.set()
                while True:
                    await agent.send(agent.sent + 1, agent.sent + batch)
                    await agent.wait_until(lambda: agent.acked >= agent.sent - 2000 or agent.status is not None, 30)
                    if agent.status is not None:
                        return
                    await trio.sleep(pause_seconds)
        except* Exception:
            if not gone.is_set():
                raise

    async with trio.open_nursery() as nursery:
        for _, token in servers:
            started = trio.Event()
            nursery.start_soon(stream, token, started)
            await started.wait()
        yield agents
        nursery.cancel_scope.cancel()


def _stored(database: Path) -> tuple[str, dict[int, set[int]]]:
    """PRAGMA integrity_check, and every stored sample time by server."""
    connection = sqlite3.connect(database)
    try:
        (integrity,) = connection.execute("PRAGMA integrity_check").fetchone()
        times: dict[int, set[int]] = {}
        for server_id, time_ms in connection.execute("SELECT server_id, time_ms FROM metrics"):
            times.setdefault(server_id, set()).add(time_ms)
        return integrity, times
    finally:
        connection.close()


async def test_kill_9_during_a_write_burst_loses_no_acknowledged_sample(tmp_path: Path) -> None:
    config = _write_config(tmp_path, agents={"max_samples_per_second": 1_000_000.0})
    servers = _add_servers(config, 4)
    killed = trio.Event()
    async with daemon_process("--config", str(config), cwd=tmp_path) as process:
        _, grpc = await _addresses(process)
        async with _streaming(grpc, servers, batch=200, pause_seconds=0, gone=killed) as agents:
            with trio.fail_after(60):
                while sum(agent.acked for agent in agents) < 20_000:
                    await trio.sleep(0.05)
            killed.set()
            process.process.kill()  # SIGKILL, mid-burst
            await process.process.wait()
            await trio.lowlevel.checkpoint()  # acks already received are recorded; none can come now
            acked = {server_id: agent.acked for (server_id, _), agent in zip(servers, agents, strict=False)}
            sent = {server_id: agent.sent for (server_id, _), agent in zip(servers, agents, strict=False)}
            times = {server_id: agent.time_of for (server_id, _), agent in zip(servers, agents, strict=False)}
    assert process.process.returncode == -signal.SIGKILL

    async with daemon_process("--config", str(config), cwd=tmp_path) as restarted:
        http, _ = await _addresses(restarted)
        assert (await health(http))["status"] == "ok"
        restarted.process.send_signal(signal.SIGTERM)
        with trio.fail_after(10):
            assert await restarted.process.wait() == 0
    integrity, stored = _stored(tmp_path / "data" / "monitord.db")
    assert integrity == "ok"
    for server_id, through in acked.items():
        missing = [seq for seq in range(1, through + 1) if times[server_id](seq) not in stored.get(server_id, set())]
        assert not missing, f"server {server_id}: acked samples lost: {missing[:10]}"
    total_acked, total_sent = sum(acked.values()), sum(sent.values())
    total_stored = sum(len(stored.get(server_id, ())) for server_id in acked)
    print(
        f"\nFAULT kill -9: {total_sent} sent, {total_acked} acked, {total_stored} stored after restart; "
        f"acked lost: 0; unacked not stored (agents re-send): {total_sent - total_stored}; integrity_check ok"
    )


async def test_sigterm_under_load_exits_0_quickly_with_every_accepted_sample_stored(tmp_path: Path) -> None:
    # The writer waits 10 s before it writes: at the stop, everything accepted is still buffered,
    # so only the flush on stop can have stored it.
    config = _write_config(
        tmp_path, agents={"write_delay_seconds": 10.0, "write_batch_samples": 100_000}, push={"interval_seconds": 0.2}
    )
    servers = _add_servers(config, 20)
    stopping = trio.Event()
    async with daemon_process("--config", str(config), cwd=tmp_path) as process:
        http, grpc = await _addresses(process)
        host, port = http.removeprefix("http://").rsplit(":", 1)
        running = RunningDaemon(
            settings=make_settings(tmp_path / "data"),
            endpoints=Endpoints(http=ListenAddress(host, int(port))),
            shutdown=trio.Event(),
            hub=SnapshotHub(),
            stopped=trio.Event(),  # unused: another process
        )
        token = await running.login()
        close_codes: list[int | None] = []
        async with _streaming(grpc, servers, batch=10, pause_seconds=0.05, gone=stopping) as agents:
            async with feeds(running, token, 3) as connections:
                # Wait until a snapshot shows samples of every server: those were accepted.
                accepted: dict[int, int] = {}
                with trio.fail_after(20):
                    while len(accepted) < len(servers):
                        message = msgspec.json.decode(await connections[0].get_message())
                        accepted = {
                            s["id"]: datetime_to_ms(datetime.fromisoformat(s["latestMetrics"]["time"]))
                            for s in message["servers"]
                            if s["latestMetrics"] is not None
                        }
                stopping.set()
                process.process.send_signal(signal.SIGTERM)
                asked_at = trio.current_time()
                with trio.fail_after(10):
                    assert await process.process.wait() == 0
                stopped_in = trio.current_time() - asked_at
                for connection in connections:
                    try:
                        while True:
                            await connection.get_message()
                    except ConnectionClosed as closed:
                        close_codes.append(closed.reason.code if closed.reason else None)
        log = await process.read_rest()
    assert stopped_in < 5, stopped_in
    assert close_codes == [1001, 1001, 1001]
    assert "Traceback" not in log
    flushed = re.search(r"stored the (\d+) buffered samples before stopping", log)
    assert flushed, log
    _, stored = _stored(tmp_path / "data" / "monitord.db")
    by_server = {server_id: agent for (server_id, _), agent in zip(servers, agents, strict=False)}
    for server_id, newest in accepted.items():
        agent = by_server[server_id]
        expected = {agent.time_of(seq) for seq in range(1, agent.sent + 1) if agent.time_of(seq) <= newest}
        assert expected <= stored.get(server_id, set()), f"server {server_id}: accepted samples not stored"
    print(
        f"\nFAULT SIGTERM under load: 20 agents, 3 WebSockets; exit 0 in {stopped_in:.2f} s, "
        f"{flushed[1]} buffered samples flushed on stop, WebSockets closed 1001"
    )
