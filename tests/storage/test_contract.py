"""One contract every storage backend passes: what the daemon relies on, operation by operation."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
import trio

from monitord.models import HostFacts, MetricsSample, Role, ServerRecord, User, ms_to_datetime
from monitord.storage import AlreadyExists, Storage, StorageError
from monitord.storage.base import Tier
from monitord.storage.transfer import IdHighWater, RollupState, SampleStats, TableCounts, TransferStorage

T0 = 1_790_000_000_000  # a fixed moment, in ms


def sample(at_ms: int, cpu: float = 12.5) -> MetricsSample:
    return MetricsSample(
        time=ms_to_datetime(at_ms),
        cpu_usage_percent=cpu,
        memory_usage_bytes=2 * 1024**3,
        memory_total_bytes=8 * 1024**3,
        swap_usage_bytes=0,
        swap_total_bytes=1024**3,
        disk_used_bytes=50 * 1024**3,
        disk_total_bytes=200 * 1024**3,
        disk_read_bps=1500.5,
        disk_write_bps=2500.25,
        network_rx_instant_bps=10_000.0,
        network_tx_instant_bps=5_000.0,
        network_rx_total_bytes=2**40,
        network_tx_total_bytes=2**39,
        load1=0.5,
        load5=0.25,
        load15=0.125,
        process_count=321,
        tcp_connections=42,
        udp_connections=7,
        uptime_seconds=86_400,
    )


async def test_users_are_created_found_and_unique(storage: Storage) -> None:
    ann = await storage.create_user("ann", "hash-a", Role.ADMIN, now_ms=T0)
    assert (ann.username, ann.role, ann.password_hash, ann.token_version, ann.created_at_ms) == (
        "ann",
        Role.ADMIN,
        "hash-a",
        0,
        T0,
    )
    bob = await storage.create_user("bob", "hash-b", Role.VIEWER, now_ms=T0 + 1)
    assert bob.id != ann.id
    assert await storage.get_user(ann.id) == ann
    assert await storage.get_user_by_name("bob") == bob
    assert await storage.get_user_by_name("nobody") is None
    assert await storage.get_user(10**12) is None
    assert await storage.count_users() == 2
    assert [user.username for user in await storage.list_users()] == ["ann", "bob"]
    with pytest.raises(AlreadyExists):
        await storage.create_user("ann", "other", Role.VIEWER, now_ms=T0)


async def test_password_and_role_changes_bump_the_token_version(storage: Storage) -> None:
    user = await storage.create_user("cat", "old", Role.VIEWER, now_ms=T0)
    changed = await storage.set_password(user.id, "new")
    assert changed is not None and changed.password_hash == "new" and changed.token_version == 1
    promoted = await storage.set_role(user.id, Role.ADMIN)
    assert promoted is not None and promoted.role is Role.ADMIN and promoted.token_version == 2
    assert await storage.set_password(10**12, "x") is None


async def test_deleting_a_user(storage: Storage) -> None:
    user = await storage.create_user("dan", "h", Role.VIEWER, now_ms=T0)
    assert await storage.delete_user(user.id) is True
    assert await storage.delete_user(user.id) is False
    assert await storage.get_user(user.id) is None


async def test_servers_lifecycle(storage: Storage) -> None:
    web = await storage.create_server("web", "hash-1", now_ms=T0)
    db = await storage.create_server("db", "hash-2", now_ms=T0 + 5)
    assert web.facts == HostFacts() and web.last_seen_ms is None and web.created_at_ms == T0
    assert [server.name for server in await storage.list_servers()] == ["web", "db"]
    renamed = await storage.rename_server(web.id, "web-1")
    assert renamed is not None and renamed.name == "web-1"
    assert await storage.rename_server(10**12, "x") is None
    assert await storage.set_agent_token_hash(db.id, "hash-3") is True
    assert await storage.set_agent_token_hash(10**12, "hash-3") is False
    facts = HostFacts(
        hostname="db.local",
        os_type="linux",
        os_version="Debian 12",
        kernel_version="6.1",
        arch="x86_64",
        cpu_model="EPYC",
        cpu_cores=8,
        agent_version="0.1.0",
        ip_address="10.0.0.2",
    )
    assert await storage.update_host_facts(db.id, facts) is True
    stored = await storage.get_server(db.id)
    assert stored is not None and stored.facts == facts and stored.agent_token_hash == "hash-3"
    assert await storage.delete_server(web.id) is True
    assert await storage.delete_server(web.id) is False
    assert [server.id for server in await storage.list_servers()] == [db.id]


async def test_samples_round_trip_exactly_and_duplicates_are_stored_once(storage: Storage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    batch = [(server.id, sample(T0 + 1000 * i, cpu=float(i))) for i in range(5)]
    assert await storage.insert_samples(batch) == 5
    # The same samples again, plus one new: only the new one counts.
    assert await storage.insert_samples([*batch, (server.id, sample(T0 + 5000))]) == 1
    stored = await storage.query_samples(server.id, T0, T0 + 6000)
    assert stored == [s for _, s in batch] + [sample(T0 + 5000)]
    assert await storage.query_samples(server.id, T0 + 1000, T0 + 3000) == [batch[1][1], batch[2][1]]
    assert (await storage.get_server(server.id)).last_seen_ms == T0 + 5000  # type: ignore[union-attr]


async def test_last_seen_never_moves_backwards(storage: Storage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, sample(T0 + 9000))])
    await storage.insert_samples([(server.id, sample(T0 + 1000))])  # a late backfill
    assert (await storage.get_server(server.id)).last_seen_ms == T0 + 9000  # type: ignore[union-attr]


async def test_latest_samples_per_server(storage: Storage) -> None:
    a = await storage.create_server("a", "h", now_ms=T0)
    b = await storage.create_server("b", "h", now_ms=T0)
    await storage.create_server("never-reported", "h", now_ms=T0)
    await storage.insert_samples([(a.id, sample(T0 + t, cpu=t / 1000)) for t in (3000, 1000, 2000)])
    await storage.insert_samples([(b.id, sample(T0 + 500))])
    latest = await storage.latest_samples()
    assert set(latest) == {a.id, b.id}
    assert latest[a.id].time == ms_to_datetime(T0 + 3000) and latest[a.id].cpu_usage_percent == 3.0
    assert latest[b.id] == sample(T0 + 500)


async def test_samples_of_deleted_servers_are_skipped_and_deleted(storage: Storage) -> None:
    gone = await storage.create_server("gone", "h", now_ms=T0)
    kept = await storage.create_server("kept", "h", now_ms=T0)
    await storage.insert_samples([(gone.id, sample(T0))])
    assert await storage.delete_server(gone.id)
    assert await storage.query_samples(gone.id, 0, T0 * 2) == []
    assert await storage.insert_samples([(gone.id, sample(T0 + 1)), (kept.id, sample(T0 + 1))]) == 1
    assert await storage.latest_samples() == {kept.id: sample(T0 + 1)}


async def test_extreme_but_valid_values_round_trip(storage: Storage) -> None:
    server = await storage.create_server("big", "h", now_ms=T0)
    huge = msgspec.structs.replace(
        sample(T0), network_rx_total_bytes=2**63 - 1, cpu_usage_percent=100.0, disk_read_bps=1e15, load1=0.0
    )
    await storage.insert_samples([(server.id, huge)])
    assert await storage.query_samples(server.id, T0, T0 + 1) == [huge]


async def test_sub_millisecond_times_are_not_invented(storage: Storage) -> None:
    server = await storage.create_server("ms", "h", now_ms=T0)
    moment = ms_to_datetime(T0) + timedelta(milliseconds=123)
    await storage.insert_samples([(server.id, msgspec.structs.replace(sample(T0), time=moment))])
    (stored,) = await storage.query_samples(server.id, T0, T0 + 1000)
    assert stored.time == moment


async def test_ping(storage: Storage) -> None:
    await storage.ping()


async def test_unknown_ids_are_reported_not_raised(storage: Storage) -> None:
    assert await storage.get_server(10**12) is None
    assert await storage.set_role(10**12, Role.ADMIN) is None
    assert await storage.update_host_facts(10**12, HostFacts(hostname="x")) is False
    assert await storage.delete_server(10**12) is False
    assert await storage.query_samples(10**12, 0, T0 * 2) == []


async def test_an_empty_database(storage: Storage) -> None:
    assert await storage.count_users() == 0
    assert await storage.list_users() == []
    assert await storage.list_servers() == []
    assert await storage.latest_samples() == {}
    assert await storage.insert_samples([]) == 0


async def test_ids_of_deleted_rows_are_never_handed_out_again(storage: Storage) -> None:
    # An agent token names its server id: a new server must never inherit a deleted one's id.
    first = await storage.create_server("first", "h", now_ms=T0)
    second = await storage.create_server("second", "h", now_ms=T0)
    assert await storage.delete_server(second.id)
    third = await storage.create_server("third", "h", now_ms=T0)
    assert third.id > second.id > first.id
    user = await storage.create_user("u1", "h", Role.VIEWER, now_ms=T0)
    assert await storage.delete_user(user.id)
    assert (await storage.create_user("u2", "h", Role.VIEWER, now_ms=T0)).id > user.id


async def test_text_round_trips_exactly(storage: Storage) -> None:
    name = "wéb-01 ☃ \"quoted\" 'single' %s $1 ?"
    server = await storage.create_server(name, "h", now_ms=T0)
    assert (await storage.get_server(server.id)).name == name  # type: ignore[union-attr]
    facts = HostFacts(cpu_model="Intel(R) Xeon(R) CPU @ 2.20GHz", os_version="Ubuntu 24.04 LTS", cpu_cores=2**31 - 1)
    assert await storage.update_host_facts(server.id, facts)
    assert (await storage.get_server(server.id)).facts == facts  # type: ignore[union-attr]


async def test_within_one_batch_the_first_sample_at_a_moment_wins(storage: Storage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    batch = [(server.id, sample(T0, cpu=1.0)), (server.id, sample(T0, cpu=2.0)), (server.id, sample(T0 + 1, cpu=3.0))]
    assert await storage.insert_samples(batch) == 2
    assert [s.cpu_usage_percent for s in await storage.query_samples(server.id, T0, T0 + 2)] == [1.0, 3.0]


async def test_one_batch_can_hold_many_servers(storage: Storage) -> None:
    servers = [await storage.create_server(f"s{i}", "h", now_ms=T0) for i in range(3)]
    batch = [(server.id, sample(T0 + 1000 * t + i)) for t in range(4) for i, server in enumerate(servers)]
    assert await storage.insert_samples(batch) == 12
    for i, server in enumerate(servers):
        stored = await storage.query_samples(server.id, 0, T0 * 2)
        assert [s.time for s in stored] == [ms_to_datetime(T0 + 1000 * t + i) for t in range(4)]
        assert (await storage.get_server(server.id)).last_seen_ms == T0 + 3000 + i  # type: ignore[union-attr]
    assert set(await storage.latest_samples()) == {server.id for server in servers}


async def test_the_query_window_includes_from_and_excludes_to(storage: Storage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, sample(T0 + t)) for t in (0, 1, 2, 3)])
    window = await storage.query_samples(server.id, T0 + 1, T0 + 3)
    assert [s.time for s in window] == [ms_to_datetime(T0 + 1), ms_to_datetime(T0 + 2)]
    assert await storage.query_samples(server.id, T0 + 2, T0 + 2) == []


async def test_concurrent_writers_store_each_sample_once(storage: Storage) -> None:
    server = await storage.create_server("busy", "h", now_ms=T0)
    results: list[int] = []

    async def writer(offset: int) -> None:
        # Overlapping batches: every moment is written by two writers.
        results.append(await storage.insert_samples([(server.id, sample(T0 + t)) for t in range(offset, offset + 40)]))

    async with trio.open_nursery() as nursery:
        for offset in range(0, 200, 20):
            nursery.start_soon(writer, offset)
    assert sum(results) == 220
    assert len(await storage.query_samples(server.id, 0, T0 * 2)) == 220


async def test_deleting_a_server_while_its_samples_arrive(storage: Storage) -> None:
    doomed = await storage.create_server("doomed", "h", now_ms=T0)

    async def keep_writing() -> None:
        for t in range(0, 50, 5):
            await storage.insert_samples([(doomed.id, sample(T0 + t + i)) for i in range(5)])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_writing)
        nursery.start_soon(storage.delete_server, doomed.id)
    # Whatever order they ran in, no write failed and nothing of the server is left.
    assert await storage.get_server(doomed.id) is None
    assert await storage.query_samples(doomed.id, 0, T0 * 2) == []
    assert await storage.latest_samples() == {}


async def test_a_call_cancelled_before_it_runs_changes_nothing(storage: Storage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    with trio.CancelScope() as scope:
        scope.cancel()
        await storage.insert_samples([(server.id, sample(T0))])
    assert scope.cancelled_caught
    assert await storage.query_samples(server.id, 0, T0 * 2) == []
    assert await storage.insert_samples([(server.id, sample(T0))]) == 1


# --- what `db copy` uses --------------------------------------------------------------------------
async def test_counts_and_sample_stats(storage: TransferStorage) -> None:
    a = await storage.create_server("a", "h", now_ms=T0)
    b = await storage.create_server("b", "h", now_ms=T0)
    await storage.create_user("u", "h", Role.VIEWER, now_ms=T0)
    await storage.insert_samples([(a.id, sample(T0 + t)) for t in (5, 1, 9)] + [(b.id, sample(T0))])
    assert await storage.table_counts() == TableCounts(users=1, servers=2, samples=4)
    assert await storage.sample_stats(a.id) == SampleStats(count=3, first_ms=T0 + 1, last_ms=T0 + 9)
    assert await storage.sample_stats(a.id, until_ms=T0 + 5) == SampleStats(count=2, first_ms=T0 + 1, last_ms=T0 + 5)
    assert await storage.sample_stats(10**12) == SampleStats(count=0, first_ms=None, last_ms=None)


async def test_samples_after_pages_through_one_server_oldest_first(storage: TransferStorage) -> None:
    a = await storage.create_server("a", "h", now_ms=T0)
    b = await storage.create_server("b", "h", now_ms=T0)
    await storage.insert_samples([(a.id, sample(T0 + t)) for t in (3, 1, 2, 0)] + [(b.id, sample(T0 + 1))])
    first = await storage.samples_after(a.id, None, 3)
    assert [s.time for s in first] == [ms_to_datetime(T0 + t) for t in (0, 1, 2)]
    assert await storage.samples_after(a.id, T0 + 2, 3) == [sample(T0 + 3)]
    assert await storage.samples_after(a.id, T0 + 3, 3) == []


async def test_imports_keep_ids_update_in_place_and_move_id_sequences_on(storage: TransferStorage) -> None:
    users = [
        User(id=7, username="ann", role=Role.ADMIN, password_hash="h1", token_version=3, created_at_ms=T0),
        User(id=9, username="bob", role=Role.VIEWER, password_hash="h2", token_version=0, created_at_ms=T0 + 1),
    ]
    facts = HostFacts(hostname="h", cpu_cores=4)
    servers = [
        ServerRecord(id=4, name="s4", agent_token_hash="t4", facts=facts, last_seen_ms=T0 + 5, created_at_ms=T0),
        ServerRecord(id=11, name="s11", agent_token_hash="t11", facts=HostFacts(), last_seen_ms=None, created_at_ms=T0),
    ]
    await storage.import_users(users)
    await storage.import_servers(servers)
    assert await storage.list_users() == users
    assert await storage.list_servers() == servers
    # Importing again updates in place.
    renamed = msgspec.structs.replace(servers[0], name="renamed", last_seen_ms=T0 + 99)
    await storage.import_servers([renamed])
    assert await storage.get_server(4) == renamed
    await storage.advance_ids(IdHighWater(users=20, servers=30))
    assert await storage.id_high_water() == IdHighWater(users=20, servers=30)
    assert (await storage.create_server("next", "h", now_ms=T0)).id == 31
    assert (await storage.create_user("next", "h", Role.VIEWER, now_ms=T0)).id == 21
    # Never backwards.
    await storage.advance_ids(IdHighWater(users=1, servers=1))
    assert (await storage.create_server("after", "h", now_ms=T0)).id == 32


# --- errors: the storage layer's own, never a driver's ----------------------------------------------
async def test_a_taken_username_in_an_import_raises_already_exists(storage: TransferStorage) -> None:
    await storage.create_user("ann", "h", Role.ADMIN, now_ms=T0)
    other = User(id=50, username="ann", role=Role.VIEWER, password_hash="h2", token_version=0, created_at_ms=T0)
    with pytest.raises(AlreadyExists):
        await storage.import_users([other])
    assert [user.id for user in await storage.list_users()] != [50]


async def test_a_broken_reference_raises_a_storage_error(storage: TransferStorage) -> None:
    # Real bucket rows, imported for a server that no longer exists: a foreign-key violation.
    server = await storage.create_server("gone", "h", now_ms=T0)
    await storage.insert_samples([(server.id, sample(T0 + t * 1000)) for t in range(3)])
    await storage.roll_up(T0 + 120_000, max_samples=100)
    rows = await storage.buckets_after(Tier.MINUTE, server.id, None, 10)
    assert rows
    await storage.delete_server(server.id)
    with pytest.raises(StorageError) as caught:
        await storage.import_buckets(Tier.MINUTE, server.id, rows)
    assert not isinstance(caught.value, AlreadyExists)
    with pytest.raises(StorageError):
        await storage.import_rollup_state(server.id, RollupState(rolled_up_to_ms=0, raw_deleted_before_ms=0))
