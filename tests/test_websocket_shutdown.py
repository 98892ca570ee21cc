"""Shutdown closes every live feed with 1001 and stops in time, even with a client that never
reads (STACK traps 3 and 5). These run on the real clock: the point is wall-clock time."""

from __future__ import annotations

import re
import signal
from contextlib import AsyncExitStack
from pathlib import Path

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from monitord.config import ListenAddress
from monitord.daemon import Endpoints
from monitord.http.live_feed import CLOSE_TIMEOUT_SECONDS
from monitord.push.hub import SnapshotHub
from tests.conftest import RunningDaemon, make_settings, start_daemon
from tests.live_feed_helpers import add_servers, feed, raw_handshake, subprotocols
from tests.processes import daemon_process

# Big snapshots, often: a client that never reads fills its socket buffers within a second.
PUSH = {"interval_seconds": 0.1, "send_timeout_seconds": 600.0}  # only shutdown may end it
SERVERS, PADDING_BYTES = 40, 20_000


class _Reader:
    """Reads a feed to its end, counting messages; notes the close code."""

    def __init__(self, connection: WebSocketConnection) -> None:
        self.connection = connection
        self.messages = 0
        self.close_codes: list[int | None] = []
        self._progress = trio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self.connection.get_message()
            except ConnectionClosed as closed:
                self.close_codes.append(closed.reason.code if closed.reason else None)
                return
            self.messages += 1
            self._progress.set()
            self._progress = trio.Event()

    async def wait_for_messages(self, count: int) -> None:
        while self.messages < count:
            await self._progress.wait()


async def _never_reading_client(running: RunningDaemon, token: str) -> trio.SocketStream:
    """A client that completes the handshake and then never reads a byte."""
    status, _, stream = await raw_handshake(
        running, {"Sec-WebSocket-Protocol": ", ".join(subprotocols(token))}, receive_buffer_bytes=4096
    )
    assert status == 101
    return stream


async def test_shutdown_closes_feeds_with_1001_and_returns_despite_a_client_that_never_reads(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data", push=PUSH)
    settings.data_path.mkdir(parents=True)
    await add_servers(settings, SERVERS, padding_bytes=PADDING_BYTES)
    hub = SnapshotHub()
    with trio.fail_after(60):
        async with AsyncExitStack() as keep_open:  # outlives the daemon: this client never goes away
            async with trio.open_nursery() as daemon_nursery:
                running = await start_daemon(daemon_nursery, settings, hub)
                token = await running.login()
                await keep_open.enter_async_context(await _never_reading_client(running, token))
                async with feed(running, token) as connection, trio.open_nursery() as readers:
                    reader = _Reader(connection)
                    readers.start_soon(reader.run)
                    # 20 snapshots of 0.8 MB offered to the client that never reads: far more than
                    # the socket buffers take, so its sender is stuck in hypercorn's shielded send.
                    await reader.wait_for_messages(20)
                    stuck = [s for s in hub.subscriptions if s.dropped]
                    assert len(stuck) == 1 and stuck[0].slot.pending == 1
                    running.shutdown.set()
                    asked_at = trio.current_time()
                # Leaving daemon_nursery waits for daemon.run to return (an exception fails here).
            stopped_in = trio.current_time() - asked_at
    assert reader.close_codes == [1001]
    assert stopped_in < CLOSE_TIMEOUT_SECONDS + 2


async def test_sigterm_exits_0_within_seconds_despite_a_client_that_never_reads(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", push=PUSH)
    settings.data_path.mkdir(parents=True)
    await add_servers(settings, SERVERS, padding_bytes=PADDING_BYTES)
    config = tmp_path / "monitord.toml"
    config.write_text(
        f'data_dir = "{settings.data_dir}"\n[http]\nlisten = "127.0.0.1:0"\n[grpc]\nlisten = "127.0.0.1:0"\n'
        f"[push]\ninterval_seconds = {PUSH['interval_seconds']}\nsend_timeout_seconds = {PUSH['send_timeout_seconds']}\n"
    )
    async with daemon_process("--config", str(config), cwd=tmp_path) as process:
        line = await process.wait_for_line("dashboard and API on http://")
        await process.wait_for_line("ready")
        address = re.search(r"http://([\d.]+):(\d+)", line)
        assert address is not None
        running = RunningDaemon(
            settings=settings,
            endpoints=Endpoints(http=ListenAddress(address[1], int(address[2]))),
            shutdown=trio.Event(),  # unused: this daemon is another process
            hub=SnapshotHub(),  # unused: this daemon is another process
            stopped=trio.Event(),  # unused: this daemon is another process
        )
        token = await running.login()
        async with await _never_reading_client(running, token), feed(running, token) as connection:
            reader = _Reader(connection)
            async with trio.open_nursery() as readers:
                readers.start_soon(reader.run)
                with trio.fail_after(20):
                    await reader.wait_for_messages(20)  # as above: the other client's sender is stuck
                process.process.send_signal(signal.SIGTERM)
                with trio.fail_after(CLOSE_TIMEOUT_SECONDS + 4):
                    assert await process.process.wait() == 0
        log = await process.read_rest()
    assert reader.close_codes == [1001]
    assert "Traceback" not in log
