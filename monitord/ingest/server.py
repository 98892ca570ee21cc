"""The gRPC listener for agents: exactly the configured address, optionally TLS."""

from __future__ import annotations

import logging
import math
import ssl
from contextlib import aclosing

import anyio
import anyio.abc
import trio
from anyio.streams.tls import TLSStream

from monitord.config import GrpcSettings, ListenAddress
from monitord.errors import StartupError
from monitord.grpc_transport import TRANSPORT_ERRORS, GrpcSocket, server_config
from monitord.ingest.calls import AgentCalls
from monitord.listeners import bind_listener, bound_address

log = logging.getLogger("monitord.agents")

REFUSAL_LOG_INTERVAL_SECONDS = 60.0


def tls_context(settings: GrpcSettings) -> ssl.SSLContext | None:
    """The server TLS context when a certificate and key are configured; raises StartupError
    naming the file when they cannot be loaded."""
    if not settings.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # gRPC runs over HTTP/2; grpcio clients refuse a TLS server that does not select "h2".
    context.set_alpn_protocols(["h2"])
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except OSError as exc:
        where = exc.filename or settings.tls_cert_file
        raise StartupError(f"cannot use grpc TLS certificate/key {where}: {exc.strerror or exc}") from None
    except ssl.SSLError as exc:
        raise StartupError(
            f"cannot use grpc TLS certificate/key {settings.tls_cert_file} / {settings.tls_key_file}: {exc.reason or exc}"
        ) from None
    return context


async def serve_agents(
    settings: GrpcSettings,
    calls: AgentCalls,
    *,
    task_status: trio.TaskStatus[ListenAddress] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Accept agent connections on `settings.listen` and hand each call to `calls`.

    Binds exactly the configured host and port without SO_REUSEPORT (purerpc's own server binds
    every interface with it, so a second daemon would start silently: STACK trap 2). Reports
    the bound address (the real port when the config says 0) once listening. Each connection
    runs in its own nursery, and ends with its socket closed. Raises StartupError when the
    address cannot be bound or the TLS files cannot be used. Runs until cancelled; the listener
    is closed on exit.
    """
    context = tls_context(settings)
    try:
        sock = bind_listener(settings.address, settings.tcp_user_timeout_seconds)
    except StartupError as exc:
        raise StartupError(f"agents (gRPC): {exc}") from None
    address = bound_address(sock)
    listener = await anyio.abc.SocketListener.from_socket(sock)
    open_connections = 0
    next_refusal_log = -math.inf

    async def serve_counted(stream: anyio.abc.SocketStream) -> None:
        nonlocal open_connections
        try:
            await _serve_connection(stream, settings, context, calls)
        finally:
            open_connections -= 1

    async with listener, trio.open_nursery() as connections:
        log.info("agents (gRPC%s) on %s", ", TLS" if context else "", address)
        task_status.started(address)
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                # EMFILE and friends: back off briefly instead of spinning (trio's serve_listeners
                # does the same).
                log.warning("agents (gRPC): accept failed: %s", exc.strerror or exc)
                await trio.sleep(0.1)
                continue
            if open_connections >= settings.max_connections:
                await stream.aclose()
                if trio.current_time() >= next_refusal_log:  # a flood gives a line a minute, not one each
                    log.warning(
                        "agents (gRPC): %d connections open (grpc.max_connections); refusing more", open_connections
                    )
                    next_refusal_log = trio.current_time() + REFUSAL_LOG_INTERVAL_SECONDS
                continue
            open_connections += 1
            connections.start_soon(serve_counted, stream)


async def _serve_connection(
    stream: anyio.abc.SocketStream,
    settings: GrpcSettings,
    context: ssl.SSLContext | None,
    calls: AgentCalls,
) -> None:
    """One agent connection: TLS handshake, then its calls, each in this connection's nursery.

    The handshake and the first call must come within `handshake_timeout_seconds`. When the
    connection ends, its calls are cancelled.
    """
    peer = _peer(stream)
    first_call_deadline = trio.current_time() + settings.handshake_timeout_seconds
    async with stream:  # purerpc would leave the socket to the garbage collector (trap 6)
        transport: anyio.abc.ByteStream = stream
        if context is not None:
            with trio.move_on_at(first_call_deadline) as handshake:
                try:
                    transport = await TLSStream.wrap(
                        stream, server_side=True, ssl_context=context, standard_compatible=False
                    )
                except TRANSPORT_ERRORS as exc:
                    log.info("agents (gRPC): TLS handshake with %s failed: %s", peer, _reason(exc))
                    return
            if handshake.cancelled_caught:
                log.info("agents (gRPC): TLS handshake with %s timed out", peer)
                return
        try:
            async with GrpcSocket(server_config(settings.max_message_bytes), transport) as grpc_socket:
                async with trio.open_nursery() as calls_nursery:
                    with trio.CancelScope(deadline=first_call_deadline) as waiting:
                        async with aclosing(grpc_socket.listen()) as incoming:
                            async for call in incoming:
                                waiting.deadline = math.inf
                                calls_nursery.start_soon(calls.serve_call, call)
                    if waiting.cancelled_caught:
                        log.info("agents (gRPC): %s opened no call in time; closed", peer)
                    # The connection is gone: nobody is left to answer the calls still open.
                    calls_nursery.cancel_scope.cancel()
        except* TRANSPORT_ERRORS as group:
            log.debug("agents (gRPC): connection from %s ended: %s", peer, _reason(group))
        except* Exception as group:
            # purerpc's request parsing raises KeyError/ValueError on hostile headers: that ends
            # this connection only, never the listener.
            log.warning("agents (gRPC): dropped the connection from %s: %s", peer, _reason(group))
            log.debug("details", exc_info=group)


def _peer(stream: anyio.abc.SocketStream) -> str:
    try:
        address = stream.extra(anyio.abc.SocketAttribute.remote_address)
    except (OSError, anyio.TypedAttributeLookupError):
        return "unknown peer"
    if isinstance(address, str):  # a Unix socket's path
        return address
    host, port = address[:2]
    return str(ListenAddress(str(host), int(port)))


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
