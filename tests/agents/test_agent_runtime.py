"""The agent's behaviour when the daemon refuses it or is away (in-process, mock clock)."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from monitord.agent.collector import Collector
from monitord.agent.config import AgentSettings
from monitord.agent.run import Agent
from monitord.config import ListenAddress
from monitord.models import MetricsSample
from tests.agents.conftest import agent_settings, jump_when_idle, register_server, running_agent, wait_for
from tests.conftest import make_settings, start_daemon


@pytest.mark.expect_error_logs
async def test_a_rejected_token_gives_one_log_line_and_slow_retries(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    server_id, _ = await register_server(daemon)
    stats = daemon.endpoints.ingest_stats
    assert stats is not None and daemon.endpoints.grpc is not None
    jump_when_idle(clock)
    settings = agent_settings(daemon.endpoints.grpc, f"{server_id}.not-the-secret", interval_seconds=60.0)
    assert settings.rejected_retry_seconds == 300.0
    caplog.set_level(logging.INFO, logger="monitord.agent")
    started = trio.current_time()
    async with running_agent(nursery, settings) as agent:
        await wait_for(lambda: stats.ended_calls["unauthenticated"] == 1, timeout=5)
        await trio.sleep_until(started + 299)
        assert stats.ended_calls["unauthenticated"] == 1  # no hot loop, no fast retry
        await wait_for(lambda: stats.ended_calls["unauthenticated"] == 2, timeout=5)
        await trio.sleep_until(started + 899)
        assert stats.ended_calls["unauthenticated"] == 3
        assert agent.rejections == 3 and not agent.connected
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, errors
    assert errors[0].startswith("the daemon rejected this agent's token (missing or invalid agent token)")


async def test_reconnects_back_off_with_jitter_up_to_the_cap(
    nursery: trio.Nursery, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[float] = []

    async def refuse(stream: trio.SocketStream) -> None:  # accepts, then hangs up at once
        attempts.append(trio.current_time())
        await stream.aclose()

    listeners = await nursery.start(trio.serve_tcp, refuse, 0)
    port = listeners[0].socket.getsockname()[1]
    jump_when_idle(clock)
    settings = agent_settings(ListenAddress("127.0.0.1", port), "1.secret", interval_seconds=600.0)
    caplog.set_level(logging.INFO, logger="monitord.agent")
    started = trio.current_time()
    async with running_agent(nursery, settings):
        await trio.sleep_until(started + 600)
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    # Each delay is at most min(cap, 2^failures) seconds: at least 10 tries in 10 minutes...
    assert all(gap <= min(60.0, 2.0**n) + 0.5 for n, gap in enumerate(gaps)), gaps
    assert len(attempts) >= 10
    # ...and, being random below that bound, never a hot loop.
    assert len(attempts) < 200
    assert max(gaps) > 2.0  # the delays grew
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"daemon 127.0.0.1:{port} unavailable")


def test_the_backoff_is_full_jitter_capped_at_reconnect_max_seconds() -> None:
    agent = Agent(AgentSettings(token="1.secret"))
    for failures, cap in [(0, 1.0), (3, 8.0), (6, 60.0), (40, 60.0)]:
        delays = [agent._backoff(failures) for _ in range(2000)]
        assert all(0.0 <= delay <= cap for delay in delays)
        assert max(delays) > 0.9 * cap and min(delays) < 0.1 * cap  # spread over the whole range


async def test_the_buffer_holds_an_hour_and_drops_the_oldest_beyond(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock
) -> None:
    settings = agent_settings(ListenAddress("127.0.0.1", 9), "1.secret", interval_seconds=60.0, buffer_seconds=300.0)
    assert AgentSettings(token="1.x").buffer_samples == 3600  # an hour at the default 1 s
    assert settings.buffer_samples == 5
    jump_when_idle(clock)
    async with running_agent(nursery, settings) as agent:
        await wait_for(lambda: agent.buffer.last_seq == 8, timeout=8 * 60, step=10)
        assert len(agent.buffer) == 5 and agent.buffer.overflowed == 3
        assert [s.seq for s in agent.buffer.after(0, 10)] == [4, 5, 6, 7, 8]


class _FailsTwice(Collector):
    """The real collector, except that its 2nd and 3rd readings fail (a /proc hiccup)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def collect(self, timestamp_ms: int) -> MetricsSample:
        self.calls += 1
        if self.calls in (2, 3):
            raise PermissionError("/proc/diskstats: permission denied")
        return super().collect(timestamp_ms)


@pytest.mark.expect_error_logs
async def test_a_failing_collection_skips_one_sample_and_the_agent_carries_on(
    nursery: trio.Nursery, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = agent_settings(ListenAddress("127.0.0.1", 9), "1.secret", interval_seconds=10.0)
    agent = Agent(settings, collector=_FailsTwice())
    caplog.set_level(logging.INFO, logger="monitord.agent")
    jump_when_idle(clock)
    scope = trio.CancelScope()
    nursery.start_soon(_run, agent, scope)
    await wait_for(lambda: agent.buffer.last_seq == 3, timeout=60, step=1)
    scope.cancel()
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].getMessage().startswith("collecting a sample failed")
    assert any(r.getMessage() == "collecting works again after 2 failed attempts" for r in caplog.records)


async def _run(agent: Agent, scope: trio.CancelScope) -> None:
    with scope:
        await agent.run()
