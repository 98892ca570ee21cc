"""Serving the app with hypercorn on trio, with the fixes this stack needs.

- STACK trap 1: quart-trio cancels a handler when hypercorn reports the client gone during the
  final body send, which aborts hypercorn's keep-alive bookkeeping and leaves HTTP/1.1
  connections open forever. The final `http.response.body` is sent in a shielded scope.
- STACK trap 3: a client that never reads blocks hypercorn's shielded socket send, and with it
  shutdown. TCP_USER_TIMEOUT on the listening socket (inherited by accepted ones) lets the
  kernel drop such peers; WebSocket pings make idle dead peers visible too. WebSocket scopes
  also get an abort handle and the shared permessage-deflate (STACK trap 4): see hypercorn_ws.py.
- The listening socket is bound before serving (monitord.listeners), so "address in use" is a
  clear startup error naming the address instead of a traceback from inside hypercorn.
- One connection's failure stays in that connection. hypercorn runs each connection in the
  server's own nursery and lets anything but OSError out of it, so a protocol-layer exception
  tripped by one client's bytes would stop the HTTP server, and with it the daemon. Its
  connection handler is replaced by `ContainedTCPServer` when the dashboard starts serving
  (see `_contain_connection_failures`), never at import: importing this module changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import hypercorn.trio.run
import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.typing import ASGIFramework
from hypercorn.utils import wrap_app

from monitord.config import HttpSettings, ListenAddress
from monitord.http.hypercorn_ws import HypercornWebSockets
from monitord.listeners import bind_listener, bound_address

log = logging.getLogger("monitord.http")

WEBSOCKET_PING_INTERVAL_SECONDS = 20.0
WEBSOCKET_MAX_MESSAGE_BYTES = 64 * 1024


class ShieldFinalBodySend:
    """ASGI middleware: the last body chunk of an HTTP response is sent shielded (trap 1)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_final_shielded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                with trio.CancelScope(shield=True):
                    await send(message)
            else:
                await send(message)

        await self.app(scope, receive, send_final_shielded)


class ContainedTCPServer(TCPServer):
    """hypercorn's per-connection handler, whose exceptions end that connection only.

    hypercorn's own `run` already closes the socket on the way out; this logs one line (the
    traceback at DEBUG) instead of letting the error cancel every other connection.
    """

    async def run(self) -> None:
        try:
            await super().run()
        except* Exception as group:
            log.warning(
                "http: dropped a connection after an internal error (%s)",
                ", ".join(sorted({type(exc).__name__ for exc in group.exceptions})),
            )
            log.debug("details", exc_info=group)


def _contain_connection_failures() -> None:
    """Make hypercorn's trio server use `ContainedTCPServer` for every connection.

    `worker_serve` looks the class up in its module's globals and takes no parameter for it, so
    this replaces it there, for the whole process, once a dashboard is about to be served (the
    only user of hypercorn in the daemon). If a hypercorn release moves it, this fails before
    serving, loudly, rather than silently serving without containment.
    """
    # hypercorn.trio.run imports TCPServer without re-exporting it, hence the two ignores.
    if not issubclass(hypercorn.trio.run.TCPServer, TCPServer):  # type: ignore[attr-defined]
        raise RuntimeError("hypercorn.trio.run no longer serves connections with TCPServer; re-check serve.py")
    hypercorn.trio.run.TCPServer = ContainedTCPServer  # type: ignore[attr-defined]


def _hypercorn_config(settings: HttpSettings) -> Config:
    config = Config()
    config.bind = [settings.listen]
    config.errorlog = logging.getLogger("monitord.hypercorn")
    config.accesslog = None
    config.graceful_timeout = settings.graceful_timeout_seconds
    config.websocket_ping_interval = WEBSOCKET_PING_INTERVAL_SECONDS
    config.websocket_max_message_size = WEBSOCKET_MAX_MESSAGE_BYTES
    config.include_server_header = False
    return config


async def serve_dashboard(
    app: Callable[..., Awaitable[None]],
    settings: HttpSettings,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    compression: bool = True,
    task_status: trio.TaskStatus[ListenAddress] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `settings.listen` until `shutdown_trigger` returns, then stop gracefully.

    Reports the bound address (the real port when the config says 0) once listening. Raises
    StartupError when the address cannot be bound. `compression` offers WebSocket clients the
    shared permessage-deflate (`push.compression`, hypercorn_ws.py). Returns once every connection is closed or
    `graceful_timeout_seconds` has passed.
    """
    _contain_connection_failures()
    listener = bind_listener(settings.address, settings.tcp_user_timeout_seconds)
    address = bound_address(listener)
    config = _hypercorn_config(settings)
    asgi_app = cast(
        ASGIFramework, ShieldFinalBodySend(HypercornWebSockets(app, compression=compression))
    )  # ASGI, with plain dict scopes
    wrapped = wrap_app(asgi_app, config.wsgi_max_body_size, "asgi")
    try:
        await worker_serve(
            wrapped,
            config,
            sockets=Sockets(secure_sockets=[], insecure_sockets=[listener], quic_sockets=[]),
            shutdown_trigger=shutdown_trigger,
            # hypercorn annotates trio's private _TaskStatus but only calls started(), which
            # _ReportAddress answers with the parsed address.
            task_status=cast(Any, _ReportAddress(task_status, address)),
        )
    finally:
        listener.close()


class _ReportAddress:
    """hypercorn reports bind strings; the daemon wants the parsed address."""

    def __init__(self, task_status: trio.TaskStatus[ListenAddress], address: ListenAddress) -> None:
        self._task_status = task_status
        self._address = address

    def started(self, _binds: object = None) -> None:
        log.info("dashboard and API on http://%s", self._address)
        self._task_status.started(self._address)
