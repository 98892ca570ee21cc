"""The real agent against the real daemon (in-process, port 0) over real gRPC."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import trio
from trio.testing import MockClock

from monitord.agent.run import Agent
from monitord.wire import ServerStatus
from tests.agents.conftest import (
    TcpProxy,
    agent_settings,
    jump_when_idle,
    register_server,
    running_agent,
    stored_times,
    wait_for,
)
from tests.conftest import make_settings, start_daemon


async def test_samples_show_up_in_the_list_and_the_cache_within_one_interval(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    server_id, token = await register_server(daemon)
    cache = daemon.endpoints.cache
    assert cache is not None and daemon.endpoints.grpc is not None
    assert cache.get(server_id).latest_metrics is None
    assert cache.get(server_id).status == ServerStatus.PENDING
    jump_when_idle(clock)

    interval = 1.0
    started = trio.current_time()
    async with running_agent(nursery, agent_settings(daemon.endpoints.grpc, token, interval_seconds=interval)):
        await wait_for(lambda: cache.get(server_id).latest_metrics is not None, timeout=interval, step=0.01)
        arrived = trio.current_time() - started
        view = cache.get(server_id)
        assert view.status == ServerStatus.ONLINE
        assert view.hostname and view.os_type and view.cpu_cores > 0
        async with daemon.client(await daemon.login()) as client:
            listed = {server["id"]: server for server in (await client.get("/api/servers")).json()["servers"]}
        latest = listed[server_id]["latestMetrics"]
        assert latest is not None and latest["memoryTotalBytes"] > 0 and latest["processCount"] > 0
        assert listed[server_id]["status"] == "online"
    assert arrived < interval
    # The cache has it at once; the database once the writer's batch (a worker thread) is done.
    await wait_for(lambda: len(stored_times(daemon.settings, server_id)) >= 1, timeout=5)


async def test_a_sample_resent_after_a_lost_ack_is_stored_exactly_once(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    server_id, token = await register_server(daemon)
    assert daemon.endpoints.grpc is not None and daemon.endpoints.ingest_stats is not None
    proxy = TcpProxy(daemon.endpoints.grpc)
    proxy_address = await nursery.start(proxy.serve)
    jump_when_idle(clock)
    async with running_agent(nursery, agent_settings(proxy_address, token)) as agent:
        await wait_for(lambda: agent.connected and len(stored_times(daemon.settings, server_id)) >= 2, timeout=10)
        await wait_for(lambda: len(agent.buffer) == 0, timeout=5)
        # From now on the daemon stores what arrives, but its acks never reach the agent.
        proxy.swallow_replies = True
        stored_before = len(stored_times(daemon.settings, server_id))
        await wait_for(lambda: len(stored_times(daemon.settings, server_id)) >= stored_before + 3, timeout=10)
        assert len(agent.buffer) >= 3  # stored, but still unacked on the agent's side
        proxy.cut()
        proxy.swallow_replies = False
        await wait_for(lambda: agent.connections == 2 and len(agent.buffer) == 0, timeout=30)
        generated = agent.buffer.last_seq  # no await between this and the read below
        times = stored_times(daemon.settings, server_id)
    assert daemon.endpoints.ingest_stats.duplicate_samples >= 3  # they were sent again...
    assert len(times) == len(set(times)) == generated  # ...and are stored once; none is missing


async def test_the_agent_backfills_the_gap_after_a_daemon_restart(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock
) -> None:
    settings = make_settings(tmp_path / "data")
    async with AsyncExitStack() as agent_lifetime:  # the agent outlives the first daemon
        async with trio.open_nursery() as first_run:
            daemon = await start_daemon(first_run, settings)
            server_id, token = await register_server(daemon)
            assert daemon.endpoints.grpc is not None
            grpc_address = daemon.endpoints.grpc
            jump_when_idle(clock)
            agent = await agent_lifetime.enter_async_context(
                running_agent(nursery, agent_settings(grpc_address, token))
            )
            await wait_for(lambda: len(stored_times(settings, server_id)) >= 3, timeout=10)
            daemon.shutdown.set()
        outage_started = agent_now_ms(agent)
        await trio.sleep(20)  # the agent keeps sampling into its buffer and retrying
        outage_ended = agent_now_ms(agent)
        assert len(agent.buffer) >= 19
        # Same data dir, same gRPC port: the agent finds the daemon again on its own.
        await start_daemon(nursery, make_settings(tmp_path / "data", grpc={"listen": str(grpc_address)}))
        await wait_for(lambda: agent.connections == 2 and len(agent.buffer) == 0, timeout=90)
        generated = agent.buffer.last_seq  # no await between this and the read below
        times = stored_times(settings, server_id)
    assert len(times) == len(set(times)) == generated  # no duplicate, none missing
    during_outage = [t for t in times if outage_started < t < outage_ended]
    assert len(during_outage) >= 19  # the gap is filled with the samples taken meanwhile


def agent_now_ms(agent: Agent) -> int:
    """The agent's clock (tied to trio's mock clock in these tests)."""
    return agent._wall_clock_ms()


async def test_offline_after_the_timeout_and_online_again_when_reports_resume(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock
) -> None:
    offline_after = 5.0
    daemon = await start_daemon(
        nursery, make_settings(tmp_path / "data", agents={"offline_after_seconds": offline_after})
    )
    server_id, token = await register_server(daemon)
    cache = daemon.endpoints.cache
    assert cache is not None and daemon.endpoints.grpc is not None
    jump_when_idle(clock)
    settings = agent_settings(daemon.endpoints.grpc, token)
    async with running_agent(nursery, settings):
        await wait_for(lambda: cache.get(server_id).status == ServerStatus.ONLINE, timeout=2)
        # Reporting keeps it online well past the timeout.
        await trio.sleep(3 * offline_after)
        assert cache.get(server_id).status == ServerStatus.ONLINE
    stopped = trio.current_time()
    await wait_for(lambda: cache.get(server_id).status == ServerStatus.OFFLINE, timeout=offline_after + 1, step=0.02)
    silent_for = trio.current_time() - stopped
    # The last report came at most one interval before the stop.
    assert offline_after - settings.interval_seconds - 0.1 <= silent_for <= offline_after + 0.1
    async with running_agent(nursery, settings):
        await wait_for(
            lambda: cache.get(server_id).status == ServerStatus.ONLINE, timeout=settings.interval_seconds, step=0.01
        )
