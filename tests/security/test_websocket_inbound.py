"""A client's oversize WebSocket message cannot stop the daemon (hypercorn's buffer, fixed in
monitord/http/hypercorn_ws.py): found by tests/fuzz/test_fuzz_websocket.py."""

from __future__ import annotations

import trio
from trio_websocket import ConnectionClosed

from tests.conftest import RunningDaemon
from tests.live_feed_helpers import feed


async def test_frames_after_an_oversize_message_close_that_client_only(
    running: RunningDaemon, admin_token: str
) -> None:
    code = None
    async with feed(running, admin_token) as connection:
        await connection.get_message()
        try:
            # Over hypercorn's 64 KiB limit, then frames the client already had in flight.
            await connection.send_message(b"\xff" * 70_000)
            await connection.send_message("text after binary")
            await connection.send_message(b"and more")
            with trio.fail_after(10):
                while True:
                    await connection.get_message()
        except ConnectionClosed as closed:
            code = closed.reason.code
    assert code in (1009, 1006)  # 1006: the reset of a socket closed with unread frames
    async with running.client(admin_token) as client:
        assert (await client.get("/api/servers")).status_code == 200
    async with feed(running, admin_token) as connection:
        assert '"fullServerList"' in await connection.get_message()
