"""One encoded `fullServerList` message (`monitord.v1`), built once and shared by every client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import trio

from monitord.push.frames import OutgoingMessage
from monitord.wire import FullServerList, ServerWithDetails, encoder

Encode = Callable[[FullServerList], bytes]


class ServerSource(Protocol):
    """What a snapshot is built from: the live cache, or the part of it one grant sees."""

    @property
    def version(self) -> int: ...

    def servers(self) -> list[ServerWithDetails]: ...


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Snapshot:
    """The push message (CONTRACT §5), as JSON and as the WebSocket frames that carry it.

    `frame` is the whole frame as a server sends it (unmasked, final, uncompressed), built once
    per tick so every client's socket gets the same bytes: no per-client framing or copying,
    which is what a send costs otherwise. `message` also holds the deflated frame, built once
    when a client negotiated the shared permessage-deflate.
    """

    message: OutgoingMessage
    servers: int
    cache_version: int
    built_at: float  # trio clock

    @property
    def payload(self) -> bytes:
        return self.message.payload

    @property
    def frame(self) -> bytes:
        return self.message.frame


def build_snapshot(cache: ServerSource, encode: Encode = encoder.encode) -> Snapshot:
    """Encode every server of `cache` into one push message. Raises whatever `encode` raises."""
    servers = cache.servers()
    payload = encode(FullServerList(generated_at=datetime.now(UTC), servers=servers))
    return Snapshot(
        message=OutgoingMessage(payload),
        servers=len(servers),
        cache_version=cache.version,
        built_at=trio.current_time(),
    )
