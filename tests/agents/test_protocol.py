"""The agent protocol as a client sees it: auth, acks, validation, limits, call lifecycle."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import trio
import trio.testing
from purerpc.grpclib.status import StatusCode
from trio.testing import MockClock

from monitord.config import ListenAddress
from monitord.models import now_ms
from monitord.proto import monitord_pb2 as pb
from tests.agents.conftest import (
    HELLO,
    RawCall,
    agent_call,
    jump_when_idle,
    metrics,
    register_server,
    sample,
    stored_times,
)
from tests.conftest import RunningDaemon, make_settings, start_daemon


@pytest.fixture
async def daemon(tmp_path: Path, nursery: trio.Nursery) -> RunningDaemon:
    return await start_daemon(nursery, make_settings(tmp_path / "data"))


def grpc_of(daemon: RunningDaemon) -> ListenAddress:
    assert daemon.endpoints.grpc is not None
    return daemon.endpoints.grpc


async def test_hello_gets_welcome_and_a_stored_batch_gets_ack(daemon: RunningDaemon) -> None:
    server_id, token = await register_server(daemon)
    async with agent_call(grpc_of(daemon), token) as call:
        await call.send(HELLO)
        welcome = await call.receive()
        assert welcome is not None and welcome.WhichOneof("payload") == "welcome"
        assert welcome.welcome.server_id == server_id and welcome.welcome.max_message_bytes == 1024 * 1024
        base = now_ms()
        await call.send(metrics(sample(1, base), sample(2, base + 1000)))
        ack = await call.receive()
        assert ack is not None and ack.WhichOneof("payload") == "ack" and ack.ack.seq == 2
        # The ack promises durability: the rows are in the file now.
        assert stored_times(daemon.settings, server_id) == [base, base + 1000]


@pytest.mark.parametrize(
    "token",
    [None, "Basic abc", "not-a-token", "1.wrong-secret", "999.wrong-secret", "1." + "x" * 500, "².secret"],
    ids=["missing", "other-scheme", "malformed", "wrong-secret", "unknown-server", "oversize", "non-ascii-digit-id"],
)
async def test_a_missing_or_wrong_token_is_unauthenticated_and_nothing_is_stored(
    daemon: RunningDaemon, token: str | None
) -> None:
    server_id, _ = await register_server(daemon)
    authorization = token if token is None or token.startswith("Basic") else f"Bearer {token}"
    async with agent_call(grpc_of(daemon), None, authorization=authorization) as call:
        await call.send(HELLO)
        await call.send(metrics(sample(1)))
        status = await call.ended_with()
    assert status.status_code == StatusCode.UNAUTHENTICATED
    assert status.status_message == "missing or invalid agent token"
    assert stored_times(daemon.settings, server_id) == []
    assert daemon.endpoints.cache.get(server_id).hostname == ""  # the hello was never read
    assert daemon.endpoints.ingest_stats.ended_calls["unauthenticated"] == 1


async def _welcomed(call: RawCall) -> None:
    await call.send(HELLO)
    reply = await call.receive()
    assert reply is not None and reply.WhichOneof("payload") == "welcome"


BAD_SAMPLES = {
    "not_finite": {"cpu_usage_percent": math.nan},
    "negative": {"network_rx_total_bytes": -1},
    "too_large": {"cpu_usage_percent": 100.5},
    "used_exceeds_total": {"memory_usage_bytes": 5_000, "memory_total_bytes": 4_000},
}


async def test_bad_samples_are_dropped_and_counted_and_the_call_stays_up(daemon: RunningDaemon) -> None:
    server_id, token = await register_server(daemon)
    stats = daemon.endpoints.ingest_stats
    base = now_ms()
    bad = [sample(seq, base + seq * 1000, **values) for seq, values in enumerate(BAD_SAMPLES.values(), start=2)]
    bad += [
        sample(10, base + 10 * 60_000, cpu_usage_percent=1.0),  # ten minutes ahead
        sample(11, base - 30 * 86_400_000),  # a month old
        sample(12, base + 12_000, load1=math.inf),
    ]
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        await call.send(metrics(sample(1, base), *bad, sample(13, base + 13_000)))
        ack = await call.receive()
        # Dropped samples are handled too: the ack covers the whole batch.
        assert ack is not None and ack.ack.seq == 13
        await call.send(metrics(sample(14, base + 14_000), sample(14, base + 15_000)))  # a repeated seq
        ack = await call.receive()
        assert ack is not None and ack.ack.seq == 14
    assert stored_times(daemon.settings, server_id) == [base, base + 13_000, base + 14_000]
    assert dict(stats.dropped_samples) == {
        "not_finite": 2,
        "negative": 1,
        "too_large": 1,
        "used_exceeds_total": 1,
        "future_timestamp": 1,
        "stale_timestamp": 1,
        "seq_not_increasing": 1,
    }
    latest = daemon.endpoints.cache.get(server_id).latest_metrics
    assert latest is not None and latest.time.timestamp() * 1000 == base + 14_000


async def test_samples_older_than_raw_retention_are_dropped_as_stale(tmp_path: Path, nursery: trio.Nursery) -> None:
    # max_sample_age_seconds defaults to a day, but with two hours of raw retention a
    # three-hour-old sample would be deleted before any rollup took it in.
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data", retention={"raw_hours": 2}))
    server_id, token = await register_server(daemon)
    base = now_ms()
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        await call.send(metrics(sample(1, base - 3 * 3_600_000), sample(2, base - 3_600_000)))
        ack = await call.receive()
        assert ack is not None and ack.ack.seq == 2
    assert stored_times(daemon.settings, server_id) == [base - 3_600_000]
    assert daemon.endpoints.ingest_stats is not None
    assert dict(daemon.endpoints.ingest_stats.dropped_samples) == {"stale_timestamp": 1}


async def test_an_oversize_message_gets_resource_exhausted(daemon: RunningDaemon) -> None:
    server_id, token = await register_server(daemon)
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        batch = metrics(*(sample(seq, now_ms() - 100_000 + seq) for seq in range(1, 8001)))
        assert batch.ByteSize() > 1.1 * 1024 * 1024  # the limit is 1 MiB
        await call.send(batch)
        status = await call.ended_with()
    assert status.status_code == StatusCode.RESOURCE_EXHAUSTED
    assert status.status_message == "message larger than 1048576 bytes"
    assert stored_times(daemon.settings, server_id) == []
    assert daemon.endpoints.ingest_stats.ended_calls["message_too_large"] == 1


async def test_a_message_just_under_the_limit_is_accepted(daemon: RunningDaemon) -> None:
    server_id, token = await register_server(daemon)
    base = now_ms() - 100_000
    batch = metrics(*(sample(seq, base + seq) for seq in range(1, 6801)))
    assert 1_000_000 < batch.ByteSize() < 1024 * 1024 - 5
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        await call.send(batch)
        ack = await call.receive()
    assert ack is not None and ack.ack.seq == 6800
    assert len(stored_times(daemon.settings, server_id)) == 6800


async def test_a_new_call_replaces_the_old_one(daemon: RunningDaemon) -> None:
    _server_id, token = await register_server(daemon)
    async with agent_call(grpc_of(daemon), token) as old:
        await _welcomed(old)
        async with agent_call(grpc_of(daemon), token) as new:
            await _welcomed(new)
            status = await old.ended_with()
            assert status.status_code == StatusCode.ABORTED
            assert "replaced" in status.status_message
            # The newer call works on.
            await new.send(metrics(sample(1)))
            ack = await new.receive()
            assert ack is not None and ack.ack.seq == 1
    assert daemon.endpoints.ingest_stats.ended_calls["replaced"] == 1


@pytest.mark.parametrize("action", ["delete", "rotate"])
async def test_deleting_the_server_or_rotating_its_token_ends_its_call(daemon: RunningDaemon, action: str) -> None:
    server_id, token = await register_server(daemon)
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        async with daemon.client(await daemon.login()) as client:
            if action == "delete":
                response = await client.delete(f"/api/servers/{server_id}")
                assert response.status_code == 204
            else:
                response = await client.post(f"/api/servers/{server_id}/token")
                assert response.status_code == 200
        with trio.fail_after(5):
            status = await call.ended_with()
    assert status.status_code == StatusCode.UNAUTHENTICATED
    assert status.status_message == "this agent's token was revoked"
    # And the old token opens no new call.
    async with agent_call(grpc_of(daemon), token) as again:
        await again.send(HELLO)
        assert (await again.ended_with()).status_code == StatusCode.UNAUTHENTICATED


async def test_calls_beyond_the_cap_get_resource_exhausted(tmp_path: Path, nursery: trio.Nursery) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data", grpc={"max_concurrent_streams": 2}))
    _, token_a = await register_server(daemon, "a")
    _, token_b = await register_server(daemon, "b")
    async with agent_call(grpc_of(daemon), token_a) as a, agent_call(grpc_of(daemon), token_b) as b:
        await _welcomed(a)
        await _welcomed(b)
        assert daemon.endpoints.ingest_stats.ended_calls["too_many_streams"] == 0
        async with agent_call(grpc_of(daemon), token_a) as third:
            await third.send(HELLO)
            status = await third.ended_with()
        assert status.status_code == StatusCode.RESOURCE_EXHAUSTED
        # The two open calls are untouched by the refusal.
        await a.send(metrics(sample(1)))
        assert (await a.receive()).ack.seq == 1
    assert daemon.endpoints.ingest_stats.ended_calls["too_many_streams"] == 1


async def test_connections_beyond_the_cap_are_closed_at_once(tmp_path: Path, nursery: trio.Nursery) -> None:
    settings = make_settings(tmp_path / "data", grpc={"max_connections": 2, "handshake_timeout_seconds": 3600})
    daemon = await start_daemon(nursery, settings)
    _, token = await register_server(daemon)
    address = grpc_of(daemon)
    # Two idle sockets that never speak hold both places.
    idle = [await trio.open_tcp_stream(address.host, address.port) for _ in range(2)]
    extra = await trio.open_tcp_stream(address.host, address.port)
    with trio.fail_after(5):
        assert await extra.receive_some(1) == b""  # closed by the daemon, unread
    await extra.aclose()
    # A place freed is a place an agent can take, once the daemon has seen the socket close.
    await idle.pop().aclose()
    await trio.testing.wait_all_tasks_blocked()
    with trio.fail_after(5):
        async with agent_call(address, token) as call:
            await _welcomed(call)
    for stream in idle:
        await stream.aclose()


async def test_protocol_errors_get_a_clear_status_never_a_python_repr(daemon: RunningDaemon) -> None:
    _, token = await register_server(daemon)
    statuses = []
    async with agent_call(grpc_of(daemon), token) as call:  # metrics before hello
        await call.send(metrics(sample(1)))
        statuses.append(await call.ended_with())
    async with agent_call(grpc_of(daemon), token) as call:  # an empty message
        await _welcomed(call)
        await call.send(pb.AgentMessage())
        statuses.append(await call.ended_with())
    async with agent_call(grpc_of(daemon), token) as call:  # bytes that are not an AgentMessage
        await call.stream._send(b"\xff\xff\xff\xff")
        statuses.append(await call.ended_with())
    assert [(s.status_code, s.status_message) for s in statuses] == [
        (StatusCode.FAILED_PRECONDITION, "the first message must be hello"),
        (StatusCode.INVALID_ARGUMENT, "empty message"),
        (StatusCode.INVALID_ARGUMENT, "malformed message"),
    ]


async def test_a_hostile_hello_is_cleaned_and_bounded(daemon: RunningDaemon) -> None:
    server_id, token = await register_server(daemon)
    hello = pb.Hello(
        hostname="evil\x1b[2J\u202ehost\n",
        os_type="Linux" * 1000,
        cpu_model="x" * 100_000,
        cpu_cores=-3,
        ip_addresses=["127.0.0.1", "not an ip", "fe80::1", "203.0.113.7", "10.0.0.1"],
    )
    async with agent_call(grpc_of(daemon), token) as call:
        await call.send(pb.AgentMessage(hello=hello))
        assert (await call.receive()).WhichOneof("payload") == "welcome"
    view = daemon.endpoints.cache.get(server_id)
    assert view.hostname == "evil [2J host"
    assert len(view.os_type) == 64 and len(view.cpu_model) == 128
    assert view.cpu_cores == 0 and view.ip_address == "203.0.113.7"
    async with daemon.client(await daemon.login()) as client:
        stored = (await client.get(f"/api/servers/{server_id}")).json()
    assert stored["hostname"] == "evil [2J host"


async def test_a_server_added_by_the_cli_while_the_daemon_runs_is_accepted(
    daemon: RunningDaemon, tmp_path: Path
) -> None:
    from tests.processes import run_monitord

    config = tmp_path / "monitord.toml"
    config.write_text(f'data_dir = "{daemon.settings.data_dir}"\n')
    result = await trio.to_thread.run_sync(
        lambda: run_monitord("server", "add", "late", "--config", str(config), cwd=tmp_path)
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.split("agent token (shown once): ")[1].strip()
    server_id = int(token.split(".")[0])
    assert server_id not in daemon.endpoints.cache
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        await call.send(metrics(sample(1)))
        assert (await call.receive()).ack.seq == 1
    assert daemon.endpoints.cache.get(server_id).name == "late"


async def test_the_per_agent_sample_rate_is_capped(tmp_path: Path, nursery: trio.Nursery, clock: MockClock) -> None:
    rate = 100.0
    daemon = await start_daemon(
        nursery,
        make_settings(tmp_path / "data", agents={"max_samples_per_second": rate}, grpc={"max_message_bytes": 4096}),
    )
    server_id, token = await register_server(daemon)
    jump_when_idle(clock)
    burst = rate  # the bucket holds one second's worth
    base = now_ms() - 60_000
    per_batch, batches = 20, 40  # 800 samples
    async with agent_call(grpc_of(daemon), token) as call:
        await _welcomed(call)
        started = trio.current_time()
        async with trio.open_nursery() as senders:

            async def send_all() -> None:
                for b in range(batches):
                    first = b * per_batch + 1
                    await call.send(metrics(*(sample(s, base + s) for s in range(first, first + per_batch))))

            senders.start_soon(send_all)
            last = 0
            while last < per_batch * batches:
                reply = await call.receive()
                assert reply is not None
                last = reply.ack.seq
        elapsed = trio.current_time() - started
    total = per_batch * batches
    # The cap holds: at most the burst plus rate x elapsed were read.
    assert elapsed >= (total - burst - per_batch) / rate
    assert elapsed < total / rate + 1
    assert len(stored_times(daemon.settings, server_id)) == total
