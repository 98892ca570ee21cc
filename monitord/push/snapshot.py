"""One encoded `fullServerList` message, built once and shared by every client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import trio

from monitord.cache import LiveCache
from monitord.wire import FullServerList, encoder

Encode = Callable[[FullServerList], bytes]


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Snapshot:
    """The push message as the text of one WebSocket frame (CONTRACT §5)."""

    text: str
    size_bytes: int
    servers: int
    cache_version: int
    built_at: float  # trio clock


def build_snapshot(cache: LiveCache, encode: Encode = encoder.encode) -> Snapshot:
    """Encode every server of `cache` into one push message. Raises whatever `encode` raises."""
    servers = cache.servers()
    payload = encode(FullServerList(generated_at=datetime.now(UTC), servers=servers))
    # Text frames carry str; decoding once here spares every client its own decode.
    return Snapshot(
        text=payload.decode(),
        size_bytes=len(payload),
        servers=len(servers),
        cache_version=cache.version,
        built_at=trio.current_time(),
    )
