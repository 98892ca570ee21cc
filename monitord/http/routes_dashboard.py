"""The single-page dashboard: built files from monitord/static/dashboard, SPA fallback.

Hashed assets are cached for a year; index.html is revalidated on every load so a new build is
picked up at once. Each file goes out pre-compressed (brotli or gzip, made at build time) when
the client accepts it (compression.py). Until the dashboard is built, `/` explains how to build it.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, current_app

from monitord.http.compression import precompressed
from monitord.http.errors import ApiError

# Where `npm run build` (web/vite.config.ts) writes; packaged as monitord package data.
DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "static" / "dashboard"

blueprint = Blueprint("dashboard", __name__)

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>monitord</title></head>
<body><h1>monitord</h1>
<p>The daemon is running, but the dashboard has not been built. Run <code>make run</code>,
or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>
<p>The API is at <code>/api</code>; see <code>/api/health</code>.</p></body></html>
"""


def _dashboard_dir() -> Path:
    directory: Path = current_app.config["DASHBOARD_DIR"]
    return directory


async def _revalidated(name: str) -> Response:
    """A top-level build file, which keeps its name across builds: revalidated every load."""
    response = await precompressed(_dashboard_dir(), name)
    response.headers["Cache-Control"] = "no-cache"
    return response


async def _index() -> Response:
    if not (_dashboard_dir() / "index.html").is_file():
        return Response(_NOT_BUILT, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
    return await _revalidated("index.html")


@blueprint.get("/")
async def index() -> Response:
    return await _index()


@blueprint.get("/assets/<path:name>")
async def asset(name: str) -> Response:
    response = await precompressed(_dashboard_dir() / "assets", name)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@blueprint.get("/<path:path>")
async def client_route(path: str) -> Response:
    """Client-side routes get index.html; files at the top of the build are served as they are."""
    if path in ("api", "agent") or path.startswith(("api/", "ws/", "agent/")):
        raise ApiError(404, "not_found", "no such route")
    if "/" not in path and (_dashboard_dir() / path).is_file():
        return await _revalidated(path)
    return await _index()
