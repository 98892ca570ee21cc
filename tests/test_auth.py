"""Sessions: JWT checks, revocation, login throttling and the first-start admin."""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path

import jwt
import pytest
import trio
import trio.testing

from monitord.auth.jwt_tokens import ISSUER
from tests.conftest import RunningDaemon, make_settings, start_daemon


def _key(running: RunningDaemon) -> bytes:
    return (Path(running.settings.data_dir) / "jwt.key").read_bytes().strip()


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"sub": "1", "ver": 0, "iat": now, "exp": now + 600, "iss": ISSUER}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _me_status(running: RunningDaemon, token: str) -> int:
    async with running.client(token) as client:
        return (await client.get("/api/auth/me")).status_code


async def test_a_token_signed_with_the_daemon_key_is_accepted(running: RunningDaemon) -> None:
    # The positive control for the negatives below: the same construction, valid.
    token = jwt.encode(_claims(), _key(running), algorithm="HS256")
    assert await _me_status(running, token) == 200


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "other_key",
        "no_exp",
        "no_iat",
        "no_sub",
        "expired",
        "tampered",
        "wrong_issuer",
        "future_iat",
        "garbage",
    ],
)
async def test_bad_tokens_get_401(running: RunningDaemon, case: str) -> None:
    key = _key(running)
    if case == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    elif case == "other_key":
        token = jwt.encode(_claims(), b"k" * 32, algorithm="HS256")
    elif case == "tampered":
        header, _payload, signature = jwt.encode(_claims(), key, algorithm="HS256").split(".")
        token = f"{header}.{_b64(_claims(sub='2'))}.{signature}"
    elif case == "garbage":
        token = "not-a-jwt"
    else:
        now = int(time.time())
        overrides: dict[str, object] = {
            "no_exp": {"exp": None},
            "no_iat": {"iat": None},
            "no_sub": {"sub": None},
            # Past the 10 s leeway, by whole seconds (exp has 1 s resolution, STACK trap 9).
            "expired": {"iat": now - 100, "exp": now - 30},
            "wrong_issuer": {"iss": "someone-else"},
            "future_iat": {"iat": now + 3600},
        }[case]
        token = jwt.encode(_claims(**overrides), key, algorithm="HS256")
    async with running.client(token) as client:
        response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_a_password_change_revokes_older_tokens(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        response = await client.put(
            "/api/auth/password",
            json={"currentPassword": running.admin_password, "newPassword": "a-brand-new-password"},
        )
    assert response.status_code == 200
    fresh = response.json()["token"]
    assert await _me_status(running, admin_token) == 401
    assert await _me_status(running, fresh) == 200
    assert await running.login("admin", "a-brand-new-password")


async def test_a_wrong_current_password_changes_nothing(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        response = await client.put(
            "/api/auth/password", json={"currentPassword": "not-the-password", "newPassword": "whatever-else"}
        )
    assert response.status_code == 403
    assert await _me_status(running, admin_token) == 200


async def test_deleting_a_user_revokes_their_tokens(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        created = await client.post(
            "/api/users", json={"username": "tmp", "password": "tmp-password", "role": "viewer"}
        )
        token = await running.login("tmp", "tmp-password")
        assert await _me_status(running, token) == 200
        assert (await client.delete(f"/api/users/{created.json()['id']}")).status_code == 204
    assert await _me_status(running, token) == 401


async def test_the_first_admin_password_is_printed_once_and_kept_0600(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path / "data")
    for _ in range(2):  # a second start must not print or change it
        async with trio.open_nursery() as nursery:
            running = await start_daemon(nursery, settings)
            running.shutdown.set()
    password_file = tmp_path / "data" / "initial-admin-password"
    password = password_file.read_text().strip()
    printed = capfd.readouterr().err
    assert printed.count(password) == 1
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data" / "jwt.key").stat().st_mode) == 0o600
    assert len(bytes.fromhex((tmp_path / "data" / "jwt.key").read_text().strip())) >= 32


async def _login_status(running: RunningDaemon, username: str, password: str) -> tuple[int, dict[str, str]]:
    async with running.client() as client:
        response = await client.post("/api/auth/login", json={"username": username, "password": password})
    return response.status_code, dict(response.headers)


async def test_login_is_throttled_after_repeated_failures(tmp_path: Path, mock_clock: trio.testing.MockClock) -> None:
    # mock_clock stands still unless jumped, so real socket I/O never races it.
    settings = make_settings(tmp_path / "data", auth={"login_max_failures": 3, "login_window_seconds": 60})
    async with trio.open_nursery() as nursery:
        running = await start_daemon(nursery, settings)
        for _ in range(3):
            assert (await _login_status(running, "admin", "wrong-password"))[0] == 401
        status, headers = await _login_status(running, "admin", running.admin_password)
        assert status == 429  # even the right password waits: no oracle for a guesser
        assert 0 < int(headers["retry-after"]) <= 60
        # Another account from the same client is not blocked by this one's failures.
        assert (await _login_status(running, "someone", "wrong-password"))[0] == 401
        mock_clock.jump(61)
        assert (await _login_status(running, "admin", running.admin_password))[0] == 200
        running.shutdown.set()
