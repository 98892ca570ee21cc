"""HTTP/1.1 connection handling on hypercorn + quart-trio (STACK trap 1), one connection's
failure staying in that connection, and half-sent requests timing out."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
from hypercorn.config import Config
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol

from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import real_time_limit


async def _read_until_eof(stream: trio.SocketStream) -> bytes:
    received = b""
    while chunk := await stream.receive_some(65536):
        received += chunk
    return received


async def test_connection_close_request_reaches_eof(running: RunningDaemon) -> None:
    address = running.endpoints.http
    stream = await trio.open_tcp_stream(address.host, address.port)
    async with stream:
        await stream.send_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        with trio.fail_after(5):
            received = await _read_until_eof(stream)
    assert received.startswith(b"HTTP/1.1 200")
    assert b'"status":"ok"' in received


async def test_keep_alive_serves_two_requests_on_one_connection(running: RunningDaemon) -> None:
    address = running.endpoints.http
    stream = await trio.open_tcp_stream(address.host, address.port)
    async with stream:
        request = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        await stream.send_all(request + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        with trio.fail_after(5):
            received = await _read_until_eof(stream)
    assert received.count(b"HTTP/1.1 200") == 2


async def test_a_refused_request_with_a_body_keeps_the_connection_usable(running: RunningDaemon) -> None:
    # A 401 is decided before the body is read. The connection must still carry the next
    # request: clients reuse keep-alive connections that were not announced as closing.
    address = running.endpoints.http
    body = b'{"name": "x"}' * 100
    refused = (
        b"POST /api/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    follow_up = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    stream = await trio.open_tcp_stream(address.host, address.port)
    async with stream:
        await stream.send_all(refused)
        with trio.fail_after(5):
            first = await stream.receive_some(65536)
        assert first.startswith(b"HTTP/1.1 401")
        await stream.send_all(follow_up)
        with trio.fail_after(5):
            rest = await _read_until_eof(stream)
    assert b"HTTP/1.1 200" in first + rest


async def test_an_internal_error_in_one_connection_leaves_the_server_serving(
    running: RunningDaemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Stands in for any protocol-layer bug a client's bytes might trip inside hypercorn (one did:
    # an oversize WebSocket message followed by another frame). Unpatched, hypercorn lets the
    # exception out of the connection and its server, and so the daemon, stops.
    handle = H11Protocol.handle

    async def handle_or_fail(self: H11Protocol, event: object) -> None:
        if isinstance(event, RawData) and b"X-Trip: wire" in event.data:
            raise TypeError("tripped inside the protocol layer")
        await handle(self, event)

    monkeypatch.setattr(H11Protocol, "handle", handle_or_fail)
    address = running.endpoints.http
    async with await trio.open_tcp_stream(address.host, address.port) as tripping:
        await tripping.send_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trip: wire\r\n\r\n")
        with trio.fail_after(5):
            assert await _read_until_eof(tripping) == b""  # that connection ends, answered by nothing

    async with await trio.open_tcp_stream(address.host, address.port) as other:
        await other.send_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        with trio.fail_after(5):
            assert (await _read_until_eof(other)).startswith(b"HTTP/1.1 200")
    assert not running.stopped.is_set()
    assert "dropped a connection after an internal error (TypeError)" in caplog.text


async def test_a_half_sent_request_is_closed_after_about_5_seconds(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock
) -> None:
    # A client that sends part of a request head, then trickles or nothing (slowloris), holds
    # its connection no longer than hypercorn's keep-alive timeout (the daemon keeps its default),
    # which runs from the connection's start until a whole request head has arrived.
    timeout = Config.keep_alive_timeout
    assert timeout <= 5
    running = await daemons(make_settings(tmp_path / "data"))
    address = running.endpoints.http
    received: list[bytes] = []
    closed = trio.Event()

    async def read_until_closed(stream: trio.SocketStream) -> None:
        received.append(await _read_until_eof(stream))
        closed.set()

    stream = await trio.open_tcp_stream(address.host, address.port)
    async with stream, trio.open_nursery() as nursery:
        await stream.send_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        nursery.start_soon(read_until_closed, stream)
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(timeout / 2)
        await stream.send_all(b"X-Trickle: 1\r\n")  # more bytes do not extend the deadline
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(timeout / 2 - 0.1)
        await trio.testing.wait_all_tasks_blocked()
        assert not closed.is_set()
        mock_clock.jump(0.2)
        with real_time_limit(5):
            await closed.wait()
    assert received == [b""]  # closed without an answer
