"""Every route, called unauthenticated, as a viewer and as an admin (issue 2's access matrix)."""

from __future__ import annotations

import httpx
import pytest

from monitord.http.app import create_app
from tests.conftest import RunningDaemon

PUBLIC, VIEWER, ADMIN = "public", "viewer", "admin"

# Every (method, rule) the app serves and who may call it. A route added without an entry here
# fails test_the_matrix_covers_every_route, so nothing ships without an access decision.
ACCESS: dict[tuple[str, str], tuple[str, int]] = {
    # (method, rule): (who may call it, the status an admin gets)
    ("POST", "/api/auth/login"): (PUBLIC, 401),  # wrong credentials in the body
    ("GET", "/api/auth/me"): (VIEWER, 200),
    ("PUT", "/api/auth/password"): (VIEWER, 200),
    ("GET", "/api/users"): (ADMIN, 200),
    ("POST", "/api/users"): (ADMIN, 201),
    ("DELETE", "/api/users/<int:user_id>"): (ADMIN, 204),
    ("PATCH", "/api/users/<int:user_id>"): (ADMIN, 200),
    ("POST", "/api/users/<int:user_id>/password"): (ADMIN, 200),
    ("GET", "/api/agent/install"): (ADMIN, 200),
    ("GET", "/agent/install.sh"): (PUBLIC, 200),
    ("GET", "/agent/wheels/"): (PUBLIC, 200),
    ("GET", "/agent/wheels/<name>"): (PUBLIC, 404),  # no such wheel
    ("POST", "/agent/token-check"): (PUBLIC, 401),  # no token in the body
    ("GET", "/api/users/<int:user_id>"): (ADMIN, 200),
    ("PUT", "/api/users/<int:user_id>/grant"): (ADMIN, 200),
    ("GET", "/api/tags"): (VIEWER, 200),
    ("GET", "/api/status-pages"): (ADMIN, 200),
    ("POST", "/api/status-pages"): (ADMIN, 201),
    ("GET", "/api/status-pages/<int:page_id>"): (ADMIN, 404),  # no such page
    ("PATCH", "/api/status-pages/<int:page_id>"): (ADMIN, 404),
    ("DELETE", "/api/status-pages/<int:page_id>"): (ADMIN, 404),
    ("GET", "/api/public/status/<slug>"): (PUBLIC, 404),  # no such page; tests/groups/test_status_pages.py
    ("POST", "/api/public/status/<slug>/token"): (PUBLIC, 404),
    ("PATCH", "/api/tags/<name>"): (ADMIN, 404),  # no such tag
    ("GET", "/api/servers"): (VIEWER, 200),
    ("POST", "/api/servers"): (ADMIN, 201),
    ("GET", "/api/servers/<int:server_id>"): (VIEWER, 200),
    ("PATCH", "/api/servers/<int:server_id>"): (ADMIN, 200),
    ("DELETE", "/api/servers/<int:server_id>"): (ADMIN, 204),
    ("POST", "/api/servers/<int:server_id>/token"): (ADMIN, 200),
    ("GET", "/api/servers/<int:server_id>/metrics"): (VIEWER, 200),
    ("GET", "/api/health"): (PUBLIC, 200),
    # alerts (issue 15): channels hold secrets, so viewers may not even read them
    ("GET", "/api/alerts/channels"): (ADMIN, 200),
    ("POST", "/api/alerts/channels"): (ADMIN, 201),
    ("PATCH", "/api/alerts/channels/<int:channel_id>"): (ADMIN, 404),  # no such channel
    ("DELETE", "/api/alerts/channels/<int:channel_id>"): (ADMIN, 404),
    ("POST", "/api/alerts/channels/<int:channel_id>/test"): (ADMIN, 404),
    ("GET", "/api/alerts/rules"): (VIEWER, 200),
    ("POST", "/api/alerts/rules"): (ADMIN, 201),
    ("POST", "/api/alerts/rules/preview"): (ADMIN, 200),
    ("PATCH", "/api/alerts/rules/<int:rule_id>"): (ADMIN, 404),
    ("DELETE", "/api/alerts/rules/<int:rule_id>"): (ADMIN, 404),
    ("GET", "/api/alerts/active"): (VIEWER, 200),
    ("GET", "/api/alerts/events"): (VIEWER, 200),
    ("GET", "/api/alerts/silences"): (VIEWER, 200),
    ("POST", "/api/alerts/silences"): (ADMIN, 201),
    ("DELETE", "/api/alerts/silences/<int:silence_id>"): (ADMIN, 404),
    ("GET", "/metrics"): (PUBLIC, 404),  # its own bearer token (tests/test_metrics.py); off here
    ("GET", "/"): (PUBLIC, 200),
    ("GET", "/assets/<path:name>"): (PUBLIC, 404),  # no such asset
    ("GET", "/<path:path>"): (PUBLIC, 200),  # a client route: the app's index
}


# WebSocket routes and who may open them; their handshake refusals are tested in
# tests/test_websocket_handshake.py (an HTTP client cannot reach them).
WEBSOCKET_ACCESS: dict[str, str] = {
    "/ws/servers": VIEWER,
    "/ws/public/status/<slug>": PUBLIC,  # tests/groups/test_status_pages.py
}


def app_routes(websocket: bool = False) -> set[tuple[str, str]]:
    app = create_app(None)  # type: ignore[arg-type]  # only the URL map is read
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"} and rule.websocket is websocket
    }


def test_the_matrix_covers_every_route() -> None:
    assert app_routes() == set(ACCESS)
    assert app_routes(websocket=True) == {("GET", rule) for rule in WEBSOCKET_ACCESS}


async def _server_id(running: RunningDaemon, admin_token: str) -> int:
    async with running.client(admin_token) as client:
        response = await client.post("/api/servers", json={"name": "matrix"})
    assert response.status_code == 201
    server_id: int = response.json()["server"]["id"]
    return server_id


async def _viewer_token(running: RunningDaemon, admin_token: str) -> str:
    async with running.client(admin_token) as client:
        response = await client.post(
            "/api/users", json={"username": "vera", "password": "viewer-password", "role": "viewer"}
        )
    assert response.status_code == 201, response.text
    return await running.login("vera", "viewer-password")


def _request_for(method: str, rule: str, ids: dict[str, int], password: str) -> tuple[str, dict[str, object] | None]:
    path = (
        rule.replace("<int:server_id>", str(ids["server"]))
        .replace("<int:user_id>", str(ids["user"]))
        .replace("<path:name>", "missing.js")
        .replace("<name>", "missing.whl")
        .replace("<path:path>", "servers/1")
        .replace("<name>", "no-such-tag")
        .replace("<int:page_id>", "987654")
        .replace("<slug>", "no-such-page")
        .replace("<int:channel_id>", "999")
        .replace("<int:rule_id>", "999")
        .replace("<int:silence_id>", "999")
    )
    bodies: dict[tuple[str, str], dict[str, object]] = {
        ("POST", "/api/auth/login"): {"username": "nobody", "password": "nothing-at-all"},
        ("PUT", "/api/auth/password"): {"currentPassword": password, "newPassword": "another-password"},
        ("POST", "/api/users"): {"username": "newbie", "password": "newbie-password", "role": "viewer"},
        ("POST", "/api/servers"): {"name": "created"},
        ("PATCH", "/api/servers/<int:server_id>"): {"name": "renamed"},
        ("PATCH", "/api/users/<int:user_id>"): {"role": "viewer"},
        ("POST", "/api/users/<int:user_id>/password"): {},
        ("PUT", "/api/users/<int:user_id>/grant"): {"all": True},
        ("PATCH", "/api/tags/<name>"): {"color": "#112233"},
        ("POST", "/api/status-pages"): {"slug": "matrix", "title": "Matrix"},
        ("PATCH", "/api/status-pages/<int:page_id>"): {"title": "Renamed"},
        ("POST", "/api/public/status/<slug>/token"): {"password": "whatever-it-is"},
        ("POST", "/api/alerts/channels"): {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"},
        ("PATCH", "/api/alerts/channels/<int:channel_id>"): {"name": "renamed"},
        ("POST", "/api/alerts/rules"): {"name": "cpu", "kind": "metric", "metric": "cpuUsagePercent", "critical": 90},
        ("POST", "/api/alerts/rules/preview"): {"name": "cpu", "kind": "metric", "metric": "cpuUsagePercent"},
        ("PATCH", "/api/alerts/rules/<int:rule_id>"): {"name": "renamed"},
        ("POST", "/api/alerts/silences"): {"startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-02T00:00:00Z"},
    }
    return path, bodies.get((method, rule))


@pytest.mark.parametrize("method,rule", sorted(ACCESS))
async def test_route_access(running: RunningDaemon, admin_token: str, method: str, rule: str) -> None:
    viewer = await _viewer_token(running, admin_token)
    async with running.client(admin_token) as client:
        users = (await client.get("/api/users")).json()["users"]
    ids = {
        "server": await _server_id(running, admin_token),
        "user": next(user["id"] for user in users if user["username"] == "vera"),
    }
    access, admin_status = ACCESS[(method, rule)]

    async def call(token: str | None, password: str) -> httpx.Response:
        path, body = _request_for(method, rule, ids, password)
        async with running.client(token) as client:
            return await client.request(method, path, json=body)

    anonymous = await call(None, "")
    as_viewer = await call(viewer, "viewer-password")
    if access == PUBLIC:
        assert anonymous.status_code == admin_status
        assert as_viewer.status_code == admin_status
        return
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    if access == ADMIN:
        assert as_viewer.status_code == 403
        assert as_viewer.json()["error"]["code"] == "forbidden"
    else:
        assert as_viewer.status_code == admin_status
    as_admin = await call(admin_token, running.admin_password)
    assert as_admin.status_code == admin_status, as_admin.text
