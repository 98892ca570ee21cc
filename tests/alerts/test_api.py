"""/api/alerts against the real daemon: shapes, bad input naming the field, roles, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from tests.alerts.receiver import Receiver, start_receiver
from tests.conftest import RunningDaemon

RULE = {"name": "cpu high", "kind": "metric", "metric": "cpuUsagePercent", "critical": 90}


async def _viewer(running: RunningDaemon, admin_token: str) -> str:
    async with running.client(admin_token) as client:
        created = await client.post(
            "/api/users", json={"username": "vic", "password": "viewer-pass-1", "role": "viewer"}
        )
    assert created.status_code == 201
    return await running.login("vic", "viewer-pass-1")


async def test_channel_secrets_are_encrypted_at_rest_and_redacted(running: RunningDaemon, admin_token: str) -> None:
    url = "https://hooks.example.com/services/T000/B000/very-secret-token"
    async with running.client(admin_token) as client:
        created = await client.post(
            "/api/alerts/channels", json={"name": "ops", "kind": "webhook", "url": url, "secret": "hmac-key"}
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["url"] == "https://hooks.example.com/***" and body["secret"] == "***"
        assert body["language"] == "en" and body["failing"] is False
        # Sending the redacted values back keeps the real ones.
        patched = await client.patch(f"/api/alerts/channels/{body['id']}", json={**body, "language": "zh-CN"})
        assert patched.status_code == 200, patched.text
        assert patched.json()["language"] == "zh-CN"
        listed = (await client.get("/api/alerts/channels")).json()["channels"]
    assert [c["url"] for c in listed] == ["https://hooks.example.com/***"]
    stored = Path(running.settings.data_dir, "monitord.db").read_bytes()
    assert b"very-secret-token" not in stored and b"hmac-key" not in stored
    key = Path(running.settings.data_dir, "alerts.key")
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "change,field",
    [
        ({"metric": "cpuUsage"}, "metric"),
        ({"warning": 95, "critical": 90}, "warning"),
        ({"windowSeconds": -1}, "windowSeconds"),
        ({"forSeconds": 10 * 86_400}, "forSeconds"),
        ({"op": ">="}, "op"),
        ({"channelIds": [42]}, "channelIds"),
        ({"clear": 95}, "clear"),
        ({"tags": ["no spaces"]}, "tags"),
    ],
)
async def test_bad_rules_get_400_naming_the_field(
    running: RunningDaemon, admin_token: str, change: dict[str, Any], field: str
) -> None:
    async with running.client(admin_token) as client:
        response = await client.post("/api/alerts/rules", json={**RULE, **change})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"].startswith(field), error


async def test_tag_scope_round_trips_and_the_preview_counts_tagged_servers(
    running: RunningDaemon, admin_token: str
) -> None:
    async with running.client(admin_token) as client:
        ids = []
        for name, tags in (("a", ["db"]), ("b", ["db", "eu"]), ("c", ["web"]), ("d", [])):
            ids.append((await client.post("/api/servers", json={"name": name})).json()["server"]["id"])
            assert (await client.patch(f"/api/servers/{ids[-1]}", json={"tags": tags})).status_code == 200
        scope = {"serverIds": [ids[3]], "tags": ["db"], "excludeServerIds": [ids[1]]}
        preview = await client.post("/api/alerts/rules/preview", json={**RULE, **scope})
        assert preview.json()["servers"] == 2  # a by its tag, d by its id; b excluded
        created = await client.post("/api/alerts/rules", json={**RULE, **scope})
        assert created.status_code == 201 and created.json()["tags"] == ["db"]
        untagged = await client.post("/api/alerts/rules", json=RULE)
        assert untagged.json()["tags"] == [] and untagged.json()["serverIds"] is None
        everything = await client.post("/api/alerts/rules/preview", json=RULE)
        assert everything.json()["servers"] == 4


async def test_an_apprise_url_with_an_unknown_scheme_is_named(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        response = await client.post(
            "/api/alerts/channels", json={"name": "x", "kind": "apprise", "url": "nosuchservice://abc"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "url: Apprise does not know the scheme 'nosuchservice'"


async def test_rules_and_silences_round_trip(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        created = await client.post("/api/alerts/rules", json={**RULE, "serverIds": [1, 2], "excludeServerIds": [2]})
        assert created.status_code == 201, created.text
        rule = created.json()
        assert rule["id"] >= 1 and rule["serverIds"] == [1, 2] and rule["forSeconds"] == 0
        patched = await client.patch(f"/api/alerts/rules/{rule['id']}", json={"serverIds": None, "warning": 80})
        assert patched.json()["serverIds"] is None and patched.json()["warning"] == 80
        assert (await client.patch(f"/api/alerts/rules/{rule['id']}", json={"warning": 99})).status_code == 400
        silence = await client.post(
            "/api/alerts/silences",
            json={
                "ruleIds": [rule["id"]],
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "2026-01-01T01:00:00Z",
                "recurrence": "daily",
                "timeZone": "Asia/Shanghai",
                "comment": "backups",
            },
        )
        assert silence.status_code == 201, silence.text
        bad = await client.post(
            "/api/alerts/silences",
            json={"startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-02T00:00:00Z", "timeZone": "Mars/Base"},
        )
        assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("timeZone")
        assert len((await client.get("/api/alerts/silences")).json()["silences"]) == 1
        assert (await client.delete(f"/api/alerts/silences/{silence.json()['id']}")).status_code == 204
        assert (await client.delete(f"/api/alerts/rules/{rule['id']}")).status_code == 204
        assert (await client.get("/api/alerts/rules")).json()["rules"] == []
        events = await client.get("/api/alerts/events", params={"from": "2026-01-01T00:00:00+00:00", "ruleId": "1"})
        assert events.status_code == 200 and events.json() == {"events": []}
        assert (await client.get("/api/alerts/events", params={"from": "yesterday"})).status_code == 400


async def test_viewers_cannot_touch_channels_and_test_send_returns_no_body(
    running: RunningDaemon, admin_token: str, nursery: trio.Nursery
) -> None:
    receiver = await start_receiver(nursery, Receiver(statuses=[418]))
    viewer = await _viewer(running, admin_token)
    async with running.client(admin_token) as client:
        channel = (
            await client.post("/api/alerts/channels", json={"name": "r", "kind": "webhook", "url": receiver.url})
        ).json()
        tested = await client.post(f"/api/alerts/channels/{channel['id']}/test")
    assert tested.status_code == 200
    assert tested.json() == {"ok": False, "error": "HTTP 418"}  # the class only, never the body
    assert "target-body-must-not-leak" not in tested.text
    async with running.client(viewer) as client:
        for method, path in (
            ("GET", "/api/alerts/channels"),
            ("POST", f"/api/alerts/channels/{channel['id']}/test"),
            ("PATCH", f"/api/alerts/channels/{channel['id']}"),
            ("DELETE", f"/api/alerts/channels/{channel['id']}"),
        ):
            response = await client.request(method, path, json={"name": "x"})
            assert response.status_code == 403, (method, path)
        assert (await client.get("/api/alerts/rules")).status_code == 200
    async with running.client(admin_token) as client:
        ok = await client.post(f"/api/alerts/channels/{channel['id']}/test")
    assert ok.json() == {"ok": True, "error": None}
    assert len(receiver.requests) == 2
