"""No response grants a foreign origin access: the daemon speaks no CORS at all.

The dashboard is served by the daemon itself, so it never needs CORS; `http.allowed_origins`
only widens the WebSocket Origin check. Every kind of response is tried with a hostile Origin
(and with a configured one): API answers, preflights, errors of every status, WebSocket
handshakes accepted and refused, the dashboard and /metrics. None may carry
`Access-Control-Allow-Origin` echoing the origin or `*`, nor allow credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from monitord.config import Settings
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import raw_handshake

EVIL = "https://evil.example"
CONFIGURED = "https://dash.example.com"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", http={"allowed_origins": [CONFIGURED]})


def _assert_no_cors_grant(headers: Mapping[str, str], origin: str, what: str) -> None:
    lowered = {name.lower(): value for name, value in headers.items()}
    allowed = lowered.get("access-control-allow-origin")
    assert allowed is None, f"{what}: Access-Control-Allow-Origin {allowed!r}"
    assert "access-control-allow-credentials" not in lowered, what


async def _responses(running: RunningDaemon, token: str, origin: str) -> list[tuple[str, httpx.Response]]:
    """One response of each kind, all requested with `Origin: origin`."""
    headers = {"Origin": origin}
    preflight = {**headers, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with running.client(token) as client, running.client() as anonymous:
        server = (await client.post("/api/servers", headers=headers, json={"name": "cors"})).json()["server"]["id"]
        return [
            ("GET /api/servers", await client.get("/api/servers", headers=headers)),
            ("GET /api/auth/me", await client.get("/api/auth/me", headers=headers)),
            ("GET history", await client.get(f"/api/servers/{server}/metrics", headers=headers)),
            ("PATCH server", await client.patch(f"/api/servers/{server}", headers=headers, json={"name": "x"})),
            (
                "POST login 200",
                await anonymous.post(
                    "/api/auth/login", headers=headers, json={"username": "admin", "password": running.admin_password}
                ),
            ),
            (
                "POST login 401",
                await anonymous.post(
                    "/api/auth/login", headers=headers, json={"username": "admin", "password": "wrong"}
                ),
            ),
            ("GET without a token 401", await anonymous.get("/api/servers", headers=headers)),
            ("GET health", await anonymous.get("/api/health", headers=headers)),
            ("GET /metrics", await anonymous.get("/metrics", headers=headers)),
            ("GET dashboard", await anonymous.get("/", headers=headers)),
            ("GET client route", await anonymous.get("/servers/1", headers=headers)),
            ("404", await client.get("/api/nothing-here", headers=headers)),
            ("404 server", await client.get("/api/servers/999999", headers=headers)),
            ("405", await client.put("/api/servers", headers=headers)),
            ("400 body", await client.post("/api/servers", headers=headers, content=b"{")),
            ("413", await client.post("/api/servers", headers=headers, content=b"x" * 70_000)),
            ("400 host", await anonymous.get("/api/health", headers={**headers, "Host": "evil.example"})),
            ("OPTIONS /api/servers", await client.options("/api/servers", headers=preflight)),
            ("OPTIONS login", await anonymous.options("/api/auth/login", headers=preflight)),
            ("OPTIONS server", await anonymous.options(f"/api/servers/{server}", headers=preflight)),
            ("OPTIONS /ws/servers", await anonymous.options("/ws/servers", headers=preflight)),
            ("OPTIONS *", await anonymous.request("OPTIONS", "/", headers=preflight)),
        ]


@pytest.mark.parametrize("origin", [EVIL, CONFIGURED, "null"])
async def test_no_http_response_grants_an_origin(running: RunningDaemon, admin_token: str, origin: str) -> None:
    responses = await _responses(running, admin_token, origin)
    statuses = {what: response.status_code for what, response in responses}
    # The requests reached what they aimed at (so the headers checked are the real answers).
    assert statuses["GET /api/servers"] == 200 and statuses["413"] == 413 and statuses["400 host"] == 400
    assert statuses["POST login 401"] == 401 and statuses["405"] == 405
    for what, response in responses:
        _assert_no_cors_grant(response.headers, origin, what)


@pytest.mark.parametrize(
    ("origin", "with_token", "status"),
    [(EVIL, True, 403), (EVIL, False, 403), (CONFIGURED, False, 401), (CONFIGURED, True, 101), ("null", True, 403)],
)
async def test_no_websocket_handshake_grants_an_origin(
    running: RunningDaemon, admin_token: str, origin: str, with_token: bool, status: int
) -> None:
    protocols = f"monitord.v1, bearer.{admin_token}" if with_token else "monitord.v1"
    code, headers, stream = await raw_handshake(running, {"Origin": origin, "Sec-WebSocket-Protocol": protocols})
    await stream.aclose()
    assert code == status
    _assert_no_cors_grant(headers, origin, f"handshake {origin} -> {code}")
    assert admin_token not in str(headers)  # the token is never echoed (CONTRACT §5)


async def test_a_daemon_without_configured_origins_grants_none_either(daemons: DaemonStarter, tmp_path: Path) -> None:
    running = await daemons(make_settings(tmp_path / "plain"))
    token = await running.login()
    for what, response in await _responses(running, token, EVIL):
        _assert_no_cors_grant(response.headers, EVIL, what)
