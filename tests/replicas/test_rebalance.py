"""Agent calls end after agents.call_max_seconds (±20 %), so agents spread over replicas."""

from __future__ import annotations

from pathlib import Path

import trio
from trio.testing import MockClock

from tests.agents.conftest import agent_settings, jump_when_idle, register_server, running_agent, wait_for
from tests.conftest import make_settings, start_daemon


async def test_an_agent_call_ends_after_its_lifetime_and_the_agent_reconnects_at_once(
    tmp_path: Path, nursery: trio.Nursery, mock_clock: MockClock
) -> None:
    lifetime = 10.0
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data", agents={"call_max_seconds": lifetime}))
    server_id, token = await register_server(daemon)
    assert daemon.endpoints.grpc is not None and daemon.endpoints.ingest_stats is not None
    stats = daemon.endpoints.ingest_stats
    jump_when_idle(mock_clock)
    started = trio.current_time()
    async with running_agent(nursery, agent_settings(daemon.endpoints.grpc, token, interval_seconds=5.0)) as agent:
        await wait_for(lambda: agent.connections == 1, timeout=5)
        await wait_for(lambda: stats.ended_calls["rebalance"] == 1, timeout=lifetime * 1.3)
        ended_after = trio.current_time() - started
        await wait_for(lambda: agent.connections == 2, timeout=2)  # backoff of the first retry: at most 1 s
    assert lifetime * 0.8 <= ended_after <= lifetime * 1.2 + 1
    view = daemon.endpoints.cache.get(server_id) if daemon.endpoints.cache is not None else None
    assert view is not None and view.status.value == "online"
