"""Fixtures for agent tests: the real daemon in-process, real agents, real gRPC calls.

Timing uses trio's MockClock (`clock`), frozen during setup and then jumping to the next timer
whenever the program has idled for `AUTOJUMP_THRESHOLD_SECONDS` of real time. Not at once: the
daemon writes SQLite and the agent reads psutil in worker threads, which look idle to trio, and a
jump straight to a test's deadline while a thread works would fail it for nothing. Tests wait in
small steps (`wait_for`), so time moves at most one step per real pause.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from purerpc.grpclib.events import MessageReceived, ResponseEnded
from purerpc.grpclib.status import Status
from trio.testing import MockClock

from monitord.agent.collector import Collector
from monitord.agent.config import AgentSettings
from monitord.agent.run import Agent
from monitord.config import ListenAddress, Settings
from monitord.grpc_transport import CallStream, StreamWasReset, open_channel
from monitord.models import METRIC_FIELDS, now_ms
from monitord.proto import monitord_grpc
from monitord.proto import monitord_pb2 as pb
from tests.conftest import RunningDaemon

AUTOJUMP_THRESHOLD_SECONDS = 0.02


@pytest.fixture
def clock(mock_clock: MockClock) -> MockClock:
    """Virtual time, frozen until the test calls `jump_when_idle` (see the module docstring).

    Setup over HTTP (login hashes a password in a thread) runs before the jumps start, so no
    HTTP timeout can be jumped to while a thread works.
    """
    return mock_clock


def jump_when_idle(clock: MockClock) -> None:
    """Let `clock` run: jump to the next timer after a brief real idle (see the module docstring)."""
    clock.autojump_threshold = AUTOJUMP_THRESHOLD_SECONDS


def trio_wall_clock() -> Callable[[], int]:
    """Unix milliseconds that advance with trio's clock (virtual in tests), starting from now.

    Agents stamp samples with it, so a jump of the mock clock moves their timestamps too.
    """
    start_wall = now_ms()
    start_trio = trio.current_time()
    return lambda: start_wall + round((trio.current_time() - start_trio) * 1000)


async def register_server(daemon: RunningDaemon, name: str = "web-1") -> tuple[int, str]:
    """Create a server through the REST API; returns (id, agent token)."""
    token = await daemon.login()
    async with daemon.client(token) as client:
        response = await client.post("/api/servers", json={"name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["server"]["id"], body["agentToken"]


def agent_settings(address: ListenAddress, token: str, **overrides: Any) -> AgentSettings:
    values: dict[str, Any] = {"server": str(address), "token": token, "interval_seconds": 1.0, **overrides}
    return AgentSettings(**values)


@asynccontextmanager
async def running_agent(
    nursery: trio.Nursery, settings: AgentSettings, *, collector: Collector | None = None
) -> AsyncIterator[Agent]:
    """A real agent (real psutil unless `collector` is given, real gRPC) in `nursery`; cancelled
    when the block exits."""
    agent = Agent(settings, collector=collector, wall_clock_ms=trio_wall_clock())
    scope = trio.CancelScope()
    nursery.start_soon(_run_in_scope, agent, scope)
    try:
        yield agent
    finally:
        scope.cancel()


async def _run_in_scope(agent: Agent, scope: trio.CancelScope) -> None:
    with scope:
        await agent.run()


def stored_times(settings: Settings, server_id: int) -> list[int]:
    """Every stored sample time of `server_id` (ms, ascending), read from the database file."""
    connection = sqlite3.connect(Path(settings.data_dir) / "monitord.db")
    try:
        rows = connection.execute("SELECT time_ms FROM metrics WHERE server_id = ? ORDER BY time_ms", (server_id,))
        return [time_ms for (time_ms,) in rows]
    finally:
        connection.close()


async def wait_for(predicate: Callable[[], bool], *, timeout: float, step: float = 0.1) -> None:
    """Wait (trio time) until `predicate()` holds; fails after `timeout` seconds."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(step)


def sample(seq: int, timestamp_ms: int | None = None, **values: float) -> pb.Sample:
    """A plausible sample with every field set (so its size is realistic); `values` override."""
    fields: dict[str, float] = dict(
        cpu_usage_percent=12.5,
        memory_usage_bytes=3_000_000_000,
        memory_total_bytes=8_000_000_000,
        swap_usage_bytes=1_000_000,
        swap_total_bytes=2_000_000_000,
        disk_used_bytes=100_000_000_000,
        disk_total_bytes=500_000_000_000,
        disk_read_bps=12_345.5,
        disk_write_bps=54_321.5,
        network_rx_instant_bps=1_000.25,
        network_tx_instant_bps=2_000.25,
        network_rx_total_bytes=9_000_000_000,
        network_tx_total_bytes=8_000_000_000,
        load1=0.5,
        load5=0.25,
        load15=0.125,
        process_count=190,
        tcp_connections=40,
        udp_connections=5,
        uptime_seconds=86_400,
    )
    assert set(fields) == set(METRIC_FIELDS)
    fields.update(values)
    return pb.Sample(seq=seq, timestamp_ms=now_ms() if timestamp_ms is None else timestamp_ms, **fields)


def metrics(*samples: pb.Sample) -> pb.AgentMessage:
    return pb.AgentMessage(metrics=pb.MetricsBatch(samples=list(samples)))


HELLO = pb.AgentMessage(hello=pb.Hello(hostname="test-host", os_type="Linux", cpu_cores=4, agent_version="test"))


@dataclass
class RawCall:
    """A hand-driven agent call (purerpc client, the agent's transport), for protocol tests."""

    stream: CallStream

    async def send(self, message: pb.AgentMessage) -> None:
        await self.stream.send_message(message)

    async def receive(self) -> pb.ServerMessage | None:
        """The next reply, or None once the call has ended (see `status`)."""
        while True:
            event = await self.stream.receive_event()
            if isinstance(event, MessageReceived):
                message: pb.ServerMessage = event.data
                return message
            if isinstance(event, (ResponseEnded, StreamWasReset)):
                return None

    async def ended_with(self) -> Status:
        """Read until the call ends; its status."""
        while (await self.receive()) is not None:
            pass
        status = self.stream.end_stream_event.status
        assert isinstance(status, Status)
        return status


@asynccontextmanager
async def agent_call(
    address: ListenAddress, token: str | None, *, authorization: str | None = None, **channel: Any
) -> AsyncIterator[RawCall]:
    """A call to `AgentService.Connect` carrying `Bearer <token>` (or the raw `authorization`
    header value, or none)."""
    if authorization is None and token is not None:
        authorization = f"Bearer {token}"
    metadata = (("authorization", authorization),) if authorization is not None else ()
    async with open_channel(address.host, address.port, **channel) as ch:
        stream = await monitord_grpc.AgentServiceStub(ch).Connect(metadata=metadata)
        try:
            yield RawCall(stream)
        finally:
            stream.release()


class TcpProxy:
    """A TCP relay between an agent and the daemon that can swallow the daemon's replies (acks)
    and cut every connection: a network that loses acks, made of real sockets."""

    def __init__(self, target: ListenAddress) -> None:
        self.target = target
        self.swallow_replies = False
        self.connections = 0
        self._scopes: list[trio.CancelScope] = []
        self.address: ListenAddress | None = None

    async def serve(self, *, task_status: trio.TaskStatus[ListenAddress] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        self.address = ListenAddress("127.0.0.1", port)
        task_status.started(self.address)
        await trio.serve_listeners(self._relay, listeners)

    def cut(self) -> None:
        """Close every relayed connection now."""
        for scope in self._scopes:
            scope.cancel()
        self._scopes.clear()

    async def _relay(self, client: trio.SocketStream) -> None:
        self.connections += 1
        with trio.CancelScope() as scope:
            self._scopes.append(scope)
            async with client, await trio.open_tcp_stream(self.target.host, self.target.port) as upstream:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pipe, client, upstream, False)
                    nursery.start_soon(self._pipe, upstream, client, True)

    async def _pipe(self, source: trio.SocketStream, sink: trio.SocketStream, replies: bool) -> None:
        try:
            async for chunk in source:
                if replies and self.swallow_replies:
                    continue
                await sink.send_all(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        with trio.CancelScope(shield=True):
            await sink.aclose()
