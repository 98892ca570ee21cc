"""monitord.v2 against the real daemon: selected when offered, a snapshot then deltas that chain,
over plain frames and over the shared permessage-deflate."""

from __future__ import annotations

import json
from pathlib import Path

import trio
from websockets.sync.client import connect

from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import add_servers, feed, raw_handshake


async def test_v2_is_selected_when_offered_and_v1_stays_the_default(running: RunningDaemon, admin_token: str) -> None:
    for offered, selected in (
        (["monitord.v1", "monitord.v2"], "monitord.v2"),
        (["monitord.v2"], "monitord.v2"),
        (["monitord.v1"], "monitord.v1"),
    ):
        protocols = ", ".join([*offered, f"bearer.{admin_token}"])
        status, headers, stream = await raw_handshake(running, {"Sec-WebSocket-Protocol": protocols})
        async with stream:
            assert (status, headers["sec-websocket-protocol"]) == (101, selected)


async def test_a_v2_client_gets_a_snapshot_then_chained_deltas(tmp_path: Path, daemons: DaemonStarter) -> None:
    settings = make_settings(tmp_path / "data", push={"interval_seconds": 0.2})
    await add_servers(settings, 3)
    running = await daemons(settings)
    token = await running.login()
    async with feed(running, token, offered=["monitord.v2", f"bearer.{token}"]) as connection:
        with trio.fail_after(10):
            snapshot = json.loads(await connection.get_message())
            deltas = [json.loads(await connection.get_message()) for _ in range(2)]
        async with running.client(token) as http:
            renamed = await http.patch(f"/api/servers/{snapshot['servers'][0]['id']}", json={"name": "renamed"})
            assert renamed.status_code == 200
        with trio.fail_after(10):
            while not (delta := json.loads(await connection.get_message()))["upserts"]:
                deltas.append(delta)
    assert snapshot["type"] == "snapshot"
    assert [server["name"] for server in snapshot["servers"]][1:] == ["server-0001 in rack 1", "server-0002 in rack 2"]
    assert snapshot["fields"][:2] == ["cpuUsagePercent", "memoryUsageBytes"]
    assert snapshot["servers"][0]["latestMetrics"] is not None  # the full server, as in v1
    seq = snapshot["seq"]
    for message in [*deltas, delta]:
        assert message["type"] == "delta"
        assert (message["epoch"], message["baseSeq"], message["seq"]) == (snapshot["epoch"], seq, seq + 1)
        seq = message["seq"]
    assert [server["name"] for server in delta["upserts"]] == ["renamed"]
    assert delta["rows"] == [] and delta["removed"] == []


async def test_v2_deltas_arrive_deflated_and_chain_for_the_websockets_client(
    tmp_path: Path, daemons: DaemonStarter
) -> None:
    settings = make_settings(tmp_path / "data", push={"interval_seconds": 0.2})
    await add_servers(settings, 2)
    running = await daemons(settings)
    token = await running.login()
    address = running.endpoints.http

    def receive() -> tuple[str | None, str | None, list[dict[str, object]]]:
        with connect(
            f"ws://{address}/ws/servers",
            subprotocols=["monitord.v2", "monitord.v1", f"bearer.{token}"],  # type: ignore[list-item]
            origin=f"http://{address}",  # type: ignore[arg-type]
            compression="deflate",
            open_timeout=10,
        ) as websocket:
            messages = [json.loads(websocket.recv(timeout=10)) for _ in range(3)]
            return websocket.subprotocol, websocket.response.headers.get("Sec-WebSocket-Extensions"), messages

    subprotocol, extensions, messages = await trio.to_thread.run_sync(receive)
    assert (subprotocol, extensions) == ("monitord.v2", "permessage-deflate; server_no_context_takeover")
    assert [message["type"] for message in messages] == ["snapshot", "delta", "delta"]
    assert messages[1]["baseSeq"] == messages[0]["seq"] and messages[2]["baseSeq"] == messages[1]["seq"]
