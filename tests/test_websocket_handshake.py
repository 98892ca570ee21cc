"""/ws/servers handshake: refusals before the upgrade, the subprotocol answer (deflate: test_websocket_deflate.py)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest

from monitord.auth.jwt_tokens import ISSUER, TokenIssuer
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import feed, raw_handshake, rejection, subprotocols


def _jwt_key(running: RunningDaemon) -> bytes:
    return (Path(running.settings.data_dir) / "jwt.key").read_bytes().strip()


def _claims_of(running: RunningDaemon, token: str) -> dict[str, object]:
    claims = TokenIssuer(_jwt_key(running), 60).verify(token)
    now = int(time.time())
    return {"sub": str(claims.user_id), "ver": claims.token_version, "iat": now, "exp": now + 600, "iss": ISSUER}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _assert_unauthenticated(running: RunningDaemon, token: str | None, **options: object) -> None:
    refused = await rejection(running, token, **options)
    assert refused.status_code == 401
    assert json.loads(refused.body or b"")["error"]["code"] == "unauthenticated"


async def test_without_a_token_the_upgrade_is_refused_with_401(running: RunningDaemon) -> None:
    await _assert_unauthenticated(running, None)


async def test_a_token_signed_with_another_key_is_refused_with_401(running: RunningDaemon, admin_token: str) -> None:
    forged = jwt.encode(_claims_of(running, admin_token), b"k" * 32, algorithm="HS256")
    await _assert_unauthenticated(running, forged)


async def test_an_unsigned_alg_none_token_is_refused_with_401(running: RunningDaemon, admin_token: str) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims_of(running, admin_token))}."
    await _assert_unauthenticated(running, unsigned)


@pytest.mark.parametrize("expired_seconds_ago", [3600, 3])  # beyond and within the JWT leeway
async def test_an_expired_token_is_refused_with_401(
    running: RunningDaemon, admin_token: str, expired_seconds_ago: int
) -> None:
    claims = _claims_of(running, admin_token)
    now = int(time.time())
    claims.update(iat=now - 7200, exp=now - expired_seconds_ago)
    expired = jwt.encode(claims, _jwt_key(running), algorithm="HS256")
    await _assert_unauthenticated(running, expired)
    # The same claims with a live exp get through: the refusal above was the expiry.
    claims.update(exp=now + 600)
    async with feed(running, jwt.encode(claims, _jwt_key(running), algorithm="HS256")) as connection:
        assert json.loads(await connection.get_message())["type"] == "fullServerList"


async def test_a_revoked_token_is_refused_with_401(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        response = await client.put(
            "/api/auth/password", json={"currentPassword": running.admin_password, "newPassword": "a-new-password"}
        )
    assert response.status_code == 200
    await _assert_unauthenticated(running, admin_token)


async def test_two_bearer_subprotocols_are_refused_with_401(running: RunningDaemon, admin_token: str) -> None:
    await _assert_unauthenticated(running, None, offered=["monitord.v1", f"bearer.{admin_token}", "bearer.x"])


async def test_without_monitord_v1_the_upgrade_is_refused_with_400(running: RunningDaemon, admin_token: str) -> None:
    refused = await rejection(running, None, offered=[f"bearer.{admin_token}"])
    assert refused.status_code == 400


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://{address}.evil.example",  # the daemon's own authority as a prefix
        "http://evil.example/{address}",
        "http://{address}/",
        "http://user@{address}",
        "ws://{address}",
        "http://127.0.0.1",  # same host, another port
        "https://dash.example.com.evil.example",  # an allowed origin as a prefix
    ],
)
async def test_a_foreign_origin_is_refused_with_403(running: RunningDaemon, admin_token: str, origin: str) -> None:
    refused = await rejection(running, admin_token, origin=origin.format(address=running.endpoints.http))
    assert refused.status_code == 403
    assert json.loads(refused.body or b"")["error"]["code"] == "forbidden_origin"


async def test_a_foreign_origin_is_refused_even_without_a_token(running: RunningDaemon) -> None:
    refused = await rejection(running, None, origin="https://evil.example")
    assert refused.status_code == 403


@pytest.mark.parametrize("origin", ["http://{address}", "HTTP://{address}", "https://{address}", None])
async def test_the_dashboards_own_origin_and_non_browsers_connect(
    running: RunningDaemon, admin_token: str, origin: str | None
) -> None:
    own = origin.format(address=running.endpoints.http) if origin else None
    async with feed(running, admin_token, origin=own) as connection:
        message = json.loads(await connection.get_message())
    assert message["type"] == "fullServerList"


async def test_an_origin_from_the_config_connects(tmp_path: Path, daemons: DaemonStarter) -> None:
    settings = make_settings(tmp_path / "data", http={"allowed_origins": ["https://dash.example.com"]})
    running = await daemons(settings)
    token = await running.login()
    async with feed(running, token, origin="https://dash.example.com") as connection:
        assert json.loads(await connection.get_message())["type"] == "fullServerList"
    assert (await rejection(running, token, origin="https://dash.example.com:8443")).status_code == 403
    assert (await rejection(running, token, origin="http://dash.example.com")).status_code == 403


async def test_the_server_selects_monitord_v1_and_never_echoes_the_token(
    running: RunningDaemon, admin_token: str
) -> None:
    status, headers, stream = await raw_handshake(
        running, {"Sec-WebSocket-Protocol": ", ".join(subprotocols(admin_token))}
    )
    async with stream:
        assert status == 101
        assert headers["sec-websocket-protocol"] == "monitord.v1"
        assert all(admin_token not in value for value in headers.values())


async def test_a_handshake_during_shutdown_is_refused_with_503(running: RunningDaemon, admin_token: str) -> None:
    running.hub.close_all()
    assert (await rejection(running, admin_token)).status_code == 503
