"""Replica pieces without processes: payload sizes (scenario 7), presence while deaf, the
SQLite single-daemon lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import trio
import trio.testing

from monitord.agent.config import AgentSettings
from monitord.cache import LiveCache
from monitord.config import Settings
from monitord.daemon import _one_daemon_per_sqlite_file
from monitord.errors import StartupError
from monitord.ingest.presence import AgentPresence, watch_offline
from monitord.models import INTEGER_METRIC_FIELDS, METRIC_FIELDS, HostFacts, MetricsSample, ServerRecord, ms_to_datetime
from monitord.replicas.follower import (
    MAINTENANCE_LOCK_KEY,
    PROBE_SECONDS,
    ReplicaState,
    follow_replicas,
    maintenance_lock_key,
)
from monitord.replicas.live import LiveAnnouncer, decode_live, samples_of
from monitord.servers import ServerRegistry
from monitord.storage.replication import Notification, ReplicaLink
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


class _FakeListener:
    def __init__(self) -> None:
        self.send, self.notifications = trio.open_memory_channel[Notification](100)
        self.overflowed = False
        self.lost = trio.Event()

    async def heartbeat(self) -> None:
        pass

    async def try_lock(self, key: int) -> bool:
        return False


class _FakeLink:
    """A database whose notifications reach the listener, or (behind a transaction-mode
    PgBouncer) never do."""

    live_channel = "live"
    control_channel = "control"

    def __init__(self, *, delivers: bool) -> None:
        self.delivers = delivers
        self.listener = _FakeListener()

    @asynccontextmanager
    async def listen(self, buffer: int, name: str) -> AsyncIterator[_FakeListener]:
        yield self.listener

    async def notify(self, channel: str, payload: str) -> None:
        if self.delivers:
            self.listener.send.send_nowait(Notification(channel, payload))


class _EmptyStorage:
    async def list_servers(self) -> list[ServerRecord]:
        return []

    async def latest_samples(self) -> dict[int, MetricsSample]:
        return {}

    async def list_users(self) -> list[object]:
        return []


async def _follow(link: _FakeLink, nursery: trio.Nursery) -> ReplicaState:
    state = ReplicaState("r1")
    cache = LiveCache()
    storage: Any = _EmptyStorage()
    await nursery.start(
        partial(
            follow_replicas,
            link,  # type: ignore[arg-type]
            storage,
            cache,
            AgentPresence(),
            ServerRegistry(storage, cache),
            lambda *args, **kwargs: 0,
            state,
            offline_after_seconds=3.0,
            retry_max_seconds=1.0,
        )
    )
    return state


async def test_the_listener_proves_itself_with_a_probe(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    state = await _follow(_FakeLink(delivers=True), nursery)
    await trio.sleep(PROBE_SECONDS * 2)
    assert (state.listening, state.reason, state.resyncs) == (True, "", 1)


@pytest.mark.expect_error_logs
async def test_notifications_that_never_arrive_are_reported_as_pgbouncer_in_transaction_mode(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    state = await _follow(_FakeLink(delivers=False), nursery)
    await trio.sleep(PROBE_SECONDS + 0.1)
    assert not state.listening
    assert "PgBouncer in transaction or statement mode" in state.reason
    assert "not hearing the other replicas: a test notification did not come back" in caplog.text


def test_the_agent_takes_a_list_of_daemon_addresses() -> None:
    listed = AgentSettings(server=["mon-a:50051", "mon-b:50052"], token="1.secret")
    assert listed.servers == ["mon-a:50051", "mon-b:50052"]
    assert [address.port for address in listed.addresses] == [50051, 50052]
    assert AgentSettings(server="mon-a:50051", token="1.secret").servers == ["mon-a:50051"]
    with pytest.raises(ValueError, match=r"`server`: the port must be 1-65535, got 'mon-b:0'"):
        AgentSettings(server=["mon-a:50051", "mon-b:0"], token="1.secret")
    with pytest.raises(ValueError, match=r"`server`: expected a daemon address, or a list of at least one"):
        AgentSettings(server=[], token="1.secret")


async def test_an_overflowed_listener_makes_the_replica_resync_from_the_tables(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    link = _FakeLink(delivers=True)
    state = await _follow(link, nursery)
    await trio.sleep(1)
    assert state.resyncs == 1  # the one after LISTEN
    link.listener.overflowed = True  # notifications were dropped: what they said is unknown
    await link.notify("control", "probe someone-else")
    await trio.sleep(1)
    assert state.resyncs == 2 and not link.listener.overflowed


def test_each_schema_of_a_database_has_its_own_maintenance_lock() -> None:
    """Advisory locks are per database: installations in schemas of one database must not share
    theirs, or one of them would never run maintenance nor evaluate alerts."""

    def key(channel: str) -> int:
        return maintenance_lock_key(cast(ReplicaLink, SimpleNamespace(control_channel=channel)))

    assert key("monitord_control") == MAINTENANCE_LOCK_KEY
    keys = {key("monitord_control"), key("monitord_control_shop"), key("monitord_control_blog")}
    assert len(keys) == 3 and all(0 < k < 2**63 for k in keys)
