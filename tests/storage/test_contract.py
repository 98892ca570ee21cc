"""One contract every storage backend passes: what the daemon relies on, operation by operation."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from monitord.models import HostFacts, MetricsSample, Role, ms_to_datetime
from monitord.storage import AlreadyExists, Storage

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
        "ann", Role.ADMIN, "hash-a", 0, T0,
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
    facts = HostFacts(hostname="db.local", os_type="linux", os_version="Debian 12", kernel_version="6.1",
                      arch="x86_64", cpu_model="EPYC", cpu_cores=8, agent_version="0.1.0", ip_address="10.0.0.2")
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
    huge = msgspec.structs.replace(sample(T0), network_rx_total_bytes=2**63 - 1, cpu_usage_percent=100.0,
                                   disk_read_bps=1e15, load1=0.0)
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
