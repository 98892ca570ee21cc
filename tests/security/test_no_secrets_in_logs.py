"""No password, password hash, JWT or agent token reaches a log line, even at DEBUG.

One full session runs against the real daemon with a real agent, with every logger at the
level the daemon would set for DEBUG: first start, logins (good and bad), REST calls, live
feeds (accepted and refused), an agent streaming with its token, a wrong agent token, a token
rotation and a password change. Then every secret that existed during the session is looked
for in every captured line.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
import trio
from purerpc.grpclib.status import StatusCode

from monitord.config import Settings
from tests.agents.conftest import HELLO, agent_call, agent_settings, running_agent, stored_times, wait_for
from tests.conftest import DaemonStarter, RunningDaemon
from tests.live_feed_helpers import feed, rejection
from tests.security.conftest import CapturedLog

NEW_ADMIN_PASSWORD = "correct horse battery staple 42"
VIEWER_PASSWORD = "viewer-secret-password-7"
WRONG_PASSWORD = "wrong-but-secret-guess-99"


class Secrets:
    """The secrets seen during a session, with the parts that are secret on their own."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, label: str, value: str) -> None:
        self.values[label] = value

    def add_jwt(self, label: str, token: str) -> None:
        # The header and payload are readable by anyone holding the token; the signature is
        # what makes it a credential, so it must not appear even without the rest.
        self.values[label] = token
        self.values[f"{label} signature"] = token.rsplit(".", 1)[1]

    def add_agent_token(self, label: str, token: str) -> None:
        self.values[label] = token
        self.values[f"{label} secret"] = token.split(".", 1)[1]

    def found_in(self, lines: list[str]) -> list[str]:
        return [f"{label} in: {line[:300]}" for line in lines for label, value in self.values.items() if value in line]


async def _full_session(running: RunningDaemon, secrets: Secrets, nursery: trio.Nursery) -> None:
    assert running.endpoints.grpc is not None
    grpc = running.endpoints.grpc
    secrets.add("initial admin password", running.admin_password)
    async with running.client() as anonymous:
        failed = await anonymous.post("/api/auth/login", json={"username": "admin", "password": WRONG_PASSWORD})
        assert failed.status_code == 401
        assert (await anonymous.get("/api/servers")).status_code == 401
    admin = await running.login()
    secrets.add_jwt("admin JWT", admin)
    async with running.client(admin) as client:
        assert (await client.get("/api/auth/me")).status_code == 200
        created = await client.post(
            "/api/users", json={"username": "viewer", "password": VIEWER_PASSWORD, "role": "viewer"}
        )
        assert created.status_code == 201, created.text
        server = await client.post("/api/servers", json={"name": "web-1"})
        assert server.status_code == 201, server.text
        server_id, first_token = server.json()["server"]["id"], server.json()["agentToken"]
        secrets.add_agent_token("first agent token", first_token)
        assert (await client.get("/api/servers")).status_code == 200
    viewer = await running.login("viewer", VIEWER_PASSWORD)
    secrets.add_jwt("viewer JWT", viewer)
    await _alert_channels(running, admin, secrets)

    async with feed(running, admin) as connection:
        assert '"fullServerList"' in await connection.get_message()
    forged = admin[:-4] + ("AAAA" if not admin.endswith("AAAA") else "BBBB")
    secrets.add("forged JWT", forged)
    assert (await rejection(running, forged)).status_code == 401

    async with running_agent(nursery, agent_settings(grpc, first_token)) as agent:
        await wait_for(lambda: agent.connected and bool(stored_times(running.settings, server_id)), timeout=20)
        async with agent_call(grpc, f"{server_id}.not-the-secret") as call:
            await call.send(HELLO)
            assert (await call.ended_with()).status_code == StatusCode.UNAUTHENTICATED

        async with running.client(admin) as client:
            rotated = await client.post(f"/api/servers/{server_id}/token")
        assert rotated.status_code == 200, rotated.text
        second_token = rotated.json()["agentToken"]
        secrets.add_agent_token("second agent token", second_token)
        # The agent still holds the first token: its reconnect is refused and it says so.
        await wait_for(lambda: agent.rejections > 0, timeout=20)

    async with agent_call(grpc, second_token) as call:
        await call.send(HELLO)
        reply = await call.receive()
        assert reply is not None and reply.WhichOneof("payload") == "welcome"

    async with running.client(admin) as client:
        changed = await client.put(
            "/api/auth/password", json={"currentPassword": running.admin_password, "newPassword": NEW_ADMIN_PASSWORD}
        )
        assert changed.status_code == 200, changed.text
        secrets.add_jwt("JWT after the password change", changed.json()["token"])
        assert (await client.get("/api/auth/me")).status_code == 401  # the old session is revoked
    secrets.add("new admin password", NEW_ADMIN_PASSWORD)
    secrets.add_jwt("admin JWT after a new login", await running.login("admin", NEW_ADMIN_PASSWORD))
    secrets.add("viewer password", VIEWER_PASSWORD)
    secrets.add("wrong password", WRONG_PASSWORD)


async def _alert_channels(running: RunningDaemon, admin: str, secrets: Secrets) -> None:
    """Alert channels (issue 15): a webhook with a token in its path and an HMAC key, an Apprise
    URL with a password; created, listed, changed and test-sent (to a closed port)."""
    hook_token, hmac_key, mail_password = "hook-path-token-1234567", "hmac-key-secret-98765", "smtp-pass-secret-4321"
    for label, value in (("webhook URL token", hook_token), ("HMAC key", hmac_key), ("SMTP password", mail_password)):
        secrets.add(label, value)
    async with running.client(admin) as client:
        webhook = await client.post(
            "/api/alerts/channels",
            json={"name": "hook", "kind": "webhook", "url": f"http://127.0.0.1:9/{hook_token}", "secret": hmac_key},
        )
        mail = await client.post(
            "/api/alerts/channels",
            json={
                "name": "mail",
                "kind": "apprise",
                "url": f"mailto://ops:{mail_password}@example.com?smtp=127.0.0.1&port=9&to=a@b.c",
            },
        )
        assert webhook.status_code == mail.status_code == 201, (webhook.text, mail.text)
        changed = await client.patch(f"/api/alerts/channels/{webhook.json()['id']}", json={"name": "hook 2"})
        listed = await client.get("/api/alerts/channels")
        tested = await client.post(f"/api/alerts/channels/{webhook.json()['id']}/test")
        assert tested.json() == {"ok": False, "error": "connection refused or unreachable"}
        for response in (webhook, mail, changed, listed, tested):
            assert secrets.found_in([response.text]) == []
    secrets.add("alert key", (running.settings.data_path / "alerts.key").read_text().strip())


def _stored_secrets(settings: Settings, secrets: Secrets) -> None:
    """The password hashes and the JWT key, as the daemon stored them."""
    connection = sqlite3.connect(Path(settings.data_dir) / "monitord.db")
    try:
        for username, password_hash in connection.execute("SELECT username, password_hash FROM users"):
            secrets.add(f"password hash of {username}", password_hash)
            secrets.add(f"password hash of {username}, its digest", password_hash.rsplit("$", 1)[1])
    finally:
        connection.close()
    secrets.add("JWT key", settings.jwt_key_path.read_bytes().strip().decode())


@pytest.mark.expect_error_logs  # the agent with a rotated token logs its rejection; checked below
async def test_a_full_session_logs_no_secret(
    debug_log: CapturedLog,
    settings: Settings,
    daemons: DaemonStarter,
    nursery: trio.Nursery,
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = await daemons(settings)
    secrets = Secrets()
    await _full_session(running, secrets, nursery)
    await running.stop()
    _stored_secrets(settings, secrets)

    lines = debug_log.lines
    # The capture really was at DEBUG and saw every part of the session.
    assert any(record.levelno == logging.DEBUG for record in debug_log.records)
    for expected in ("logged in", "failed login", "live feed opened", "connected to", "rejected this agent's token"):
        assert any(expected in line for line in lines), f"no log line mentions {expected!r}"
    assert secrets.found_in(lines) == []
    errors = [line for record, line in zip(debug_log.records, lines, strict=False) if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and "rejected this agent's token" in errors[0], errors

    # The first start prints the admin password once, to the terminal (CONTRACT §3); nothing else
    # the daemon printed holds a secret.
    printed = capsys.readouterr()
    assert printed.err.count(running.admin_password) == 1
    secrets.values.pop("initial admin password")
    assert secrets.found_in((printed.out + printed.err).splitlines()) == []
