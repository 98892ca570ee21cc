"""SQLite held by another writer (`BEGIN EXCLUSIVE` on a second connection, as another process
would): the daemon keeps serving live data, buffers, reports `degraded`, and afterwards stores
every sample exactly once. Real clock, real SQLite file, real gRPC calls."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import msgspec
import pytest
import trio
from purerpc.grpclib.status import StatusCode
from trio_websocket import WebSocketConnection

from monitord.models import datetime_to_ms
from tests.agents.conftest import register_server, stored_times
from tests.conftest import DaemonStarter, make_settings
from tests.faults.conftest import health, poll, recording_agent, report_while_down
from tests.live_feed_helpers import feed


@contextmanager
def exclusive_lock(database: Path) -> Iterator[None]:
    """Hold SQLite's write lock from a connection of our own until the block exits."""
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def _latest_pushed_ms(connection: WebSocketConnection, server_id: int) -> int | None:
    message = msgspec.json.decode(await connection.get_message())
    (server,) = [s for s in message["servers"] if s["id"] == server_id]
    latest = server["latestMetrics"]
    return None if latest is None else datetime_to_ms(datetime.fromisoformat(latest["time"]))


@pytest.mark.expect_error_logs
async def test_a_locked_database_keeps_the_live_view_and_its_buffer_is_stored_once(
    tmp_path: Path, daemons: DaemonStarter, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path / "data",
        agents={"offline_after_seconds": 2.0},
        push={"interval_seconds": 0.2},
        database={"retry_max_seconds": 0.5},
    )
    running = await daemons(settings)
    server_id, token = await register_server(running)
    web_token = await running.login()
    cache, stats, grpc = running.endpoints.cache, running.endpoints.ingest_stats, running.endpoints.grpc
    assert cache is not None and stats is not None and grpc is not None
    database = settings.data_path / "monitord.db"

    async with recording_agent(grpc, token) as agent, feed(running, web_token) as connection:
        await agent.send(1, 5)
        await agent.wait_until(lambda: agent.acked == 5, timeout=10)
        with exclusive_lock(database):
            locked_at = trio.current_time()
            # 8 s of reports, one every 0.25 s: longer than busy_timeout (5 s) and than
            # offline_after_seconds, so a view fed by the database would go offline.
            seq = await report_while_down(agent, cache, server_id, 8 - (trio.current_time() - locked_at))

            # The WebSocket push still carries the newest sample.
            async def pushed_newest() -> bool:
                return await _latest_pushed_ms(connection, server_id) == agent.time_of(seq)

            await poll(pushed_newest, timeout=5)
            body = await health(running.base_url)
            assert body["status"] == "degraded" and body["database"] == "unavailable"
            assert "database is locked" in body["reason"]
            assert body["bufferedSamples"] == seq - 5
            assert agent.acked == 5, "nothing stored, nothing acked"
            released_at = trio.current_time()
        await agent.wait_until(lambda: agent.acked == seq, timeout=10)
        recovered_in = trio.current_time() - released_at

    body = await health(running.base_url)
    assert (body["status"], body["database"], body["bufferedSamples"], body["overflowedSamples"]) == ("ok", "ok", 0, 0)
    assert "reason" not in body
    assert stored_times(settings, server_id) == [agent.time_of(n) for n in range(1, seq + 1)]
    assert (stats.stored_samples, stats.duplicate_samples, stats.overflowed_samples) == (seq, 0, 0)
    assert stats.failed_writes >= 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "database is locked" in errors[0], errors  # one per state change
    print(
        f"\nFAULT sqlite-locked: {seq - 5} samples buffered over {released_at - locked_at:.1f} s, "
        f"{stats.failed_writes} failed writes, stored and acked {recovered_in:.2f} s after release, 0 lost"
    )


@pytest.mark.expect_error_logs
async def test_overflow_drops_the_oldest_counts_them_and_never_acks_them(
    tmp_path: Path, daemons: DaemonStarter
) -> None:
    capacity = 100
    settings = make_settings(tmp_path / "data", database={"buffer_samples": capacity, "retry_max_seconds": 0.5})
    running = await daemons(settings)
    server_id, token = await register_server(running)
    stats, grpc = running.endpoints.ingest_stats, running.endpoints.grpc
    assert stats is not None and grpc is not None
    total = 301

    async with recording_agent(grpc, token) as agent:
        with exclusive_lock(settings.data_path / "monitord.db"):
            await agent.send(1, 1)

            async def degraded() -> bool:
                # The writer's own verdict (a ping stuck behind its write would say "no answer").
                return "database is locked" in (await health(running.base_url)).get("reason", "")

            await poll(degraded, timeout=15)
            for first in range(2, total + 1, 10):
                await agent.send(first, min(first + 9, total))

            async def trimmed() -> bool:
                body = await health(running.base_url)
                return (body["bufferedSamples"], body["overflowedSamples"]) == (capacity, total - capacity)

            await poll(trimmed, timeout=15)
            assert agent.acked == 0
        # Once the database works, the call that lost samples is ended so its agent re-sends.
        await agent.wait_until(lambda: agent.status is not None, timeout=15)
        assert agent.status is not None and agent.status.status_code == StatusCode.UNAVAILABLE
        assert agent.acked == 0, "an ack past a dropped sample would be a lie"

    newest = [agent.time_of(n) for n in range(total - capacity + 1, total + 1)]
    assert stored_times(settings, server_id) == newest
    assert stats.overflowed_samples == total - capacity
    # The agent still holds everything unacked and re-sends it on its next call.
    async with recording_agent(grpc, token, base_ms=agent.base_ms) as again:
        for first in range(1, total + 1, 100):
            await again.send(first, min(first + 99, total))
        await again.wait_until(lambda: again.acked == total, timeout=15)
    assert stored_times(settings, server_id) == [agent.time_of(n) for n in range(1, total + 1)]
    assert (stats.stored_samples, stats.duplicate_samples) == (total, capacity)
    print(
        f"\nFAULT overflow: buffer {capacity}, {total} sent while locked, {total - capacity} oldest dropped "
        f"(counted, not acked), re-sent on the next call: {total} stored, 0 lost"
    )


async def test_a_route_that_needs_the_locked_database_answers_503_in_the_one_format(
    tmp_path: Path, daemons: DaemonStarter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await daemons(make_settings(tmp_path / "data"))
    admin = await running.login()
    async with running.client(admin) as client:
        with exclusive_lock(Path(running.settings.data_dir) / "monitord.db"):
            # Waits out SQLite's busy timeout (5 s), then gives up.
            response = await client.post("/api/servers", json={"name": "while-locked"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "error": {"code": "database_unavailable", "message": "the database is unavailable; try again shortly"}
        }
        # Nothing half-done: once the lock is gone the same request works, and is the only one.
        assert (await client.post("/api/servers", json={"name": "while-locked"})).status_code == 201
        names = [server["name"] for server in (await client.get("/api/servers")).json()["servers"]]
    assert names == ["while-locked"]
    (line,) = [record for record in caplog.records if "database is unavailable" in record.getMessage()]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "database is locked" in line.getMessage()
