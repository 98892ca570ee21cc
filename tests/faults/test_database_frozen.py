"""A PostgreSQL that stops answering without closing its connections: every database call has a
deadline (`database.timeout_seconds`), so health turns degraded at once and nothing acked is
lost. Real clock, real database, a proxy on loopback that stops forwarding."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio

from tests.agents.conftest import register_server
from tests.conftest import DaemonStarter, make_settings
from tests.faults.conftest import health, poll, recording_agent, report_while_down
from tests.faults.tcp_proxy import freezable_proxy
from tests.postgres import sql_session

TIMEOUT_SECONDS = 1.0


@pytest.mark.expect_error_logs
async def test_a_frozen_postgresql_is_a_failing_database_within_the_deadline_and_loses_nothing(
    tmp_path: Path, daemons: DaemonStarter, postgres_url: str
) -> None:
    parts = urlsplit(postgres_url)
    async with freezable_proxy((parts.hostname or "127.0.0.1", parts.port or 5432)) as proxy:
        proxied = parts._replace(netloc=f"{parts.netloc.rpartition('@')[0]}@127.0.0.1:{proxy.port}").geturl()
        settings = make_settings(
            tmp_path / "data",
            database={"url": proxied, "timeout_seconds": TIMEOUT_SECONDS, "retry_max_seconds": 0.5},
        )
        running = await daemons(settings)
        server_id, token = await register_server(running)
        cache, stats, grpc = running.endpoints.cache, running.endpoints.ingest_stats, running.endpoints.grpc
        assert cache is not None and stats is not None and grpc is not None
        async with recording_agent(grpc, token) as agent:
            await agent.send(1, 5)
            await agent.wait_until(lambda: agent.acked == 5, timeout=10)
            proxy.freeze()
            frozen_at = trio.current_time()
            await agent.send(6, 7)

            async def degraded() -> bool:
                started = time.monotonic()
                body = await health(running.base_url)
                # Health itself never hangs: a ping of its own, if the writer has not failed yet,
                # has the same deadline.
                assert time.monotonic() - started < TIMEOUT_SECONDS + 0.5
                return body["database"] == "unavailable"

            await poll(degraded, timeout=TIMEOUT_SECONDS + 3)
            degraded_after = trio.current_time() - frozen_at
            assert degraded_after < TIMEOUT_SECONDS + 1
            body = await health(running.base_url)
            assert body["status"] == "degraded" and "database.timeout_seconds" in body["reason"], body
            last = await report_while_down(agent, cache, server_id, 2)
            assert agent.acked == 5
            assert stats.failed_writes >= 1
            proxy.thaw()
            thawed_at = trio.current_time()
            await agent.wait_until(lambda: agent.acked == last, timeout=20)
            recovered_in = trio.current_time() - thawed_at

        async def healthy() -> bool:
            return (await health(running.base_url))["status"] == "ok"

        await poll(healthy, timeout=10)
        await running.stop()
    async with sql_session(postgres_url) as session:
        rows = await session.fetch("SELECT time_ms FROM metrics WHERE server_id = $1 ORDER BY time_ms", server_id)
    assert [row["time_ms"] for row in rows] == [agent.time_of(n) for n in range(1, last + 1)]
    print(
        f"\nFAULT postgresql frozen: health degraded {degraded_after:.2f} s after the freeze "
        f"(database.timeout_seconds = {TIMEOUT_SECONDS:g}); {last - 5} samples buffered, stored and acked "
        f"{recovered_in:.2f} s after it answered again, 0 lost"
    )
