"""One encoded `fullServerList` message, built once and shared by every client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import trio
from wsproto.frame_protocol import FrameProtocol

from monitord.wire import FullServerList, ServerWithDetails, encoder

Encode = Callable[[FullServerList], bytes]


class ServerSource(Protocol):
    """What a snapshot is built from: the live cache, or the part of it one grant sees."""

    @property
    def version(self) -> int: ...

    def servers(self) -> list[ServerWithDetails]: ...


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Snapshot:
    """The push message (CONTRACT §5), as JSON and as the WebSocket text frame that carries it.

    `frame` is the whole frame as a server sends it (unmasked, final, uncompressed: the daemon
    declines permessage-deflate), built once per tick so every client's socket gets the same
    bytes: no per-client framing or copying, which is what a send costs otherwise.
    """

    payload: bytes
    frame: bytes
    servers: int
    cache_version: int
    built_at: float  # trio clock


def text_frame(payload: bytes) -> bytes:
    """`payload` (UTF-8 JSON) as one final, unmasked WebSocket text frame, framed by wsproto,
    the library hypercorn frames every other message with."""
    return bytes(FrameProtocol(client=False, extensions=[]).send_data(payload.decode(), fin=True))


def build_snapshot(cache: ServerSource, encode: Encode = encoder.encode) -> Snapshot:
    """Encode every server of `cache` into one push message. Raises whatever `encode` raises."""
    servers = cache.servers()
    payload = encode(FullServerList(generated_at=datetime.now(UTC), servers=servers))
    return Snapshot(
        payload=payload,
        frame=text_frame(payload),
        servers=len(servers),
        cache_version=cache.version,
        built_at=trio.current_time(),
    )
