"""Administering users over the API (issue 14): change role, reset password, never lose the last admin."""

from __future__ import annotations

from tests.conftest import RunningDaemon


async def _create(running: RunningDaemon, admin_token: str, name: str, role: str) -> int:
    async with running.client(admin_token) as client:
        response = await client.post(
            "/api/users", json={"username": name, "password": f"{name}-password", "role": role}
        )
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


async def _admin_id(running: RunningDaemon, admin_token: str) -> int:
    async with running.client(admin_token) as client:
        me: int = (await client.get("/api/auth/me")).json()["id"]
    return me


async def test_the_last_admin_can_be_neither_demoted_nor_deleted(running: RunningDaemon, admin_token: str) -> None:
    admin_id = await _admin_id(running, admin_token)
    second = await _create(running, admin_token, "bea", "admin")
    async with running.client(admin_token) as client:
        assert (await client.delete(f"/api/users/{second}")).status_code == 204
        demoted = await client.patch(f"/api/users/{admin_id}", json={"role": "viewer"})
    assert demoted.status_code == 409
    assert demoted.json() == {
        "error": {"code": "last_admin", "message": "cannot demote the last admin; make another user an admin first"}
    }
    # With a second admin, that one may demote and then fail to delete the first.
    other = await _create(running, admin_token, "cai", "admin")
    other_token = await running.login("cai", "cai-password")
    async with running.client(other_token) as client:
        assert (await client.patch(f"/api/users/{admin_id}", json={"role": "viewer"})).json()["role"] == "viewer"
        refused = await client.patch(f"/api/users/{other}", json={"role": "viewer"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin"
        assert (await client.get("/api/users")).status_code == 200


async def test_deleting_the_last_admin_is_refused(running: RunningDaemon, admin_token: str) -> None:
    admin_id = await _admin_id(running, admin_token)
    other = await _create(running, admin_token, "dov", "admin")
    other_token = await running.login("dov", "dov-password")
    async with running.client(other_token) as client:
        assert (await client.patch(f"/api/users/{other}", json={"role": "viewer"})).status_code == 200
    async with running.client(admin_token) as client:
        assert (await client.delete(f"/api/users/{other}")).status_code == 204
        # The last admin may not delete itself (own account) either way.
        assert (await client.delete(f"/api/users/{admin_id}")).status_code == 409


async def test_a_role_change_revokes_the_users_sessions(running: RunningDaemon, admin_token: str) -> None:
    viewer = await _create(running, admin_token, "eve", "viewer")
    token = await running.login("eve", "eve-password")
    async with running.client(admin_token) as client:
        changed = await client.patch(f"/api/users/{viewer}", json={"role": "admin"})
        assert changed.json() == {"id": viewer, "username": "eve", "role": "admin"}
        bad = await client.patch(f"/api/users/{viewer}", json={"role": "root"})
        assert bad.status_code == 400 and "role" in bad.json()["error"]["message"]
        assert (await client.patch("/api/users/9999", json={"role": "viewer"})).status_code == 404
    async with running.client(token) as client:
        assert (await client.get("/api/auth/me")).status_code == 401


async def test_a_password_reset_revokes_sessions_and_can_generate_one(running: RunningDaemon, admin_token: str) -> None:
    user = await _create(running, admin_token, "fay", "viewer")
    token = await running.login("fay", "fay-password")
    async with running.client(admin_token) as client:
        generated = await client.post(f"/api/users/{user}/password", json={})
        assert generated.status_code == 200
        password = generated.json()["password"]
        assert len(password) >= 12
        assert generated.json()["user"] == {"id": user, "username": "fay", "role": "viewer"}
        short = await client.post(f"/api/users/{user}/password", json={"password": "short"})
        assert short.status_code == 400 and "password" in short.json()["error"]["message"]
    async with running.client(token) as client:
        assert (await client.get("/api/auth/me")).status_code == 401
    await running.login("fay", password)
    async with running.client(admin_token) as client:
        chosen = await client.post(f"/api/users/{user}/password", json={"password": "a-chosen-password"})
        assert chosen.json()["password"] is None
    await running.login("fay", "a-chosen-password")
