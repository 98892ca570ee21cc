"""The live feed ends with 4401 when its session does: expiry, password change, user deleted."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection

from monitord.auth.passwords import hash_password
from monitord.http.live_feed import SESSION_RECHECK_SECONDS
from monitord.storage import open_storage
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import feed, real_time_limit

TTL_SECONDS = 60


async def _close_of(connection: WebSocketConnection) -> tuple[int | None, str | None]:
    """Read (and drop) messages until the server closes; its code and reason."""
    while True:
        try:
            await connection.get_message()
        except ConnectionClosed as closed:
            assert closed.reason is not None
            return closed.reason.code, closed.reason.reason


async def _viewer(running: RunningDaemon, admin_token: str, name: str = "vera") -> tuple[int, str]:
    async with running.client(admin_token) as client:
        response = await client.post(
            "/api/users", json={"username": name, "password": "viewer-password", "role": "viewer"}
        )
    assert response.status_code == 201, response.text
    return response.json()["id"], await running.login(name, "viewer-password")


async def test_the_feed_closes_with_4401_when_the_token_expires(
    tmp_path: Path, daemons: DaemonStarter, mock_clock: trio.testing.MockClock
) -> None:
    settings = make_settings(tmp_path / "data", auth={"token_ttl_seconds": TTL_SECONDS})
    running = await daemons(settings)
    token = await running.login()  # exp is whole seconds: it ends 59-60 s from now (STACK trap 9)
    with real_time_limit(30):
        async with feed(running, token) as client:
            await client.get_message()
            (subscription,) = running.hub.subscriptions
            mock_clock.jump(TTL_SECONDS - 3)
            await trio.testing.wait_all_tasks_blocked()
            assert subscription.close_request is None
            mock_clock.jump(4)
            assert await _close_of(client) == (4401, "the session has expired")


async def test_a_password_change_closes_that_users_feeds_with_4401(
    running: RunningDaemon, admin_token: str, mock_clock: trio.testing.MockClock
) -> None:
    _, viewer_token = await _viewer(running, admin_token)
    with real_time_limit(30):
        async with feed(running, viewer_token) as viewer, feed(running, admin_token) as admin:
            await viewer.get_message()
            await admin.get_message()
            async with running.client(viewer_token) as client:
                response = await client.put(
                    "/api/auth/password",
                    json={"currentPassword": "viewer-password", "newPassword": "new-viewer-password"},
                )
            assert response.status_code == 200
            assert await _close_of(viewer) == (4401, "the session was revoked")
            mock_clock.jump(running.settings.push.interval_seconds)
            assert await admin.get_message()  # other users' feeds go on
            assert len(running.hub) == 1


async def test_deleting_a_user_closes_their_feeds_with_4401(
    running: RunningDaemon, admin_token: str, mock_clock: trio.testing.MockClock
) -> None:
    viewer_id, viewer_token = await _viewer(running, admin_token)
    with real_time_limit(30):
        async with feed(running, viewer_token) as first, feed(running, viewer_token) as second:
            await first.get_message()
            await second.get_message()
            async with running.client(admin_token) as client:
                assert (await client.delete(f"/api/users/{viewer_id}")).status_code == 204
            assert await _close_of(first) == (4401, "the user was deleted")
            assert await _close_of(second) == (4401, "the user was deleted")


async def test_a_revocation_by_another_process_closes_the_feed_at_the_next_check(
    running: RunningDaemon, admin_token: str, mock_clock: trio.testing.MockClock
) -> None:
    _, viewer_token = await _viewer(running, admin_token)
    with real_time_limit(30):
        async with feed(running, viewer_token) as viewer:
            await viewer.get_message()
            (subscription,) = running.hub.subscriptions
            # What `monitord user passwd` does, from its own connection to the database.
            async with open_storage(running.settings) as storage:
                user = await storage.get_user_by_name("vera")
                assert user is not None
                await storage.set_password(user.id, await hash_password("changed-elsewhere"))
            mock_clock.jump(SESSION_RECHECK_SECONDS - 1)
            await trio.testing.wait_all_tasks_blocked()
            assert subscription.close_request is None
            mock_clock.jump(1)
            assert await _close_of(viewer) == (4401, "the session was revoked")
