"""Two real daemon processes on one PostgreSQL share tags, grants, status pages and alerts
(issue 19 on top of issues 15 and 16): what an admin changes on A takes effect on B, and an
alert is evaluated and sent by one replica only.
"""

from __future__ import annotations

import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed

from monitord.models import now_ms
from tests.alerts.receiver import Receiver, start_receiver
from tests.faults.conftest import poll, recording_agent
from tests.replicas.test_replicas import TICK_SECONDS, Replica, _feed, _login, _next_snapshot, _replica


async def _public(replica: Replica, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=replica.http, timeout=10) as client:
        return await client.request("POST" if "json" in kwargs else "GET", path, **kwargs)


async def test_tags_grants_status_pages_and_alerts_are_shared_and_an_alert_is_sent_once(
    tmp_path: Path, postgres_url: str, nursery: trio.Nursery
) -> None:
    receiver = await start_receiver(nursery, Receiver())
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(_replica(tmp_path, "A", postgres_url))
        # A, up first, holds the maintenance lock: it evaluates alerts and sends them.
        await a.process.wait_for_line("this replica evaluates alerts", timeout=10)
        b = await stack.enter_async_context(_replica(tmp_path, "B", postgres_url))
        admin = await _login(a, tmp_path)
        web = (await a.api(admin, "POST", "/api/servers", json={"name": "web-1"})).json()
        db = (await a.api(admin, "POST", "/api/servers", json={"name": "db-1"})).json()
        web_id, db_id = web["server"]["id"], db["server"]["id"]

        # A tag set on A is in B's snapshot within a tick.
        assert (await a.api(admin, "PATCH", f"/api/servers/{web_id}", json={"tags": ["prod"]})).status_code == 200

        async def tagged_on_b() -> bool:
            return {s["id"]: s["tags"] for s in await b.servers(admin)} == {web_id: ["prod"], db_id: []}

        tagged_in = await poll(tagged_on_b, timeout=5, step=0.02)
        assert tagged_in <= TICK_SECONDS

        # A grant changed on A closes the viewer's feed on B (4403) at once; the reconnect sees
        # only the granted server.
        viewer = await a.api(
            admin, "POST", "/api/users", json={"username": "vera", "password": "vera-pass-19", "role": "viewer"}
        )
        assert viewer.status_code == 201, viewer.text
        async with httpx.AsyncClient(base_url=b.http, timeout=10) as client:
            login = await client.post("/api/auth/login", json={"username": "vera", "password": "vera-pass-19"})
        vera = login.json()["token"]
        feed = await stack.enter_async_context(_feed(b, vera))
        assert set(await _next_snapshot(feed)) == {web_id, db_id}
        granted_at = trio.current_time()
        granted = await a.api(
            admin, "PUT", f"/api/users/{viewer.json()['id']}/grant", json={"all": False, "tags": ["prod"]}
        )
        assert granted.status_code == 200, granted.text
        with trio.fail_after(TICK_SECONDS * 2), pytest.raises(ConnectionClosed) as closed:
            while True:
                await feed.get_message()
        assert closed.value.reason.code == 4403
        closed_in = trio.current_time() - granted_at
        async with _feed(b, vera) as again:
            assert set(await _next_snapshot(again)) == {web_id}
        assert [s["id"] for s in await b.servers(vera)] == [web_id]

        # A password status page created on A is served by B, and A's page token works on B.
        page = await a.api(
            admin,
            "POST",
            "/api/status-pages",
            json={
                "slug": "fleet",
                "title": "Fleet",
                "sections": [{"tags": ["prod"]}],
                "access": "password",
                "password": "page-pass-19",
            },
        )
        assert page.status_code == 201, page.text
        assert (await _public(b, "/api/public/status/fleet")).status_code == 404  # no credential: hidden
        assert (await _public(b, "/api/public/status/fleet", auth=("x", "page-pass-19"))).status_code == 200
        issued = await _public(a, "/api/public/status/fleet/token", json={"password": "page-pass-19"})
        assert issued.status_code == 200, issued.text
        served = await _public(
            b, "/api/public/status/fleet", headers={"Authorization": f"Bearer {issued.json()['token']}"}
        )
        assert served.status_code == 200, served.text

        # An alert rule made on A fires exactly once with two replicas running, and B's snapshot
        # carries its activeAlerts. The channel (sealed by A) is readable by whichever evaluates.
        channel = await a.api(
            admin, "POST", "/api/alerts/channels", json={"name": "r", "kind": "webhook", "url": receiver.url}
        )
        assert channel.status_code == 201, channel.text
        rule = await b.api(
            admin,
            "POST",
            "/api/alerts/rules",
            json={
                "name": "cpu",
                "kind": "metric",
                "metric": "cpuUsagePercent",
                "critical": 10,
                "channelIds": [channel.json()["id"]],
            },
        )
        assert rule.status_code == 201, rule.text
        # The agent is on B; A evaluates what B's notifications tell it.
        async with recording_agent(b.grpc, web["agentToken"], base_ms=now_ms()) as agent:
            seq = 0

            async def report_for(seconds: float) -> None:  # cpu 12.5 % > 10 %: firing
                nonlocal seq
                until = trio.current_time() + seconds
                while trio.current_time() < until:
                    seq += 1
                    agent.base_ms = now_ms() - seq * 10
                    await agent.send(seq, seq)
                    await trio.sleep(0.2)

            await report_for(0.6)
            with trio.fail_after(10):
                await receiver.wait_for(1)

            async def alert_on_b() -> bool:
                servers = {s["id"]: s for s in await b.servers(admin)}
                return [x["ruleName"] for x in servers[web_id]["activeAlerts"]] == ["cpu"]

            await poll(alert_on_b, timeout=5, step=0.05)
            await report_for(2)  # two more evaluations on each replica: nothing more is sent
            assert len(receiver.requests) == 1
            assert b'"status":"firing"' in receiver.requests[0].body.replace(b" ", b"")

            # The evaluating replica dies: B takes over from the state A saved, and the alert,
            # still firing, is not sent again.
            a.process.process.kill()
            killed_at = trio.current_time()
            with trio.fail_after(15):
                await b.process.wait_for_line("this replica evaluates alerts")
            took_over = trio.current_time() - killed_at
            await report_for(2)
            assert len(receiver.requests) == 1
            assert await alert_on_b()
            print(
                f"\nREPLICAS tag set on A seen on B after {tagged_in * 1000:.0f} ms; grant set on A closed the "
                f"viewer's feed on B (4403) {closed_in * 1000:.0f} ms after the PUT was sent"
            )
            print(
                f"REPLICAS alerts: B took evaluation over {took_over:.1f} s after kill -9 of A; no message sent again"
            )
        b.process.process.send_signal(signal.SIGTERM)
        with trio.fail_after(10):
            assert await b.process.process.wait() == 0
        log = await b.process.read_rest()
        assert "Traceback" not in log and "ERROR" not in log, log
