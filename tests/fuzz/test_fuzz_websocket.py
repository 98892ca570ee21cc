"""WebSocket inbound frames from hypothesis: the live feed closes cleanly or ignores them.

The protocol needs nothing from a client. Frames of any kind are tolerated up to a size and a
rate (monitord/http/live_feed.py); beyond them the feed closes with 1008 (policy), or hypercorn
with 1009 above its own 64 KiB limit. Never a traceback: the daemon process's stderr is checked
when the module ends (tests/fuzz/conftest.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import trio
from hypothesis import given
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, wrap_client_stream

from monitord.http.live_feed import INBOUND_BURST_MESSAGES, MAX_INBOUND_MESSAGE_BYTES
from tests.fuzz.conftest import FuzzTarget

FRAMES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
    st.binary(max_size=200),
    st.sampled_from(['{"type":"subscribe"}', "null", "", b"", "\x00" * 10]),
    st.integers(MAX_INBOUND_MESSAGE_BYTES - 2, MAX_INBOUND_MESSAGE_BYTES + 2).map(lambda size: "é" * (size // 2)),
    st.integers(MAX_INBOUND_MESSAGE_BYTES + 1, 80_000).map(lambda size: b"\xff" * size),
)


def _size(frame: str | bytes) -> int:
    return len(frame.encode() if isinstance(frame, str) else frame)


async def _send_and_read_close(fuzz_target: FuzzTarget, frames: list[str | bytes], expect_close: bool) -> int | None:
    """Send `frames` as fast as possible; the close code the server sent, or None if it kept
    the connection open."""
    url = urlsplit(fuzz_target.base_url)
    assert url.hostname is not None and url.port is not None
    with trio.fail_after(10):
        async with await trio.open_tcp_stream(url.hostname, url.port) as stream, trio.open_nursery() as nursery:
            # Our own stream, cancelled at the end without a closing handshake (see
            # tests/live_feed_helpers.py `feeds` for why).
            connection = await wrap_client_stream(
                nursery,
                stream,
                url.netloc,
                "/ws/servers",
                subprotocols=["monitord.v1", f"bearer.{fuzz_target.admin_token}"],
                max_message_size=8 * 2**20,
            )
            try:
                for frame in frames:
                    await connection.send_message(frame)
                if expect_close:
                    while True:
                        await connection.get_message()
            except ConnectionClosed as closed:
                return closed.reason.code
            finally:
                nursery.cancel_scope.cancel()
    return None


@given(frames=st.lists(FRAMES, max_size=INBOUND_BURST_MESSAGES + 5))
def test_any_inbound_frames_are_tolerated_or_closed_with_a_policy_code(
    fuzz_target: FuzzTarget, frames: list[str | bytes]
) -> None:
    breaches = [index for index, frame in enumerate(frames) if _size(frame) > MAX_INBOUND_MESSAGE_BYTES]
    if len(frames) > INBOUND_BURST_MESSAGES:
        breaches.append(INBOUND_BURST_MESSAGES)
    code = trio.run(_send_and_read_close, fuzz_target, frames, bool(breaches))
    if not breaches:
        assert code is None
    elif min(breaches) == len(frames) - 1:
        assert code in (1008, 1009), code
    else:
        # The client kept sending after the breach: the server closes its socket with those
        # frames unread, the kernel answers with a reset, and the close frame may be lost.
        assert code in (1008, 1009, 1006), code
