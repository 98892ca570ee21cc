"""Which browser origins may open the live WebSocket (CONTRACT §5).

A browser always sends `Origin` on a WebSocket handshake and a page cannot forge it, so the
check stops other sites' pages from riding a user's token. Allowed are:

- the dashboard's own origin: `http(s)://` followed by exactly the `Host` the request was sent
  to. The comparison is of whole authorities (host and port), case-insensitive, nothing else:
  `http://127.0.0.1:8080.evil.example` is not `127.0.0.1:8080`. A forged `Host` buys nothing,
  since a browser cannot send one, and a non-browser client needs a valid token anyway.
- origins listed in `http.allowed_origins`, compared exactly in the same way (for a dashboard
  served elsewhere, or behind a proxy that rewrites `Host`).

`null` (sandboxed frames, file: pages), origins with a path, userinfo or another scheme are
refused. A handshake without `Origin` comes from a non-browser client (trio-websocket, curl,
scripts) and is let through: the Origin check cannot stop such clients, the token still does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ORIGIN = re.compile(r"(https?)://([^/?#@\s]+)", re.IGNORECASE)


def parse_origin(value: str) -> tuple[str, str] | None:
    """(scheme, authority) of a serialized origin, lower-cased; None for anything else."""
    match = _ORIGIN.fullmatch(value.strip())
    if match is None:
        return None
    return match[1].lower(), match[2].lower()


class OriginPolicy:
    """Decides whether a WebSocket handshake's `Origin` may connect."""

    def __init__(self, allowed_origins: Iterable[str]) -> None:
        self._allowed = {parsed for origin in allowed_origins if (parsed := parse_origin(origin))}

    def allows(self, origins: list[str], host: str | None) -> bool:
        """`origins` are the request's Origin header values, `host` its Host header."""
        if not origins:
            return True  # not a browser: see the module docstring
        if len(origins) > 1:
            return False
        parsed = parse_origin(origins[0])
        if parsed is None:
            return False
        if parsed in self._allowed:
            return True
        return host is not None and parsed[1] == host.strip().lower()
