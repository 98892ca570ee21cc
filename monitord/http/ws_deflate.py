"""permessage-deflate as the live feed speaks it: one compressed frame shared by every client.

The daemon answers a deflate offer with `permessage-deflate; server_no_context_takeover` (RFC
7692 §7.1.1.1 lets a server demand it even if the client did not offer it), so every message it
sends is compressed on its own and the same bytes suit every client (push/frames.py). It
declines (plain frames, no extension header):
- offers that demand `server_max_window_bits` below 15: a frame built with a 15-bit window is
  invalid for them (§7.1.2.1). Browsers never ask for it;
- offers with unknown, repeated or malformed parameters (§7.1: the server must decline them).

The protocol needs nothing from clients, so a compressed (RSV1) frame from one is never
inflated: the connection is closed with 1008 (wsproto's own inflater has no size cap, a
decompression bomb).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import CloseConnection, Event
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, RsvBits
from wsproto.utilities import split_comma_header

EXTENSION_NAME = "permessage-deflate"
ACCEPT_RESPONSE = "permessage-deflate; server_no_context_takeover"

_FLAGS = {"server_no_context_takeover", "client_no_context_takeover"}


def _acceptable(offer: str) -> bool:
    name, *params = (part.strip() for part in offer.split(";"))
    if name != EXTENSION_NAME:
        return False
    seen: set[str] = set()
    for param in params:
        key, has_value, value = (item.strip() for item in param.partition("="))
        value = value.strip('"')
        if key in seen:
            return False
        seen.add(key)
        if key in _FLAGS:
            if has_value:
                return False
        elif key == "client_max_window_bits":
            # Ours to honour only if we inflated client frames, which we never do.
            if has_value and not (value.isdigit() and 8 <= int(value) <= 15):
                return False
        elif key == "server_max_window_bits":
            if value != "15":  # a 15-bit-window frame is invalid for a client that wants less
                return False
        else:
            return False
    return True


def negotiate(header_values: Iterable[bytes]) -> bool:
    """Whether a client's `Sec-WebSocket-Extensions` headers offer a deflate we can share."""
    offers = [offer for value in header_values for offer in split_comma_header(value)]
    return any(_acceptable(offer) for offer in offers)


class SharedDeflate(Extension):
    """The negotiated extension on one connection: RSV1 is ours, inbound compression is refused.

    Frames built from an ASGI send (not the shared frames) go out uncompressed, which the
    extension allows (RSV1 clear); only the shared frames are compressed, once for everyone.
    """

    name = EXTENSION_NAME

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:
        return False  # a server extension: offers come from clients (`negotiate`)

    def frame_inbound_header(
        self, proto: FrameDecoder | FrameProtocol, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if rsv.rsv1:
            return CloseReason.POLICY_VIOLATION
        return RsvBits(False, False, False)


class FailingConnection(Connection):
    """wsproto's server connection, which answers a protocol error with a close frame.

    wsproto reports a frame it refuses (such as a compressed one) as a CloseConnection while
    the connection is still open, and hypercorn only answers a close in REMOTE_CLOSING: without
    this the socket would just drop (1006) instead of closing with the error's code.
    """

    def __init__(self, extensions: list[Extension]) -> None:
        super().__init__(ConnectionType.SERVER, extensions)

    def events(self) -> Generator[Event, None, None]:
        for event in super().events():
            if isinstance(event, CloseConnection) and self.state is ConnectionState.OPEN:
                self._state = ConnectionState.REMOTE_CLOSING
            yield event
