"""End to end (issue 15): the real daemon, a gRPC client sending samples, a real webhook
receiver; trio's mock clock skips the waits (see tests/agents/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import trio
from trio.testing import MockClock

from tests.agents.conftest import HELLO, agent_call, metrics, register_server, sample, trio_wall_clock
from tests.alerts.receiver import Receiver, start_receiver
from tests.conftest import DaemonStarter, make_settings
from tests.live_feed_helpers import feed

OFFLINE_AFTER = 3
OFFLINE_FOR = 4


@pytest.fixture
def clock(mock_clock: MockClock) -> MockClock:
    return mock_clock


def statuses(receiver: Receiver) -> list[tuple[str, str]]:
    found = []
    for request in receiver.requests:
        body = json.loads(request.body)
        found += [(body["status"], alert["labels"]["alertname"]) for alert in body["alerts"]]
    return found


async def test_cpu_fires_once_resolves_once_and_a_dead_agent_goes_offline(
    tmp_path: Path, daemons: DaemonStarter, nursery: trio.Nursery, clock: MockClock
) -> None:
    running = await daemons(make_settings(tmp_path, agents={"offline_after_seconds": OFFLINE_AFTER}))
    assert running.endpoints.grpc is not None
    receiver = await start_receiver(nursery, Receiver())
    admin = await running.login()
    server_id, token = await register_server(running)
    async with running.client(admin) as client:
        channel = await client.post("/api/alerts/channels", json={"name": "r", "kind": "webhook", "url": receiver.url})
        rules = [
            {
                "name": "cpu",
                "kind": "metric",
                "metric": "cpuUsagePercent",
                "critical": 90,
                "forSeconds": 5,
                "clearForSeconds": 4,
                "channelIds": [channel.json()["id"]],
            },
            {"name": "down", "kind": "offline", "forSeconds": OFFLINE_FOR, "channelIds": [channel.json()["id"]]},
        ]
        for rule in rules:
            assert (await client.post("/api/alerts/rules", json=rule)).status_code == 201
    clock.autojump_threshold = 0.05
    wall = trio_wall_clock()

    async def server_view() -> dict[str, object]:
        async with running.client(admin) as client:
            response: httpx.Response = await client.get(f"/api/servers/{server_id}")
        return dict(response.json())

    async with agent_call(running.endpoints.grpc, token) as call:
        await call.send(HELLO)
        assert (await call.receive()) is not None
        seq = 0
        # 1. CPU at 95 % for longer than forSeconds: exactly one firing message
        for _ in range(10):
            seq += 1
            await call.send(metrics(sample(seq, wall(), cpu_usage_percent=95.0)))
            await trio.sleep(1)
        await receiver.wait_for(1)
        assert statuses(receiver) == [("firing", "cpu")]
        # 4. the live snapshot (and REST) carry activeAlerts while it fires
        (alert,) = (await server_view())["activeAlerts"]  # type: ignore[misc]
        assert alert["ruleName"] == "cpu" and alert["level"] == "critical"
        async with feed(running, admin) as connection:
            snapshot = json.loads(await connection.get_message())
        (pushed,) = [s for s in snapshot["servers"] if s["id"] == server_id]
        assert [a["ruleName"] for a in pushed["activeAlerts"]] == ["cpu"]
        # 2. CPU at 10 % for clearForSeconds: exactly one resolved message
        for _ in range(8):
            seq += 1
            await call.send(metrics(sample(seq, wall(), cpu_usage_percent=10.0)))
            last_sample_at = trio.current_time()
            await trio.sleep(1)
        await receiver.wait_for(2)
        assert statuses(receiver) == [("firing", "cpu"), ("resolved", "cpu")]
        assert (await server_view())["activeAlerts"] == []
    # 3. the agent is gone: offline message after offline_after + forSeconds
    await receiver.wait_for(3)
    assert statuses(receiver)[2] == ("firing", "down")
    assert trio.current_time() - last_sample_at >= OFFLINE_AFTER + OFFLINE_FOR
    assert trio.current_time() - last_sample_at <= OFFLINE_AFTER + OFFLINE_FOR + 3
    async with running.client(admin) as client:
        events = (await client.get("/api/alerts/events", params={"serverId": server_id, "to": wall() + 1})).json()[
            "events"
        ]
    transitions = [(e["from"], e["to"]) for e in reversed(events) if e["kind"] == "transition"]
    assert transitions[:3] == [("ok", "pending"), ("pending", "firing"), ("firing", "resolving")]
    assert {(e["ruleName"], e["serverName"]) for e in events} == {("cpu", "web-1"), ("down", "web-1")}
    assert len(receiver.requests) == 3
