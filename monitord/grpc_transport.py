"""gRPC over purerpc's protocol layer, with the fixes this stack needs (STACK traps 2, 6, 7).

The daemon and the agent both speak gRPC through purerpc's `GRPCProtoSocket` (HTTP/2 framing,
gRPC messages), but neither uses purerpc's `Server` nor its dispatch:

- `Server.serve_async` binds every interface with SO_REUSEPORT (trap 2); the daemon binds its own
  listener (monitord.ingest.server).
- purerpc's dispatch catches everything with bare `except:` (it swallows cancellation) and sends
  `repr(sys.exc_info())` to the client (trap 6); the daemon's handler closes every call with a
  status it chose.
- A message over purerpc's limit raises inside the connection's reader and kills the whole
  connection with no status; here it becomes a `MessageTooLarge` event for that one call, which
  the handler answers with RESOURCE_EXHAUSTED (trap 7). Its data is discarded, not buffered.
- A stream reset by the peer is invisible in purerpc (the handler would wait forever); here it is
  a `StreamWasReset` event.
- purerpc never closes the per-stream memory channels nor the socket (ResourceWarnings, trap 6);
  `CallStream.release` and the owners of the sockets do.

Pinned to purerpc 0.8.0: the subclasses below override its internals (`_listen`, `_data_received`).
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import h2.events
import h2.exceptions
from google.protobuf.message import DecodeError, Message
from purerpc.grpc_proto import GRPCProtoSocket, GRPCProtoStream
from purerpc.grpc_socket import GRPCStream, SocketWrapper
from purerpc.grpclib.config import GRPCConfiguration
from purerpc.grpclib.connection import GRPCConnection
from purerpc.grpclib.events import Event, MessageReceived, RequestEnded, RequestReceived, ResponseEnded, WindowUpdated
from purerpc.grpclib.exceptions import GRPCError, MessageTooLargeError
from purerpc.grpclib.status import Status, StatusCode

# A stream that broke at the transport level ends with one of these; callers treat them as
# "the peer is gone", never as a bug.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,  # includes ssl.SSLError and ConnectionError
    h2.exceptions.H2Error,
    GRPCError,
)


class MessageTooLarge(Event):
    """The peer announced a message bigger than the configured maximum; the call must end."""

    def __init__(self, stream_id: int, limit: int) -> None:
        self.stream_id = stream_id
        self.limit = limit


class StreamWasReset(Event):
    """The peer reset the stream (RST_STREAM): nothing more can be sent or received on it."""

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id


class MalformedMessage(Exception):
    """A gRPC message whose bytes are not the expected protobuf message."""


class _Discard:
    """Stands in for a stream's read buffer once it sent an oversize message: data is dropped."""

    def data_received(self, data: bytes, flow_controlled_length: int | None = None) -> None:
        return None

    def read_all_complete_messages_flowcontrol(self) -> list[tuple[bytes, int]]:
        return []


_DISCARD = _Discard()


class _Connection(GRPCConnection):
    # Calls per connection; an agent needs one. purerpc advertises 65,536 (trap 7).
    MAX_CONCURRENT_STREAMS = 16

    def _data_received(self, event: h2.events.DataReceived) -> list[Event]:
        buffer = self.message_read_buffers.get(event.stream_id)
        if buffer is None:
            # Data on a stream we no longer read (purerpc itself would KeyError here and drop the
            # whole connection).
            return []
        try:
            buffer.data_received(event.data, event.flow_controlled_length)
        except MessageTooLargeError:
            # Messages completed before the oversize header are still delivered, in order.
            complete = buffer.read_all_complete_messages_flowcontrol()
            self.message_read_buffers[event.stream_id] = _DISCARD
            return [
                *(MessageReceived(event.stream_id, data, length) for data, length in complete),
                MessageTooLarge(event.stream_id, self.config.max_message_length),
            ]
        return [
            MessageReceived(event.stream_id, data, length)
            for data, length in buffer.read_all_complete_messages_flowcontrol()
        ]

    def _stream_reset(self, event: h2.events.StreamReset) -> list[Event]:
        self.message_read_buffers.pop(event.stream_id, None)
        return [StreamWasReset(event.stream_id)]


class CallStream(GRPCProtoStream):
    """One gRPC call's stream. `receive_event` parses messages; `release` frees its channels."""

    async def _receive(self) -> Any:
        event = await self._incoming_events[1].receive()
        if isinstance(event, (MessageTooLarge, StreamWasReset)):
            return event  # ours: purerpc's version would take them for the stream's headers
        return await self._classify(event)

    async def _classify(self, event: Any) -> Any:
        # purerpc's GRPCStream._receive, after the channel read.
        if isinstance(event, MessageReceived):
            self._grpc_connection.acknowledge_received_data(self._stream_id, event.flow_controlled_length)
            await self._socket.flush()
        elif isinstance(event, (RequestEnded, ResponseEnded)):
            self._end_stream_event = event
        else:
            self._start_stream_event = event
        return event

    async def receive_event(self) -> Any:
        """The next event; a message is parsed into the expected type.

        Raises MalformedMessage when the bytes do not parse.
        """
        event = await self._receive()
        if isinstance(event, MessageReceived) and hasattr(self, "_incoming_message_type"):
            message: Message = self._incoming_message_type()
            try:
                message.ParseFromString(event.data)
            except DecodeError:
                raise MalformedMessage("the message is not a valid protobuf message") from None
            event.data = message
        return event

    def release(self) -> None:
        """Close the stream's in-memory event channel (purerpc never does: ResourceWarning)."""
        send, receive = self._incoming_events
        send.close()
        receive.close()

    async def finish(self, status: Status) -> None:
        """End the call with `status` (server side); a no-op when the stream is already gone."""
        try:
            await self.close(status)
        except (TypeError, h2.exceptions.H2Error, GRPCError):
            # TypeError: purerpc's "closing already closed stream"; H2Error: the peer reset it.
            pass


class GrpcSocket(GRPCProtoSocket):
    """purerpc's gRPC connection with the fixes described in this module's docstring."""

    StreamClass = CallStream

    def __init__(self, config: GRPCConfiguration, sock: anyio.abc.ByteStream) -> None:
        super().__init__(config, sock)
        # Swap in the connection subclass; the socket wrapper must point at the same object.
        self._grpc_connection = _Connection(config=config)
        self._socket = SocketWrapper(self._grpc_connection, sock)

    async def _listen(self) -> AsyncIterator[CallStream]:
        # purerpc's loop, made robust: events for streams already gone are ignored instead of
        # raising KeyError (which would drop every other call on the connection).
        while True:
            try:
                data = await self._socket.recv(self._receive_buffer_size)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                # purerpc returns silently here, and a call waiting for its next message would
                # wait forever; each open call learns that its peer is gone.
                for stream in list(self._streams.values()):
                    _deliver(stream, StreamWasReset(stream.stream_id))
                return
            events = self._grpc_connection.receive_data(data)
            await self._socket.flush()
            for event in events:
                if isinstance(event, WindowUpdated):
                    if event.stream_id == 0:
                        targets = list(self._streams.values())
                    else:
                        targets = [s for s in (self._streams.get(event.stream_id),) if s is not None]
                    for stream in targets:
                        await stream._set_flow_control_update()
                    continue
                if isinstance(event, RequestReceived):
                    self._allocate_stream(event.stream_id)
                stream = self._streams.get(event.stream_id)
                if stream is None:
                    continue
                if isinstance(event, StreamWasReset):
                    # Wake a sender blocked on flow control: its next attempt fails at once.
                    await stream._set_flow_control_update()
                if not _deliver(stream, event):
                    continue
                if isinstance(event, RequestReceived):
                    yield stream
                elif isinstance(event, (RequestEnded, ResponseEnded, StreamWasReset)):
                    stream._close_remote()


def _deliver(stream: GRPCStream, event: Event) -> bool:
    """Queue `event` for the stream's reader; False when the stream was already released (its
    handler is done and the event has no one to go to)."""
    try:
        # The channel is unbounded (purerpc's choice; HTTP/2 flow control bounds the data).
        stream._incoming_events[0].send_nowait(event)
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        return False
    return True


def server_config(max_message_bytes: int) -> GRPCConfiguration:
    return GRPCConfiguration(client_side=False, max_message_length=max_message_bytes)


def client_config(max_message_bytes: int = 4 * 1024 * 1024) -> GRPCConfiguration:
    return GRPCConfiguration(client_side=True, max_message_length=max_message_bytes)


def status_of(stream: CallStream) -> Status | None:
    """The status that ended a client-side call, if it ended with one."""
    event = stream.end_stream_event
    return event.status if isinstance(event, ResponseEnded) else None


class CallEnded(Exception):
    """A client-side call ended with a non-OK status (or none at all)."""

    def __init__(self, status: Status | None) -> None:
        self.status = status
        code = status.status_code if status is not None else None
        self.code: StatusCode | None = code
        message = status.status_message if status is not None else ""
        name = code.name if code is not None else "no status"
        super().__init__(f"{name}: {message}" if message else name)


class Channel:
    """A client connection: one TCP (optionally TLS) socket carrying gRPC calls.

    Quacks like purerpc's channel (`_grpc_socket`, `_host`, `_port`), so the generated purerpc stubs
    can use it, but owns its socket: purerpc's own channel leaves it for the garbage collector.
    """

    def __init__(self, host: str, port: int, grpc_socket: GrpcSocket) -> None:
        self._host = host
        self._port = port
        self._grpc_socket = grpc_socket


@asynccontextmanager
async def open_channel(
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    tcp_user_timeout_seconds: float | None = None,
    connect_timeout_seconds: float | None = None,
) -> AsyncIterator[Channel]:
    """Connect to `host:port`; the socket is closed when the block exits.

    The TCP connect and the TLS handshake must finish within `connect_timeout_seconds` (None:
    no limit). A setting rather than the caller's scope: a scope around this block's entry
    would have to close while the channel's task groups, opened inside it, still run.

    Raises OSError (refused, unreachable, TLS failure; TimeoutError past the connect deadline)
    or an ExceptionGroup of transport errors when the peer goes away mid-call (handle with
    `except*`).
    """
    # TCP_USER_TIMEOUT guards only a connection that exists: without this deadline a host that
    # drops SYNs holds the connect for minutes, and a peer that accepts but never speaks holds
    # the TLS handshake forever.
    with anyio.move_on_after(connect_timeout_seconds) as connecting:
        stream: anyio.abc.ByteStream
        if ssl_context is None:
            stream = await anyio.connect_tcp(host, port)
        else:
            stream = await anyio.connect_tcp(
                host, port, ssl_context=ssl_context, tls_standard_compatible=False, tls_hostname=host
            )
    if connecting.cancelled_caught:
        handshake = " and TLS handshake" if ssl_context is not None else ""
        raise TimeoutError(errno.ETIMEDOUT, f"no connection{handshake} within {connect_timeout_seconds:g} s")
    async with stream:
        if tcp_user_timeout_seconds is not None:
            raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(tcp_user_timeout_seconds * 1000))
        async with GrpcSocket(client_config(), stream) as grpc_socket:
            yield Channel(host, port, grpc_socket)


def bearer_metadata(token: str) -> Sequence[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)
