"""The built dashboard: SPA fallback for client routes, cache headers fit for hashed assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from monitord.auth.jwt_tokens import TokenIssuer
from monitord.auth.login_limiter import LoginLimiter
from monitord.auth.sessions import SessionAuthenticator
from monitord.cache import LiveCache
from monitord.http.app import create_app
from monitord.http.context import AppState
from monitord.http.serve import serve_dashboard
from monitord.push.hub import SnapshotHub
from monitord.servers import ServerRegistry
from monitord.storage.sqlite import open_sqlite_storage
from monitord.telemetry import Telemetry
from tests.conftest import make_settings


@pytest.fixture
def build(tmp_path: Path) -> Path:
    directory = tmp_path / "dashboard"
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text("<!doctype html><div id=root></div>")
    (directory / "assets" / "index-abc123.js").write_text("console.log(1)")
    (directory / "favicon.svg").write_text("<svg/>")
    return directory


@asynccontextmanager
async def _serving(tmp_path: Path, build: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app alone, serving `build` as its dashboard on port 0; stopped gracefully on exit."""
    settings = make_settings(tmp_path / "data")
    stop = trio.Event()
    async with open_sqlite_storage(tmp_path / "db.sqlite") as storage, trio.open_nursery() as nursery:
        cache, hub = LiveCache(), SnapshotHub()
        state = AppState(
            settings=settings,
            storage=storage,
            cache=cache,
            hub=hub,
            telemetry=Telemetry(cache, hub),
            sessions=SessionAuthenticator(TokenIssuer(b"k" * 32, 60), storage),
            login_limiter=LoginLimiter(5, 60, trio.current_time),
            servers=ServerRegistry(storage, cache),
        )
        address = await nursery.start(
            partial(serve_dashboard, create_app(state, build), settings.http, shutdown_trigger=stop.wait)
        )
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            yield client
        stop.set()


async def test_client_routes_get_the_app_and_assets_are_immutable(tmp_path: Path, build: Path) -> None:
    async with _serving(tmp_path, build) as client:
        for path in ("/", "/login", "/servers/42"):
            page = await client.get(path)
            assert page.status_code == 200 and "<div id=root>" in page.text
            assert page.headers["cache-control"] == "no-cache"
            assert "default-src 'self'" in page.headers["content-security-policy"]
        asset = await client.get("/assets/index-abc123.js")
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await client.get("/favicon.svg")).headers["cache-control"] == "no-cache"
        assert (await client.get("/assets/missing.js")).status_code == 404
        assert (await client.get("/assets/..%2F..%2F..%2Fpyproject.toml")).status_code == 404
        api = await client.get("/api/nothing-here")
        assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


async def test_an_unbuilt_dashboard_explains_how_to_build_it(tmp_path: Path) -> None:
    async with _serving(tmp_path, tmp_path / "no-build") as client:
        page = await client.get("/servers/1")
    assert page.status_code == 200 and "make run" in page.text


async def test_built_files_go_out_precompressed_by_accept_encoding(tmp_path: Path, build: Path) -> None:
    script = build / "assets" / "index-abc123.js"
    script.write_text("console.log('plain')")
    (build / "assets" / "index-abc123.js.br").write_bytes(b"brotli bytes")
    (build / "assets" / "index-abc123.js.gz").write_bytes(b"gzip bytes")
    (build / "index.html.gz").write_bytes(b"gzip page")
    async with _serving(tmp_path, build) as client:
        cases = [("br, gzip", "br", b"brotli bytes"), ("gzip", "gzip", b"gzip bytes"), ("identity", None, None)]
        for accepted, encoding, body in cases:
            # The raw bytes: httpx would decode a Content-Encoding it knows.
            async with client.stream("GET", "/assets/index-abc123.js", headers={"Accept-Encoding": accepted}) as asset:
                raw = b"".join([chunk async for chunk in asset.aiter_raw()])
            assert asset.headers.get("content-encoding") == encoding
            assert raw == (body if body is not None else b"console.log('plain')")
            assert asset.headers["content-type"].startswith("text/javascript")
            assert asset.headers["vary"] == "Accept-Encoding"
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        async with client.stream("GET", "/login", headers={"Accept-Encoding": "br;q=1, gzip;q=0.5"}) as page:
            raw = b"".join([chunk async for chunk in page.aiter_raw()])
        assert (page.headers["content-encoding"], raw) == ("gzip", b"gzip page")  # no .br of it
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        refused = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
        assert "content-encoding" not in refused.headers
        assert (await client.get("/assets/index-abc123.js.br.gz")).status_code == 404
