"""The live push against the real daemon with real WebSocket clients (CONTRACT §5).

Timing tests run on trio's MockClock, which stands still until a test jumps it: a message that
arrives while the clock stands still was not sent by a tick, and each jump makes exactly the
ticks it crosses. Real sockets are real, so `real_time_limit` bounds each test in wall time.
"""

from __future__ import annotations

import json
import re
import weakref
from pathlib import Path

import pytest
import trio
import trio.testing
import wsproto
from trio_websocket import ConnectionClosed, WebSocketConnection
from wsproto.events import Event

from monitord.push.hub import SnapshotHub
from monitord.push.snapshot import Snapshot
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import (
    PING,
    CountingEncoder,
    add_servers,
    feed,
    feeds,
    raw_handshake,
    read_frame,
    real_time_limit,
    subprotocols,
)

INTERVAL = 2.0

# CONTRACT §4 and §5, spelled out: the push must carry exactly these keys.
MESSAGE_KEYS = {"type", "generatedAt", "servers"}
SERVER_KEYS = {
    "activeAlerts",  # issue 15, additive
    "id",
    "name",
    "ipAddress",
    "status",
    "osType",
    "osVersion",
    "hostname",
    "kernelVersion",
    "arch",
    "cpuModel",
    "cpuCores",
    "agentVersion",
    "lastSeenAt",
    "createdAt",
    "latestMetrics",
    "tags",  # issue 16, additive
}
METRIC_KEYS = {
    "time",
    "cpuUsagePercent",
    "memoryUsageBytes",
    "memoryTotalBytes",
    "swapUsageBytes",
    "swapTotalBytes",
    "diskUsedBytes",
    "diskTotalBytes",
    "diskReadBps",
    "diskWriteBps",
    "networkRxInstantBps",
    "networkTxInstantBps",
    "networkRxTotalBytes",
    "networkTxTotalBytes",
    "load1",
    "load5",
    "load15",
    "processCount",
    "tcpConnections",
    "udpConnections",
    "uptimeSeconds",
}
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


async def _daemon(
    daemons: DaemonStarter, tmp_path: Path, *, servers: int = 0, padding_bytes: int = 0, **push: float
) -> tuple[RunningDaemon, CountingEncoder]:
    # Up to 51 clients of one user: above the default cap of live feeds per user.
    settings = make_settings(
        tmp_path / "data", push={"interval_seconds": INTERVAL, **push}, http={"max_live_feeds_per_user": 100}
    )
    if servers:
        settings.data_path.mkdir(parents=True)
        await add_servers(settings, servers, padding_bytes=padding_bytes)
    encode = CountingEncoder()
    return await daemons(settings, SnapshotHub(encode=encode)), encode


async def _closed_with(connection: WebSocketConnection) -> int | None:
    """Read (and drop) messages until the server closes; the close code."""
    while True:
        try:
            await connection.get_message()
        except ConnectionClosed as closed:
            return closed.reason.code if closed.reason else None


async def test_the_first_snapshot_comes_at_once_then_one_per_interval(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock
) -> None:
    running, encode = await _daemon(daemons, tmp_path)
    token = await running.login()
    with real_time_limit(30):
        async with feed(running, token) as client:
            first = await client.get_message()  # the clock has not moved: no tick sent this
            assert encode.calls == 1
            assert first == encode.outputs[0]
            for tick in range(1, 6):
                mock_clock.jump(INTERVAL * 0.75)
                await trio.testing.wait_all_tasks_blocked()
                assert encode.calls == tick  # not yet
                mock_clock.jump(INTERVAL * 0.25)
                assert await client.get_message() == encode.outputs[tick]
                assert encode.calls == tick + 1


async def test_pushed_items_carry_exactly_the_contract_keys(tmp_path: Path, daemons: DaemonStarter) -> None:
    running, _ = await _daemon(daemons, tmp_path, servers=3)
    token = await running.login()
    async with feed(running, token) as client:
        with trio.fail_after(10):
            message = json.loads(await client.get_message())
    assert set(message) == MESSAGE_KEYS
    assert message["type"] == "fullServerList"
    assert RFC3339_UTC.fullmatch(message["generatedAt"])
    assert [item["name"] for item in message["servers"]] == [f"server-000{i} in rack {i}" for i in range(3)]
    for item in message["servers"]:
        assert set(item) == SERVER_KEYS
        assert set(item["latestMetrics"]) == METRIC_KEYS
        assert RFC3339_UTC.fullmatch(item["lastSeenAt"]) and RFC3339_UTC.fullmatch(item["latestMetrics"]["time"])
    async with running.client(token) as rest:
        listed = (await rest.get("/api/servers")).json()["servers"]
    assert listed == message["servers"]  # the REST list and the push share one shape


async def test_each_tick_is_encoded_once_whatever_the_number_of_clients(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock
) -> None:
    running, encode = await _daemon(daemons, tmp_path, servers=2)
    token = await running.login()
    with real_time_limit(60):
        async with feeds(running, token, 20) as clients:
            for client in clients:
                assert await client.get_message() == encode.outputs[0]
            assert encode.calls == 1  # 20 clients connecting at once share one first snapshot
            for tick in range(1, 4):
                mock_clock.jump(INTERVAL)
                for client in clients:
                    assert await client.get_message() == encode.outputs[tick]
                assert encode.calls == tick + 1


async def test_each_tick_is_framed_once_not_per_client(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hypercorn frames what an app sends through wsproto, per client and with full-size copies;
    # snapshots go out as one frame built per tick instead, so wsproto frames no text message.
    framed_by_wsproto: list[str] = []
    send = wsproto.Connection.send

    def recording_send(self: wsproto.Connection, event: Event) -> bytes:
        framed_by_wsproto.append(type(event).__name__)
        return send(self, event)

    monkeypatch.setattr(wsproto.Connection, "send", recording_send)
    running, encode = await _daemon(daemons, tmp_path, servers=2)
    token = await running.login()
    with real_time_limit(60):
        async with feeds(running, token, 5) as clients:
            for tick in range(3):
                if tick:
                    mock_clock.jump(INTERVAL)
                for client in clients:
                    assert await client.get_message() == encode.outputs[tick]
    assert "TextMessage" not in framed_by_wsproto
    assert "Ping" in framed_by_wsproto  # the recorder did see these connections' frames


async def test_nothing_is_encoded_while_nobody_listens(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock
) -> None:
    running, encode = await _daemon(daemons, tmp_path)
    for _ in range(10):
        mock_clock.jump(INTERVAL)
        await trio.testing.wait_all_tasks_blocked()
    assert encode.calls == 0
    token = await running.login()
    with real_time_limit(30):
        async with feed(running, token) as client:
            await client.get_message()
            assert len(running.hub) == 1
        while len(running.hub):  # until the daemon has seen the client go
            await trio.testing.wait_all_tasks_blocked(cushion=0.01)
    for _ in range(10):
        mock_clock.jump(INTERVAL)
        await trio.testing.wait_all_tasks_blocked()
    assert encode.calls == 1


async def test_a_stalled_client_delays_no_one_holds_one_snapshot_and_is_cut_off(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock
) -> None:
    # ~800 KB snapshots: a client that stops reading fills the socket buffers within a few ticks.
    running, encode = await _daemon(daemons, tmp_path, servers=40, padding_bytes=20_000, send_timeout_seconds=10.0)
    token = await running.login()
    alive: list[weakref.ref[Snapshot]] = []
    with real_time_limit(120):
        async with feed(running, token, receive_buffer_bytes=4096) as stalled:
            (stalled_subscription,) = running.hub.subscriptions
            async with feeds(running, token, 50) as normal:
                for client in normal:
                    assert await client.get_message() == encode.outputs[0]
                tick = 0
                while tick < 20 or stalled_subscription in running.hub.subscriptions:
                    assert tick < 60, "the stalled client was never cut off"
                    tick += 1
                    mock_clock.jump(INTERVAL)
                    for client in normal:  # every normal client gets every tick, in order
                        assert await client.get_message() == encode.outputs[tick]
                    assert running.hub.latest is not None
                    alive.append(weakref.ref(running.hub.latest))
                    assert stalled_subscription.slot.pending <= 1
                    # The latest snapshot, the stalled client's pending one and the one stuck in its
                    # socket: nothing else is kept, however long it stalls.
                    assert sum(ref() is not None for ref in alive) <= 3
                assert encode.calls == tick + 1  # the producer never skipped a tick for the stalled one
                assert stalled_subscription.dropped > 0  # it fell behind: snapshots were replaced, not queued
                assert stalled_subscription.close_request is not None
                assert stalled_subscription.close_request.code is None  # cut off, not closed politely
                assert len(running.hub) == 50
                code = await _closed_with(stalled)
                assert code == 1006  # the connection was dropped under it


async def test_oversize_client_messages_are_closed_with_1008(
    running: RunningDaemon, admin_token: str, mock_clock: trio.testing.MockClock
) -> None:
    with real_time_limit(20):
        async with feed(running, admin_token) as client:
            await client.get_message()
            await client.send_message("x" * 5000)
            assert await _closed_with(client) == 1008


async def test_too_frequent_client_messages_are_closed_with_1008(
    running: RunningDaemon, admin_token: str, mock_clock: trio.testing.MockClock
) -> None:
    with real_time_limit(20):
        async with feed(running, admin_token) as client:
            await client.get_message()
            for _ in range(10):  # a burst of ten is tolerated ...
                await client.send_message("hello")
            mock_clock.jump(INTERVAL)
            await client.get_message()  # ... the feed goes on
            for _ in range(3):  # ... but not two ticks' worth more
                await client.send_message("hello")
            assert await _closed_with(client) == 1008


async def test_the_server_pings_at_an_interval(
    running: RunningDaemon, admin_token: str, mock_clock: trio.testing.MockClock
) -> None:
    status, _, stream = await raw_handshake(running, {"Sec-WebSocket-Protocol": ", ".join(subprotocols(admin_token))})
    assert status == 101
    with real_time_limit(20):
        async with stream:
            opcodes = sorted([(await read_frame(stream))[0], (await read_frame(stream))[0]])
            assert opcodes == [0x1, PING]  # the first snapshot, and hypercorn's ping on connecting
            mock_clock.jump(20.0)  # serve.WEBSOCKET_PING_INTERVAL_SECONDS
            assert PING in [(await read_frame(stream))[0] for _ in range(2)]
