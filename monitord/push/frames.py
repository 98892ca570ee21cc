"""One push message as the WebSocket frames every client's socket gets: plain, and deflated once.

A client that negotiated permessage-deflate with `server_no_context_takeover` (http/ws_deflate.py)
decompresses each message on its own (RFC 7692 §7.1.1.1), so one compressed frame serves every
such client: it is built once per message, in a worker thread, never per client.
"""

from __future__ import annotations

import zlib

import trio
from wsproto.extensions import Extension
from wsproto.frame_protocol import FrameDecoder, FrameProtocol, Opcode, RsvBits

# zlib level 6 against 1, measured on a 1000-server snapshot (935 KB of JSON with random metrics):
# 168 KB in 16 ms against 201 KB in 6 ms. The 10 ms, once per tick in a thread, buy 33 KB less for
# every client: at 1000 clients, 33 MB fewer bytes to copy per tick.
DEFLATE_LEVEL = 6
# RFC 7692 §7.2.1: a message compressed with a sync flush ends in these bytes, which are left off.
_SYNC_FLUSH_TAIL = b"\x00\x00\xff\xff"


def deflate_message(payload: bytes, level: int = DEFLATE_LEVEL) -> bytes:
    """`payload` as a permessage-deflate message body: raw deflate with a fresh compressor (no
    context taken over from any other message), sync-flushed, the trailing 00 00 ff ff removed."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data.removesuffix(_SYNC_FLUSH_TAIL)


class _Precompressed(Extension):
    """Frames a payload that is already deflated: sets RSV1 (RFC 7692 §6) and leaves it alone."""

    name = "permessage-deflate"

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:
        return False  # only ever used to frame, never negotiated

    def frame_outbound(
        self, proto: FrameDecoder | FrameProtocol, opcode: Opcode, rsv: RsvBits, data: bytes, fin: bool
    ) -> tuple[RsvBits, bytes]:
        return RsvBits(True, rsv.rsv2, rsv.rsv3), data


def text_frame(payload: bytes) -> bytes:
    """`payload` (UTF-8 JSON) as one final, unmasked WebSocket text frame, framed by wsproto,
    the library hypercorn frames every other message with."""
    return bytes(FrameProtocol(client=False, extensions=[]).send_data(payload.decode(), fin=True))


def deflated_text_frame(payload: bytes, level: int = DEFLATE_LEVEL) -> bytes:
    """`payload` (UTF-8 JSON) compressed on its own, as one final, unmasked text frame with RSV1."""
    proto = FrameProtocol(client=False, extensions=[_Precompressed()])
    # wsproto takes text as str and encodes it back; the compressed bytes are no valid UTF-8, so
    # the frame is assembled as binary and its opcode set to text (the first byte's low nibble).
    frame = proto.send_data(deflate_message(payload, level), fin=True)
    frame[0] = (frame[0] & 0xF0) | Opcode.TEXT
    return bytes(frame)


class OutgoingMessage:
    """A push message's JSON, its plain frame, and its deflated frame once someone needs it.

    Only trio tasks of one run use it; the compression itself runs in a worker thread.
    """

    __slots__ = ("_deflated", "_deflating", "frame", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.frame = text_frame(payload)
        self._deflated: bytes | None = None
        self._deflating: trio.Event | None = None

    @property
    def deflated_ready(self) -> bool:
        return self._deflated is not None

    async def deflated_frame(self) -> bytes:
        """The deflated frame, compressed in a thread by the first caller; later (and concurrent)
        callers get the same bytes without compressing again."""
        while self._deflated is None:
            if self._deflating is not None:
                await self._deflating.wait()
                continue
            self._deflating = done = trio.Event()
            try:
                self._deflated = await trio.to_thread.run_sync(deflated_text_frame, self.payload)
            finally:
                self._deflating = None
                done.set()
        return self._deflated
