"""Per-user visibility (issue 16), table-driven over every surface, on both storage backends.

A viewer granted the tag `eu` and the server `c` must see exactly the servers a, c and d on
every route and message kind, and an invisible server must answer exactly like a nonexistent
one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio
from trio_websocket import ConnectionClosed

from monitord.config import Settings
from monitord.push.audiences import CLOSE_ACCESS_CHANGED
from tests.agents.conftest import HELLO, agent_call, metrics, sample
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import feed
from tests.postgres import scratch_schema_url

PUSH = {"interval_seconds": 0.2}
NOWHERE = 987_654_321  # an id no server has


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite, else the run's PostgreSQL database (or a skip saying why)."""
    database: str | None = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    return database


@pytest.fixture
async def settings(backend: str | None, tmp_path: Path) -> AsyncIterator[Settings]:
    if backend is None:
        yield make_settings(tmp_path / "data", push=PUSH)
        return
    async with scratch_schema_url(backend, "v") as url:
        yield make_settings(tmp_path / "data", push=PUSH, database={"url": url})


class Fleet:
    """Servers a (eu), b (us), c (untagged), d (eu, db); vera granted tag eu and server c."""

    def __init__(
        self, running: RunningDaemon, admin: str, ids: dict[str, int], tokens: dict[int, str], vera: str, vera_id: int
    ) -> None:
        self.running, self.admin, self.ids, self.vera, self.vera_id = running, admin, ids, vera, vera_id
        self.agent_tokens = tokens
        self.alerting = False

    def names(self, server_ids: set[int]) -> set[str]:
        by_id = {server_id: name for name, server_id in self.ids.items()}
        return {by_id[server_id] for server_id in server_ids}


async def make_fleet(running: RunningDaemon) -> Fleet:
    admin = await running.login()
    ids: dict[str, int] = {}
    tokens: dict[int, str] = {}
    async with running.client(admin) as client:
        for name, tags in (("a", ["eu"]), ("b", ["us"]), ("c", []), ("d", ["eu", "db"])):
            created = await client.post("/api/servers", json={"name": name})
            ids[name] = created.json()["server"]["id"]
            tokens[ids[name]] = created.json()["agentToken"]
            tagged = await client.patch(f"/api/servers/{ids[name]}", json={"tags": tags})
            assert tagged.status_code == 200 and tagged.json()["tags"] == sorted(tags)
        user = await client.post(
            "/api/users", json={"username": "vera", "password": "viewer-password", "role": "viewer"}
        )
        vera_id = user.json()["id"]
        grant = {"all": False, "tags": ["eu"], "serverIds": [ids["c"]]}
        assert (await client.put(f"/api/users/{vera_id}/grant", json=grant)).json() == grant
        assert (await client.get(f"/api/users/{vera_id}")).json()["grant"] == grant
    return Fleet(running, admin, ids, tokens, await running.login("vera", "viewer-password"), vera_id)


async def _rest_list(fleet: Fleet, token: str) -> set[int]:
    async with fleet.running.client(token) as client:
        return {server["id"] for server in (await client.get("/api/servers")).json()["servers"]}


def _per_server(path: str) -> Callable[[Fleet, str], Awaitable[set[int]]]:
    async def visible(fleet: Fleet, token: str) -> set[int]:
        seen = set()
        async with fleet.running.client(token) as client:
            missing = await client.get(path.format(id=NOWHERE))
            assert missing.status_code == 404
            for server_id in fleet.ids.values():
                response = await client.get(path.format(id=server_id))
                if response.status_code == 200:
                    seen.add(server_id)
                else:  # exactly the answer for an id that names nothing
                    assert (response.status_code, response.content) == (404, missing.content)
                    assert dict(response.headers).keys() == dict(missing.headers).keys()
        return seen

    return visible


async def _snapshot(fleet: Fleet, token: str) -> set[int]:
    async with feed(fleet.running, token) as connection:
        message = json.loads(await connection.get_message())
    return {server["id"] for server in message["servers"]}


async def _tag_counts(fleet: Fleet, token: str) -> set[int]:
    """The servers the tag list reveals: a tag's count must match the visible servers with it."""
    async with fleet.running.client(token) as client:
        tags = {tag["name"]: tag["count"] for tag in (await client.get("/api/tags")).json()["tags"]}
        servers = (await client.get("/api/servers")).json()["servers"]
    assert tags == {name: sum(name in s["tags"] for s in servers) for name in tags}
    return {s["id"] for s in servers if set(s["tags"]) & set(tags)} | {s["id"] for s in servers if not s["tags"]}


async def _alert_everywhere(fleet: Fleet) -> None:
    """Once per fleet: a rule every server crosses, one hot sample from each server over gRPC,
    then wait until all four alerts fire (their transitions are in the history by then)."""
    if fleet.alerting:
        return
    fleet.alerting = True
    running = fleet.running
    assert running.endpoints.grpc is not None
    async with running.client(fleet.admin) as client:
        rule = {"name": "hot", "kind": "metric", "metric": "cpuUsagePercent", "critical": 90, "serverIds": [NOWHERE]}
        created = await client.post("/api/alerts/rules", json={**rule, "tags": ["eu", "us"], "serverIds": None})
        assert created.status_code == 201, created.text
        # c has no tag: a second rule names it (and an id no server has) explicitly
        assert (
            await client.post("/api/alerts/rules", json={**rule, "serverIds": [fleet.ids["c"], NOWHERE]})
        ).is_success
        silence = {"serverIds": list(fleet.ids.values()), "startsAt": "2020-01-01T00:00:00Z"}
        assert (
            await client.post("/api/alerts/silences", json={**silence, "endsAt": "2020-01-02T00:00:00Z"})
        ).is_success
    async with AsyncExitStack() as calls, running.client(fleet.admin) as client:
        for token in fleet.agent_tokens.values():
            call = await calls.enter_async_context(agent_call(running.endpoints.grpc, token))
            await call.send(HELLO)
            assert (await call.receive()) is not None
            await call.send(metrics(sample(1, cpu_usage_percent=95.0)))
        with trio.fail_after(10):
            while len((await client.get("/api/alerts/active")).json()["alerts"]) < 4:
                await trio.sleep(0.1)


async def _active_alerts(fleet: Fleet, token: str) -> set[int]:
    await _alert_everywhere(fleet)
    async with fleet.running.client(token) as client:
        return {alert["serverId"] for alert in (await client.get("/api/alerts/active")).json()["alerts"]}


async def _alert_events(fleet: Fleet, token: str) -> set[int]:
    """History, unfiltered and filtered per server: a hidden id answers like an id of nothing."""
    await _alert_everywhere(fleet)
    async with fleet.running.client(token) as client:
        events = (await client.get("/api/alerts/events")).json()["events"]
        missing = await client.get("/api/alerts/events", params={"serverId": NOWHERE})
        assert missing.json() == {"events": []}
        for server_id in fleet.ids.values():
            one = await client.get("/api/alerts/events", params={"serverId": server_id})
            assert one.status_code == 200
            assert one.json() == {"events": [e for e in events if e["serverId"] == server_id]}
            if not one.json()["events"]:
                assert one.content == missing.content
    return {event["serverId"] for event in events} - {0}


async def _alert_config(fleet: Fleet, token: str) -> set[int]:
    """The server ids and tags that rules and silences name."""
    await _alert_everywhere(fleet)
    async with fleet.running.client(token) as client:
        rules = (await client.get("/api/alerts/rules")).json()["rules"]
        silences = (await client.get("/api/alerts/silences")).json()["silences"]
        tags = {tag["name"] for tag in (await client.get("/api/tags")).json()["tags"]}
    assert {tag for rule in rules for tag in rule["tags"]} <= tags  # no tag of a hidden server
    named = {i for rule in rules for i in rule["serverIds"] or []} | {i for s in silences for i in s["serverIds"]}
    return named - {NOWHERE}


SURFACES: dict[str, Callable[[Fleet, str], Awaitable[set[int]]]] = {
    "REST list": _rest_list,
    "REST detail": _per_server("/api/servers/{id}"),
    "REST history": _per_server("/api/servers/{id}/metrics"),
    "WebSocket snapshot": _snapshot,
    "tags": _tag_counts,
    "alerts active": _active_alerts,
    "alert history": _alert_events,
    "alert rules and silences": _alert_config,
}


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_every_surface_shows_exactly_the_granted_servers(
    settings: Settings, daemons: DaemonStarter, surface: str
) -> None:
    fleet = await make_fleet(await daemons(settings))
    visible = SURFACES[surface]
    assert fleet.names(await visible(fleet, fleet.vera)) == {"a", "c", "d"}
    assert fleet.names(await visible(fleet, fleet.admin)) == {"a", "b", "c", "d"}


async def test_an_invisible_server_is_a_404_for_every_verb_a_viewer_has(
    settings: Settings, daemons: DaemonStarter
) -> None:
    fleet = await make_fleet(await daemons(settings))
    async with fleet.running.client(fleet.vera) as client:
        hidden = await client.get(f"/api/servers/{fleet.ids['b']}/metrics?range=1h")
        missing = await client.get(f"/api/servers/{NOWHERE}/metrics?range=1h")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json() == {"error": {"code": "not_found", "message": "no such server"}}
        tags = (await client.get("/api/tags")).json()["tags"]
        assert "us" not in {tag["name"] for tag in tags}  # b's tag would reveal b


async def _next_servers(connection: object) -> set[int]:
    message = json.loads(await connection.get_message())  # type: ignore[attr-defined]
    return {server["id"] for server in message["servers"]}


async def test_open_sockets_follow_tag_and_grant_changes(settings: Settings, daemons: DaemonStarter) -> None:
    fleet = await make_fleet(await daemons(settings))
    ids = fleet.ids
    async with feed(fleet.running, fleet.vera) as connection:
        assert await _next_servers(connection) == {ids["a"], ids["c"], ids["d"]}
        # A tag change is a change of what the audience sees: the next tick carries it.
        async with fleet.running.client(fleet.admin) as client:
            await client.patch(f"/api/servers/{ids['b']}", json={"tags": ["us", "eu"]})
        with trio.fail_after(5):
            while await _next_servers(connection) != {ids["a"], ids["b"], ids["c"], ids["d"]}:
                pass
        # A grant change closes the socket of the old visibility set with 4403 ...
        async with fleet.running.client(fleet.admin) as client:
            grant = {"all": False, "tags": [], "serverIds": [ids["b"]]}
            assert (await client.put(f"/api/users/{fleet.vera_id}/grant", json=grant)).status_code == 200
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            while True:
                await connection.get_message()
        assert closed.value.reason.code == CLOSE_ACCESS_CHANGED
    # ... and the reconnect gets the new one.
    assert await _snapshot(fleet, fleet.vera) == {ids["b"]}
    async with fleet.running.client(fleet.vera) as client:
        assert (await client.get(f"/api/servers/{ids['a']}")).status_code == 404
    # Back to everything.
    async with fleet.running.client(fleet.admin) as client:
        await client.put(f"/api/users/{fleet.vera_id}/grant", json={"all": True})
        assert (await client.get(f"/api/users/{fleet.vera_id}")).json()["grant"] == {
            "all": True,
            "tags": [],
            "serverIds": [],
        }
    assert await _snapshot(fleet, fleet.vera) == set(ids.values())


async def test_tag_and_grant_input_errors_name_the_field(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        server_id = (await client.post("/api/servers", json={"name": "x"})).json()["server"]["id"]
        bad = await client.patch(f"/api/servers/{server_id}", json={"tags": ["no spaces"]})
        assert bad.status_code == 400 and "tags" in bad.json()["error"]["message"]
        assert (await client.patch(f"/api/servers/{server_id}", json={})).status_code == 400
        both = await client.patch(f"/api/servers/{server_id}", json={"name": "y", "tags": ["z", "z"]})
        assert (both.status_code, both.json()["name"], both.json()["tags"]) == (200, "y", ["z"])
        assert (await client.patch(f"/api/servers/{NOWHERE}", json={"tags": ["z"]})).status_code == 404
        colour = await client.patch("/api/tags/z", json={"color": "#00aa00"})
        assert colour.json() == {"name": "z", "color": "#00aa00", "count": 1}
        assert (await client.patch("/api/tags/z", json={"color": "green"})).status_code == 400
        assert (await client.patch("/api/tags/nope", json={"color": "#00aa00"})).status_code == 404
        grant = await client.put("/api/users/1/grant", json={"all": False, "serverIds": [0]})
        assert grant.status_code == 400 and "serverIds" in grant.json()["error"]["message"]
        assert (await client.put(f"/api/users/{NOWHERE}/grant", json={"all": True})).status_code == 404
