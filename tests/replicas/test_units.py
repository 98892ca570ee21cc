"""Replica pieces without processes: payload sizes (scenario 7), presence while deaf, the
SQLite single-daemon lock."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from monitord.cache import LiveCache
from monitord.config import Settings
from monitord.daemon import _one_daemon_per_sqlite_file
from monitord.errors import StartupError
from monitord.ingest.presence import AgentPresence, watch_offline
from monitord.models import INTEGER_METRIC_FIELDS, METRIC_FIELDS, HostFacts, MetricsSample, ServerRecord, ms_to_datetime
from monitord.replicas.live import LiveAnnouncer, decode_live, samples_of
from monitord.wire import ServerStatus


def _sample(time_ms: int) -> MetricsSample:
    # The widest values a sample can carry: every payload row as long as it gets.
    values = {name: (2**62 if name in INTEGER_METRIC_FIELDS else 123456.123456789) for name in METRIC_FIELDS}
    return MetricsSample(time=ms_to_datetime(time_ms), **values)  # type: ignore[arg-type]


def test_no_payload_reaches_8000_bytes_with_2000_servers_in_one_batch() -> None:
    announce = LiveAnnouncer("r1")
    batch = [(server_id, _sample(1_700_000_000_000 + server_id)) for server_id in range(10**9, 10**9 + 2000)]
    payloads = announce(batch + batch[:5])  # a server twice: its newest sample only
    assert max(len(payload.encode()) for payload in payloads) < 7_500 < 8_000
    decoded = [decode_live(payload) for payload in payloads]
    assert len({(p.replica, p.batch, p.chunk) for p in decoded}) == len(payloads)  # each unique
    rows = [row for payload in decoded for row in samples_of(payload)]
    assert rows == batch  # self-contained chunks, nothing lost or doubled
    assert decode_live(announce(batch[:1])[0]).batch == 2


def _record(server_id: int) -> ServerRecord:
    return ServerRecord(
        id=server_id, name="s", agent_token_hash="h", facts=HostFacts(), last_seen_ms=0, created_at_ms=0
    )


async def test_while_deaf_a_server_fed_by_another_replica_is_not_marked_offline(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    cache = LiveCache.load([_record(1), _record(2)], {})
    presence = AgentPresence()
    await nursery.start(watch_offline, cache, presence, 3.0)
    cache.apply_sample(1, _sample(1))
    cache.apply_sample(2, _sample(1))
    presence.reported(1, remote=True)  # heard through NOTIFY
    presence.reported(2)  # its agent is connected here
    presence.hold_remote = True  # the listener is down
    await trio.sleep(10)
    assert cache.get(1).status == ServerStatus.ONLINE  # type: ignore[union-attr]
    assert cache.get(2).status == ServerStatus.OFFLINE  # type: ignore[union-attr]
    presence.hold_remote = False  # back, and still nothing heard of it
    await trio.sleep(3.1)
    assert cache.get(1).status == ServerStatus.OFFLINE  # type: ignore[union-attr]


def test_a_second_daemon_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path))
    with _one_daemon_per_sqlite_file(settings):
        with pytest.raises(
            StartupError, match=r"another monitord daemon already uses .*monitord\.db: SQLite serves one daemon"
        ):
            with _one_daemon_per_sqlite_file(settings):
                pass
    with _one_daemon_per_sqlite_file(settings):  # released when the first one ends
        pass
