"""monitord.v2: a client that applies the snapshot and then every delta holds the daemon's list.

The client model here is what web/src/services/v2Feed.ts does, in Python: rows replace
`latestMetrics` and `lastSeenAt`, upserts replace whole servers, removed ids go.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from monitord.cache import LiveCache
from monitord.models import HostFacts, MetricsSample, ServerRecord, ms_to_datetime
from monitord.push.delta import ROW_FIELDS, DeltaStream, StreamMessage
from monitord.push.hub import SnapshotHub
from monitord.wire import ServerStatus, ServerWithDetails


class ClientModel:
    """A v2 client: applies a snapshot, then deltas whose baseSeq and epoch match what it holds."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.seq = -1
        self.fields: list[str] = []
        self.servers: dict[int, dict[str, Any]] = {}

    def apply(self, message: StreamMessage) -> None:
        data = json.loads(message.message.payload)
        if data["type"] == "snapshot":
            self.epoch, self.seq, self.fields = data["epoch"], data["seq"], data["fields"]
            self.servers = {server["id"]: server for server in data["servers"]}
            return
        assert data["type"] == "delta"
        assert (data["epoch"], data["baseSeq"]) == (self.epoch, self.seq), "a mismatch means reconnect"
        for server_id in data["removed"]:
            del self.servers[server_id]
        for server in data["upserts"]:
            self.servers[server["id"]] = server
        for server_id, time_ms, *values in data["rows"]:
            time = ms_to_datetime(time_ms).isoformat()
            server = self.servers[server_id]
            server["latestMetrics"] = {"time": time, **dict(zip(self.fields, values, strict=True))}
            server["lastSeenAt"] = time
        self.seq = data["seq"]

    def server_list(self) -> list[ServerWithDetails]:
        return [msgspec.convert(self.servers[i], ServerWithDetails) for i in sorted(self.servers)]


def _sample(time_ms: int, value: float) -> MetricsSample:
    return MetricsSample(
        time=ms_to_datetime(time_ms),
        cpu_usage_percent=value,
        memory_usage_bytes=int(value * 1000),
        memory_total_bytes=2**34,
        swap_usage_bytes=0,
        swap_total_bytes=0,
        disk_used_bytes=7,
        disk_total_bytes=2**40,
        disk_read_bps=value / 3,
        disk_write_bps=0.0,
        network_rx_instant_bps=1e9 + value,
        network_tx_instant_bps=0.1,
        network_rx_total_bytes=2**53 - 1,  # the largest integer every JSON reader keeps exact
        network_tx_total_bytes=0,
        load1=value,
        load5=0.5,
        load15=0.25,
        process_count=100,
        tcp_connections=3,
        udp_connections=1,
        uptime_seconds=99,
    )


def _record(server_id: int) -> ServerRecord:
    return ServerRecord(
        id=server_id, name=f"s{server_id}", agent_token_hash="!", facts=HostFacts(), last_seen_ms=None, created_at_ms=0
    )


_operation = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 4)),
    st.tuples(st.just("remove"), st.integers(1, 4)),
    st.tuples(st.just("rename"), st.integers(1, 4), st.text(min_size=1, max_size=8)),
    st.tuples(st.just("status"), st.integers(1, 4), st.sampled_from(list(ServerStatus))),
    st.tuples(st.just("facts"), st.integers(1, 4), st.integers(0, 64)),
    st.tuples(st.just("sample"), st.integers(1, 4), st.floats(0, 100, allow_nan=False), st.integers(0, 5000)),
    st.tuples(st.just("tick")),
    st.tuples(st.just("tick")),
    st.tuples(st.just("sample"), st.integers(1, 4), st.floats(0, 100, allow_nan=False), st.integers(1, 5000)),
)


def _apply(cache: LiveCache, operation: tuple[Any, ...], clock: list[int]) -> None:
    kind, *args = operation
    if kind == "add" and args[0] not in cache:
        cache.add(_record(args[0]))
    elif kind == "remove":
        cache.remove(args[0])
    elif kind == "rename":
        cache.rename(args[0], args[1])
    elif kind == "status":
        cache.set_status(args[0], args[1])
    elif kind == "facts":
        cache.set_facts(args[0], HostFacts(hostname=f"h{args[1]}", cpu_cores=args[1]))
    elif kind == "sample":
        clock[0] += args[2]  # sometimes the same time again: the cache keeps the newer sample
        cache.apply_sample(args[0], _sample(clock[0], args[1]))


@settings(max_examples=80, deadline=None)
@given(st.lists(_operation, max_size=60), st.integers(0, 2))
def test_a_client_fed_the_snapshot_and_deltas_holds_the_daemons_list(
    operations: list[tuple[Any, ...]], join_after: int
) -> None:
    cache = LiveCache()
    clock = [1_700_000_000_000]
    for server_id in (1, 2, 3):  # online already, so their next samples travel as rows
        cache.add(_record(server_id))
        cache.apply_sample(server_id, _sample(clock[0], 1.0))
    stream = DeltaStream(epoch=7)
    client: ClientModel | None = None
    ticks = 0
    for operation in [*operations, ("tick",)]:
        if operation[0] != "tick":
            _apply(cache, operation, clock)
            continue
        delta = stream.advance(cache.servers(), cache.version)
        ticks += 1
        if client is None and ticks > join_after:
            client = ClientModel()
            client.apply(stream.snapshot())  # a client joining now starts from this seq
        elif client is not None:
            client.apply(delta)
        if client is not None:
            assert client.server_list() == cache.servers()


def test_only_the_metrics_of_a_reporting_server_go_in_a_row() -> None:
    cache = LiveCache()
    cache.add(_record(1))
    cache.add(_record(2))
    stream = DeltaStream(epoch=1)
    stream.advance(cache.servers(), cache.version)
    cache.apply_sample(1, _sample(1_700_000_000_000, 1.0))  # pending → online: an upsert
    stream.advance(cache.servers(), cache.version)
    cache.apply_sample(1, _sample(1_700_000_001_000, 2.5))
    delta = json.loads(stream.advance(cache.servers(), cache.version).message.payload)
    assert delta["upserts"] == [] and delta["removed"] == []
    assert delta["rows"] == [[1, 1_700_000_001_000, *[msgspec.to_builtins(_sample(0, 2.5))[f] for f in ROW_FIELDS]]]
    assert (delta["seq"], delta["baseSeq"]) == (3, 2)


def _v2_hub(servers: int) -> tuple[SnapshotHub, LiveCache]:
    cache = LiveCache.load([_record(i) for i in range(1, servers + 1)], {})
    return SnapshotHub(), cache


async def test_a_client_that_fell_behind_gets_one_snapshot_built_once_per_tick(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, cache = _v2_hub(3)
    keeping_up = hub.subscribe(1, hub.v2_message_for_new_client(cache), protocol="v2")
    behind = [hub.subscribe(2, hub.v2_message_for_new_client(cache), protocol="v2") for _ in range(3)]
    first = await keeping_up.slot.take()
    assert first.snapshot
    hub.publish_v2(delta := hub.advance_v2(cache))
    taken = await keeping_up.slot.take()
    assert taken is delta  # it held the snapshot's seq: the delta applies
    # The others never sent their first snapshot: the delta replaced nothing, they get the new state.
    given = [await subscription.slot.take() for subscription in behind]
    assert all(message.snapshot and message.seq == delta.seq for message in given)
    assert len({id(message) for message in given}) == 1  # one snapshot for all of them
    assert hub.snapshots_dropped == 3
    assert {s.dropped for s in behind} == {1}


async def test_a_v2_client_joining_while_nobody_listens_gets_the_cache_as_it_is(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, cache = _v2_hub(1)
    first = hub.v2_message_for_new_client(cache)
    cache.rename(1, "renamed")
    second = hub.v2_message_for_new_client(cache)
    assert json.loads(second.message.payload)["servers"][0]["name"] == "renamed"
    assert second.seq == first.seq + 1
    subscription = hub.subscribe(1, second, protocol="v2")
    cache.rename(1, "again")
    # Now someone listens: joiners get the last tick's state, which the next delta starts from.
    assert hub.v2_message_for_new_client(cache) is second
    hub.unsubscribe(subscription)
