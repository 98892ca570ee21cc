"""DNS rebinding and CORS: only this daemon's names are answered, no origin is reflected."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from monitord.http.hosts import host_name
from tests.conftest import RunningDaemon, make_settings, start_daemon


async def _health_status(running: RunningDaemon, host: str) -> httpx.Response:
    async with running.client() as client:
        return await client.get("/api/health", headers={"Host": host})


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]:8080", "10.1.2.3"])
async def test_ip_literals_and_localhost_are_answered(running: RunningDaemon, host: str) -> None:
    assert (await _health_status(running, host)).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example"]
)
async def test_other_names_are_refused(running: RunningDaemon, host: str) -> None:
    response = await _health_status(running, host)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_host"
    assert "http.allowed_hosts" in response.json()["error"]["message"]


async def test_configured_names_are_answered(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", http={"allowed_hosts": ["monitor.example.com"]})
    async with trio.open_nursery() as nursery:
        running = await start_daemon(nursery, settings)
        assert (await _health_status(running, "Monitor.Example.com:443")).status_code == 200
        assert (await _health_status(running, "other.example.com")).status_code == 400
        running.shutdown.set()


async def test_no_response_reflects_an_arbitrary_origin(running: RunningDaemon, admin_token: str) -> None:
    evil = {"Origin": "https://evil.example"}
    async with running.client(admin_token) as client:
        responses = [
            await client.get("/api/servers", headers=evil),
            await client.options("/api/servers", headers={**evil, "Access-Control-Request-Method": "GET"}),
            await client.post("/api/auth/login", headers=evil, json={"username": "a", "password": "b"}),
        ]
    for response in responses:
        assert not any(name.lower().startswith("access-control-") for name in response.headers)


def test_host_name_parsing() -> None:
    assert host_name("Example.COM:8080") == "example.com"
    assert host_name("[::1]:80") == "::1"
    assert host_name("10.0.0.1") == "10.0.0.1"
    assert host_name("localhost.:80") == "localhost"
