"""Helpers for the live-feed tests: real WebSocket clients, raw handshakes, a filled cache."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

import trio
from trio_websocket import ConnectionRejected, WebSocketConnection, wrap_client_stream

from monitord.config import Settings
from monitord.models import HostFacts, MetricsSample, ms_to_datetime, now_ms
from monitord.storage import open_storage
from monitord.wire import FullServerList, encoder
from tests.conftest import RunningDaemon

SNAPSHOT_LIMIT_BYTES = 8 * 2**20


def subprotocols(token: str | None) -> list[str]:
    return ["monitord.v1", f"bearer.{token}"] if token is not None else ["monitord.v1"]


@asynccontextmanager
async def feeds(
    running: RunningDaemon,
    token: str | None,
    count: int,
    *,
    origin: str | None = None,
    offered: list[str] | None = None,
    receive_buffer_bytes: int | None = None,
    local_host: str | None = None,
) -> AsyncIterator[list[WebSocketConnection]]:
    """`count` trio-websocket clients on /ws/servers, sharing one nursery.

    Errors arrive in one ExceptionGroup (use except*). The sockets are ours and closed on exit
    without a closing handshake: trio-websocket 0.12 fails ("Pong cannot be sent in state
    LOCAL_CLOSING") when a server ping crosses its close frame, and hypercorn pings right after
    the upgrade; it would also leave the socket open when the handshake is refused.
    `receive_buffer_bytes` shrinks the receive buffer, so a client that stops reading stalls
    the server's sends after a few snapshots rather than after megabytes. `local_host` binds the
    clients to another loopback address (any of 127.0.0.0/8), so they come from another client.
    """
    address = running.endpoints.http
    headers = [(b"origin", origin.encode())] if origin is not None else None
    protocols = offered if offered is not None else subprotocols(token)
    async with AsyncExitStack() as streams, trio.open_nursery() as nursery:
        connections = []
        for _ in range(count):
            sock = trio.socket.socket()
            stream = await streams.enter_async_context(trio.SocketStream(sock))
            if receive_buffer_bytes is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
            if local_host is not None:
                await sock.bind((local_host, 0))
            await sock.connect((address.host, address.port))
            connections.append(
                await wrap_client_stream(
                    nursery,
                    stream,
                    f"{address.host}:{address.port}",
                    "/ws/servers",
                    subprotocols=protocols,
                    extra_headers=headers,
                    max_message_size=SNAPSHOT_LIMIT_BYTES,
                    receive_buffer_size=None,
                )
            )
        yield connections
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def feed(running: RunningDaemon, token: str | None, **options: Any) -> AsyncIterator[WebSocketConnection]:
    """One client, as `feeds` makes them."""
    async with feeds(running, token, 1, **options) as (connection,):
        yield connection


async def rejection(running: RunningDaemon, token: str | None, **options: object) -> ConnectionRejected:
    """The refusal of a handshake that must be refused before the upgrade."""
    refused: ConnectionRejected | None = None
    try:
        async with feed(running, token, **options):
            pass
    except* ConnectionRejected as group:
        refused = group.exceptions[0]  # type: ignore[assignment]
    assert refused is not None, "the handshake was accepted"
    return refused


async def raw_handshake(
    running: RunningDaemon, extra_headers: dict[str, str], *, receive_buffer_bytes: int | None = None
) -> tuple[int, dict[str, str], trio.SocketStream]:
    """Send a WebSocket upgrade by hand; the status line, the headers (lower-cased) and the stream."""
    address = running.endpoints.http
    sock = trio.socket.socket()
    if receive_buffer_bytes is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
    await sock.connect((address.host, address.port))
    stream = trio.SocketStream(sock)
    headers = {
        "Host": f"{address.host}:{address.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        **extra_headers,
    }
    request = "GET /ws/servers HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    await stream.send_all(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        # One byte at a time: nothing past the response head may be consumed here.
        chunk = await stream.receive_some(1)
        assert chunk, "the server closed before answering"
        head += chunk
    status_line, *lines = head.decode("latin-1").split("\r\n")
    response_headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), response_headers, stream


PING = 0x9


async def read_data_frame(stream: trio.SocketStream) -> tuple[int, bytes]:
    """(opcode, payload) of the next frame that is not a ping (hypercorn pings on connecting)."""
    while True:
        opcode, payload = await read_frame(stream)
        if opcode != PING:
            return opcode, payload


async def read_frame(stream: trio.SocketStream) -> tuple[int, bytes]:
    """(opcode, payload) of one unfragmented, unmasked server frame."""

    async def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = await stream.receive_some(count - len(data))
            assert chunk, "the connection closed mid-frame"
            data += chunk
        return data

    first, second = await exactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await exactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await exactly(8), "big")
    return first & 0x0F, await exactly(length)


class CountingEncoder:
    """The snapshot encoder, counting its calls and keeping each output, in order."""

    def __init__(self) -> None:
        self.outputs: list[str] = []
        self._waiters: list[tuple[int, trio.Event]] = []

    def __call__(self, message: FullServerList) -> bytes:
        payload = encoder.encode(message)
        self.outputs.append(payload.decode())
        for count, event in self._waiters:
            if self.calls >= count:
                event.set()
        return payload

    @property
    def calls(self) -> int:
        return len(self.outputs)

    async def wait_for_calls(self, count: int) -> None:
        """Return once the encoder has been called `count` times in all."""
        event = trio.Event()
        if self.calls >= count:
            event.set()
        self._waiters.append((count, event))
        await event.wait()


@contextmanager
def real_time_limit(seconds: float) -> Iterator[None]:
    """Fail after `seconds` of wall-clock time, whatever trio's clock does (mock clocks stand still)."""
    token = trio.lowlevel.current_trio_token()
    with trio.CancelScope() as scope:
        timer = threading.Timer(seconds, lambda: token.run_sync_soon(scope.cancel))
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
    if scope.cancelled_caught:
        raise TimeoutError(f"took longer than {seconds} s of real time")


async def add_servers(settings: Settings, count: int, *, padding_bytes: int = 0) -> None:
    """Register `count` servers with host facts and one sample each, before the daemon starts.

    A real server takes ~900 bytes of a snapshot; `padding_bytes` more per server (in its CPU
    model) make big snapshots from few servers, which is quick to set up.
    """
    now = now_ms()
    async with open_storage(settings) as storage:
        samples = []
        for index in range(count):
            record = await storage.create_server(f"server-{index:04d} in rack {index % 40}", "!", now_ms=now)
            await storage.update_host_facts(
                record.id,
                HostFacts(
                    hostname=f"host-{index:04d}.example.internal",
                    os_type="linux",
                    os_version="Debian 12",
                    kernel_version="6.1.0-18-amd64",
                    arch="x86_64",
                    cpu_model="AMD EPYC 7763 64-Core Processor" + " " * padding_bytes,
                    cpu_cores=8,
                    agent_version="0.1.0",
                    ip_address=f"10.0.{index // 250}.{index % 250 + 1}",
                ),
            )
            samples.append((record.id, sample(now - 1000)))
        await storage.insert_samples(samples)


def sample(at_ms: int) -> MetricsSample:
    return MetricsSample(
        time=ms_to_datetime(at_ms),
        cpu_usage_percent=12.5,
        memory_usage_bytes=3_221_225_472,
        memory_total_bytes=8_589_934_592,
        swap_usage_bytes=0,
        swap_total_bytes=2_147_483_648,
        disk_used_bytes=42_949_672_960,
        disk_total_bytes=107_374_182_400,
        disk_read_bps=1024.0,
        disk_write_bps=20480.0,
        network_rx_instant_bps=125_000.0,
        network_tx_instant_bps=64_000.0,
        network_rx_total_bytes=987_654_321,
        network_tx_total_bytes=123_456_789,
        load1=0.42,
        load5=0.37,
        load15=0.30,
        process_count=187,
        tcp_connections=42,
        udp_connections=7,
        uptime_seconds=1_234_567,
    )
