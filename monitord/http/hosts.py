"""DNS-rebinding defence: requests must name this daemon in their Host header.

A rebinding attack makes a victim's browser send requests to the daemon under the attacker's
domain name, so the browser treats the daemon as same-origin with the attacker's page. Such a
request carries the attacker's name in `Host`. IP literals and `localhost` cannot be rebound,
so they are always accepted; any other name must be listed in `http.allowed_hosts`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from monitord.wire import ErrorBody, ErrorResponse, encoder

_ALWAYS_ALLOWED = {"localhost"}


def host_name(host_header: str) -> str:
    """The name part of a Host header: no port, no IPv6 brackets, no final dot, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return (name if name and port.isdigit() else host).rstrip(".")


def is_allowed_host(host_header: str | None, allowed: frozenset[str]) -> bool:
    if not host_header:
        return False
    name = host_name(host_header)
    if name in _ALWAYS_ALLOWED or name in allowed:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class TrustedHostMiddleware:
    """ASGI middleware: 400 (HTTP) or a refused handshake (WebSocket) for unknown Host names."""

    def __init__(self, app: Callable[..., Awaitable[None]], allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(name.lower().rstrip(".") for name in allowed_hosts)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in {"http", "websocket"}:
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not is_allowed_host(host, self.allowed):
                await _refuse(scope, send, host)
                return
        await self.app(scope, receive, send)


async def _refuse(scope: dict[str, Any], send: Any, host: str) -> None:
    message = (
        f"this server does not answer to the name {host_name(host)[:100]!r}; add it to http.allowed_hosts in the config"
    )
    body = encoder.encode(ErrorResponse(error=ErrorBody(code="bad_host", message=message)))
    start, chunk = (
        ("websocket.http.response.start", "websocket.http.response.body")
        if scope["type"] == "websocket"
        else ("http.response.start", "http.response.body")
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": start, "status": 400, "headers": headers})
    await send({"type": chunk, "body": body, "more_body": False})
