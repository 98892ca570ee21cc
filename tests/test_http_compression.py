"""REST JSON is gzipped above a small size when the client accepts it; errors too."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx

from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import add_servers


async def _raw(client: httpx.AsyncClient, path: str, accept: str) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", path, headers={"Accept-Encoding": accept}) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_the_server_list_is_gzipped_when_accepted(tmp_path: Path, daemons: DaemonStarter) -> None:
    settings = make_settings(tmp_path / "data")
    await add_servers(settings, 20)
    running = await daemons(settings)
    token = await running.login()
    async with running.client(token) as client:
        response, raw = await _raw(client, "/api/servers", "gzip")
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        servers = json.loads(gzip.decompress(raw))["servers"]
        assert len(servers) == 20
        assert int(response.headers["content-length"]) == len(raw) < len(json.dumps(servers)) / 3
        plain, raw = await _raw(client, "/api/servers", "identity")
        assert "content-encoding" not in plain.headers
        assert len(json.loads(raw)["servers"]) == 20


async def test_small_bodies_and_errors_stay_readable(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        health, raw = await _raw(client, "/api/health", "gzip")
        assert "content-encoding" not in health.headers  # below the threshold
        assert json.loads(raw)["status"] in {"ok", "degraded"}
        missing, raw = await _raw(client, "/api/servers/999999", "gzip")
        assert missing.status_code == 404
        assert json.loads(raw)["error"]["code"] == "not_found"
