"""Concurrent logins: each one counts against the throttle before it awaits anything, and
password hashing runs on a few threads, not trio's 40."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import trio

from tests.conftest import DaemonStarter, RunningDaemon, make_settings

BURST = 60


def _rss_bytes() -> int:
    """The resident set size of this process, which runs the daemon in-process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _client(running: RunningDaemon, *, local_address: str = "127.0.0.1", connections: int = 1) -> httpx.AsyncClient:
    """A client whose connections come from `local_address` (any 127.0.0.0/8 address is loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=local_address, limits=httpx.Limits(max_connections=connections))
    return httpx.AsyncClient(base_url=running.base_url, transport=transport, timeout=60)


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


async def test_a_burst_of_wrong_logins_gets_at_most_max_failures_guesses(running: RunningDaemon) -> None:
    max_failures = running.settings.auth.login_max_failures
    responses: list[httpx.Response] = []
    async with _client(running, connections=BURST) as client:
        await _login(client, "nobody", "warms-up-the-threads")  # one of this client's failures
        rss_before = _rss_bytes()

        async def guess(index: int) -> None:
            responses.append(await _login(client, "admin", f"wrong-password-{index}"))

        async with trio.open_nursery() as nursery:
            for index in range(BURST):
                nursery.start_soon(guess, index)
        rss_growth = _rss_bytes() - rss_before

    statuses = Counter(response.status_code for response in responses)
    print(f"{BURST} concurrent wrong logins: {dict(statuses)}; RSS grew {rss_growth / 2**20:.1f} MiB")
    assert statuses[401] == max_failures, statuses
    assert statuses[429] == BURST - max_failures, statuses
    for response in responses:
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "too_many_attempts"
            assert 0 < int(response.headers["retry-after"]) <= running.settings.auth.login_window_seconds
    assert rss_growth < 60 * 2**20, f"RSS grew {rss_growth / 2**20:.1f} MiB across the burst"

    # The guesses locked out this client for `admin`, not `admin` everywhere.
    async with _client(running, local_address="127.0.0.2") as elsewhere:
        assert (await _login(elsewhere, "admin", running.admin_password)).status_code == 200


async def test_successful_logins_hold_no_failure_slot(tmp_path: Path, daemons: DaemonStarter) -> None:
    # One failure allowed per client and username, four per client: had successful logins kept
    # their reserved slot, the second one would already be refused.
    running = await daemons(make_settings(tmp_path / "data", auth={"login_max_failures": 1}))
    async with _client(running) as client:
        for _ in range(6):
            assert (await _login(client, "admin", running.admin_password)).status_code == 200
        assert (await _login(client, "admin", "wrong-password")).status_code == 401
        assert (await _login(client, "admin", running.admin_password)).status_code == 429


async def test_logins_from_many_addresses_hash_on_a_few_threads(running: RunningDaemon) -> None:
    # Twelve clients, each within its own throttle: all 60 attempts are evaluated, and the
    # hashing limiter alone keeps their 19 MiB each from adding up.
    addresses = [f"127.0.0.{10 + index}" for index in range(12)]
    per_address = running.settings.auth.login_max_failures
    statuses: list[int] = []
    async with _client(running) as warm_up:
        await _login(warm_up, "nobody", "warms-up-the-threads")
    rss_before = _rss_bytes()

    async def guesses(address: str) -> None:
        async with (
            _client(running, local_address=address, connections=per_address) as client,
            trio.open_nursery() as nursery,
        ):
            for index in range(per_address):
                nursery.start_soon(guess, client, index)

    async def guess(client: httpx.AsyncClient, index: int) -> None:
        statuses.append((await _login(client, "admin", f"wrong-password-{index}")).status_code)

    async with trio.open_nursery() as nursery:
        for address in addresses:
            nursery.start_soon(guesses, address)
    rss_growth = _rss_bytes() - rss_before
    print(f"{len(statuses)} logins from {len(addresses)} addresses: RSS grew {rss_growth / 2**20:.1f} MiB")
    assert statuses == [401] * len(addresses) * per_address
    assert rss_growth < 60 * 2**20, f"RSS grew {rss_growth / 2**20:.1f} MiB across the burst"
