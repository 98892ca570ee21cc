"""What the WebSocket route needs from hypercorn that hypercorn has no setting for.

Both reach into hypercorn 0.17.3 internals (pinned in pyproject.toml; tests/test_websocket_*.py
fail if they move):

- permessage-deflate our way (STACK trap 4, ws_deflate.py). hypercorn accepts every deflate
  offer with wsproto's per-connection compressor, and browsers always offer it; compressing each
  0.5 MB snapshot per client costs 6-10x the send itself. `Handshake.accept` hard-codes that
  extension, so the stream's handshake gets an accept that negotiates `SharedDeflate` instead
  (or nothing), whose frames are compressed once for every client (push/frames.py).
- Aborting a connection (STACK trap 3). hypercorn sends under a cancel shield, so a client that
  stops reading blocks the sending task beyond the reach of any timeout or cancellation, and
  with it shutdown. Closing the socket wakes that task (trio raises ClosedResourceError in it,
  which hypercorn handles as a closed connection). SO_LINGER 0 turns the close into a reset, so
  the kernel frees the unsent data at once.
- Pings that stop with the connection. hypercorn's per-connection ping task sleeps the whole
  ping interval between pings and only then sees that the connection closed; its connection
  task waits for it, so at shutdown every WebSocket held hypercorn for its graceful timeout
  (STACK trap 5 needs it to return in milliseconds). The stream's worker context, used for
  nothing but that sleep, is swapped for one whose sleep also ends when the app is done.

- Frames after an oversize message. hypercorn answers a message over its limit with close 1009
  but keeps the full buffer, so the next frame the client already had in flight raises inside
  hypercorn (TypeError for text after binary, or a second close frame), and an exception there
  ends hypercorn's whole server: any logged-in client could stop the daemon. The stream's
  buffer is swapped for one that drops everything after an oversize message.

- One frame for every client. A message sent through ASGI is framed by wsproto per client,
  with several full-size copies each (STACK trap 11): at 1000 clients that, not encoding, was
  most of a tick's CPU and gigabytes of transient memory. The scope also carries `send_frame`,
  which hands a frame built once per tick (push/snapshot.py) to the same `WSStream.send` path
  wsproto's output takes, under the same guards as `WSStream.app_send` (nothing once the
  connection is closing). Frames are only ever whole messages, so wsproto's own state stays
  right for the pings and the close frame it still sends.

The middleware finds the socket through the bound methods hypercorn hands the app:
ASGI send = WSStream.app_send → WSStream.send = H11Protocol.stream_send → H11Protocol.send =
TCPServer.protocol_send → TCPServer.stream (a trio.SocketStream).
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, cast

import trio
from hypercorn.protocol.events import Data
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.protocol.ws_stream import ASGIWebsocketState, FrameTooLargeError, Handshake, WebsocketBuffer, WSStream
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.typing import WorkerContext
from wsproto.connection import Connection, ConnectionState
from wsproto.events import Message

from monitord.http.ws_deflate import ACCEPT_RESPONSE, FailingConnection, SharedDeflate, negotiate

log = logging.getLogger("monitord.http")

# The ASGI scope extension the route reads:
# {"abort": Callable[[], None] | None, "send_frame": Callable[[bytes], Awaitable[None]] | None,
#  "deflate": bool (the client negotiated the shared permessage-deflate; send_frame then takes
#  deflated frames too)}.
TRANSPORT_EXTENSION = "monitord.transport"

Abort = Callable[[], None]
SendFrame = Callable[[bytes], Awaitable[None]]


def transport_abort(scope: Mapping[str, Any]) -> Abort | None:
    """The abort function the middleware put in a WebSocket scope, if any."""
    extension = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION) or {}
    abort: Abort | None = extension.get("abort")
    return abort


def transport_send_frame(scope: Mapping[str, Any]) -> SendFrame | None:
    """The pre-built-frame sender the middleware put in a WebSocket scope, if any."""
    extension = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION) or {}
    send_frame: SendFrame | None = extension.get("send_frame")
    return send_frame


def transport_deflate(scope: Mapping[str, Any]) -> bool:
    """Whether the connection of a WebSocket scope negotiated the shared permessage-deflate."""
    extension = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION) or {}
    return bool(extension.get("deflate", False))


def _negotiate_on_accept(handshake: Handshake, deflate: bool) -> None:
    """Make `handshake` answer with the shared deflate (or no extension) and a connection that
    refuses compressed client frames and closes on protocol errors (ws_deflate.py)."""
    hypercorn_accept = handshake.accept
    handshake.extensions = None  # hypercorn's own PerMessageDeflate negotiates nothing then

    def accept(
        subprotocol: str | None, additional_headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], Connection]:
        status_code, headers, _ = hypercorn_accept(subprotocol, additional_headers)
        if deflate:
            headers.append((b"sec-websocket-extensions", ACCEPT_RESPONSE.encode()))
        return status_code, headers, FailingConnection([SharedDeflate()] if deflate else [])

    handshake.accept = accept  # type: ignore[method-assign]  # one connection's handshake only


def _frame_sender_for(stream: WSStream) -> SendFrame:
    async def send_frame(frame: bytes) -> None:
        # WSStream.app_send sends nothing once the stream is closed or was never accepted, and
        # wsproto nothing once a close frame went either way: the same here.
        connection = getattr(stream, "connection", None)
        if stream.closed or stream.state != ASGIWebsocketState.CONNECTED or connection is None:
            return
        if connection.state is not ConnectionState.OPEN:
            return
        await stream.send(Data(stream_id=stream.stream_id, data=frame))

    return send_frame


def _abort_for(stream: WSStream) -> Abort | None:
    protocol = getattr(stream.send, "__self__", None)
    server = getattr(getattr(protocol, "send", None), "__self__", None)
    if not isinstance(protocol, H11Protocol) or not isinstance(server, TCPServer):
        return None  # HTTP/2 WebSockets share the connection with other streams: never abort it
    transport = server.stream
    if not isinstance(transport, trio.SocketStream):
        return None
    sock = transport.socket

    def abort() -> None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            return  # already closed
        sock.close()

    return abort


class _PingContext:
    """hypercorn's WorkerContext for one WSStream, with a sleep that ends when the app is done."""

    def __init__(self, context: Any, app_done: trio.Event) -> None:
        self._context = context
        self._app_done = app_done

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    async def sleep(self, seconds: float) -> None:
        if self._app_done.is_set():
            # Not expected: hypercorn marks the stream closed before the ping loop can run again
            # after the app is done. Should that change, the loop still cannot spin.
            await trio.sleep(min(seconds, 0.1))
            return
        with trio.move_on_after(seconds):
            await self._app_done.wait()


class _OverflowSafeBuffer(WebsocketBuffer):
    """hypercorn's message buffer, inert once a message was too big (the connection is closing
    with 1009 then): later frames are dropped and reach the app as empty messages."""

    def __init__(self, max_length: int) -> None:
        super().__init__(max_length)
        self._overflowed = False

    def extend(self, event: Message[Any]) -> None:
        if self._overflowed:
            return
        try:
            super().extend(event)
        except FrameTooLargeError:
            self._overflowed = True
            super().clear()
            raise

    def to_message(self) -> dict[str, Any]:
        if self.value is None:
            return {"type": "websocket.receive", "bytes": b"", "text": None}
        return super().to_message()


class HypercornWebSockets:
    """ASGI middleware for WebSocket scopes: the shared permessage-deflate (when `compression`
    and the client offers it) or none, an abort handle and a pre-built-frame sender in the
    scope, hypercorn's ping task ending with the app, and a buffer that survives oversize
    messages."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, compression: bool = True) -> None:
        self.app = app
        self._compression = compression
        self._warned = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            stream = getattr(send, "__self__", None)
            abort = None
            send_frame = None
            app_done = trio.Event()
            deflate = False
            if isinstance(stream, WSStream):
                offers = [value for name, value in scope["headers"] if name.lower() == b"sec-websocket-extensions"]
                deflate = self._compression and negotiate(offers)
                _negotiate_on_accept(stream.handshake, deflate)
                stream.context = cast(WorkerContext, _PingContext(stream.context, app_done))  # duck-typed
                stream.buffer = _OverflowSafeBuffer(stream.buffer.max_length)
                abort = _abort_for(stream)
                send_frame = _frame_sender_for(stream)
            elif not self._warned:
                self._warned = True
                log.warning(
                    "hypercorn internals changed: WebSocket deflate is per client, snapshots are framed per "
                    "client and stuck clients wait for TCP timeouts"
                )
            transport = {"abort": abort, "send_frame": send_frame, "deflate": deflate}
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), TRANSPORT_EXTENSION: transport}}
            try:
                await self.app(scope, receive, send)
            finally:
                app_done.set()
            return
        await self.app(scope, receive, send)
