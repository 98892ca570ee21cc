"""Live feeds per user and per client address are capped: the excess is refused with 429 before
the upgrade, and a feed's slot is free again however the feed ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import feed, feeds, rejection

PER_USER = 3
PER_ADDRESS = 4


@pytest.fixture
async def capped(tmp_path: Path, daemons: DaemonStarter) -> RunningDaemon:
    settings = make_settings(
        tmp_path / "data", http={"max_live_feeds_per_user": PER_USER, "max_live_feeds_per_address": PER_ADDRESS}
    )
    return await daemons(settings)


def _rss_bytes() -> int:
    """The resident set size of this process, which runs the daemon in-process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def _assert_refused(running: RunningDaemon, token: str, **options: object) -> str:
    """The handshake gets 429 before the upgrade; its error message."""
    refused = await rejection(running, token, **options)
    assert refused.status_code == 429
    error = json.loads(refused.body or b"")["error"]
    assert error["code"] == "too_many_live_feeds"
    return str(error["message"])


async def _wait_for_feeds(running: RunningDaemon, count: int) -> None:
    """Until the daemon holds exactly `count` feeds (a closed socket takes it a moment to see)."""
    with trio.fail_after(5):
        while len(running.hub) != count:
            await trio.sleep(0.01)


async def _viewer_token(running: RunningDaemon, admin_token: str) -> str:
    async with running.client(admin_token) as client:
        response = await client.post(
            "/api/users", json={"username": "vera", "password": "viewer-password", "role": "viewer"}
        )
    assert response.status_code == 201, response.text
    return await running.login("vera", "viewer-password")


async def _health_status(running: RunningDaemon) -> int:
    async with running.client() as client:
        with trio.fail_after(5):
            return (await client.get("/api/health")).status_code


async def test_a_users_feeds_beyond_the_cap_are_refused_until_one_closes(capped: RunningDaemon) -> None:
    token = await capped.login()
    async with feeds(capped, token, PER_USER - 1) as open_feeds:
        for connection in open_feeds:
            assert '"fullServerList"' in await connection.get_message()
        async with feed(capped, token) as last:
            await last.get_message()
            message = await _assert_refused(capped, token)
            assert f"{PER_USER} live feeds" in message
            assert await _health_status(capped) == 200
            assert len(capped.hub) == PER_USER
        # The client went away without a closing handshake: its slot is free again.
        await _wait_for_feeds(capped, PER_USER - 1)
        async with feed(capped, token) as again:
            assert '"fullServerList"' in await again.get_message()


async def test_feeds_are_capped_per_client_address_across_users(capped: RunningDaemon) -> None:
    admin = await capped.login()
    viewer = await _viewer_token(capped, admin)
    async with feeds(capped, admin, PER_USER), feeds(capped, viewer, PER_ADDRESS - PER_USER):
        await _wait_for_feeds(capped, PER_ADDRESS)
        # Within the viewer's own cap, beyond the address's.
        assert f"address already has {PER_ADDRESS} live feeds" in await _assert_refused(capped, viewer)
        async with feed(capped, viewer, local_host="127.0.0.2") as elsewhere:
            assert '"fullServerList"' in await elsewhere.get_message()
        assert await _health_status(capped) == 200


async def test_a_feed_closed_by_the_daemon_frees_its_slot(capped: RunningDaemon) -> None:
    token = await capped.login()
    async with feeds(capped, token, PER_USER - 1), feed(capped, token) as misbehaving:
        await misbehaving.get_message()
        await _assert_refused(capped, token)
        await misbehaving.send_message("x" * 5000)  # over the 4 KiB a client may send: 1008
        assert await _close_code(misbehaving) == 1008
        await _wait_for_feeds(capped, PER_USER - 1)
        async with feed(capped, token) as again:
            assert '"fullServerList"' in await again.get_message()


async def _close_code(connection: WebSocketConnection) -> int | None:
    with trio.fail_after(5):
        while True:
            try:
                await connection.get_message()
            except ConnectionClosed as closed:
                return closed.reason.code if closed.reason else None


async def test_a_flood_of_handshakes_past_the_cap_costs_no_feeds_nor_memory(capped: RunningDaemon) -> None:
    token = await capped.login()
    refused: list[str] = []
    async with feeds(capped, token, PER_USER):
        await _wait_for_feeds(capped, PER_USER)
        await _assert_refused(capped, token)  # one first, so the measurement starts warm
        rss_before = _rss_bytes()

        async def knock(count: int) -> None:
            for _ in range(count):
                refused.append(await _assert_refused(capped, token))

        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(knock, 10)
            assert await _health_status(capped) == 200
        rss_growth = _rss_bytes() - rss_before
        print(f"200 refused handshakes: RSS grew {rss_growth / 2**20:.1f} MiB")
        assert len(capped.hub) == PER_USER
    assert len(refused) == 200
    assert rss_growth < 20 * 2**20, f"RSS grew {rss_growth / 2**20:.1f} MiB over 200 refused handshakes"
