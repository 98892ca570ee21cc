"""SnapshotHub: one encode per snapshot, fan-out without blocking, control apart from data."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from wsproto.frame_protocol import FrameProtocol, Opcode

from monitord.cache import LiveCache
from monitord.models import HostFacts, ServerRecord
from monitord.push.hub import CLOSE_GOING_AWAY, CLOSE_SESSION_ENDED, CloseRequest, HubClosed, SnapshotHub
from monitord.wire import FullServerList, encoder


def _cache(servers: int = 2) -> LiveCache:
    records = [
        ServerRecord(id=i, name=f"s{i}", agent_token_hash="!", facts=HostFacts(), last_seen_ms=None, created_at_ms=0)
        for i in range(1, servers + 1)
    ]
    return LiveCache.load(records, {})


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, message: FullServerList) -> bytes:
        self.calls += 1
        return encoder.encode(message)


async def test_a_snapshot_is_one_fullserverlist_text_frame(autojump_clock: trio.testing.MockClock) -> None:
    hub = SnapshotHub()
    snapshot = hub.build(_cache(3))
    message = json.loads(snapshot.payload)
    assert message["type"] == "fullServerList"
    assert [server["name"] for server in message["servers"]] == ["s1", "s2", "s3"]
    assert snapshot.servers == 3
    assert hub.latest is snapshot
    # The frame, read as a client reads it: one final, unmasked text frame holding the payload.
    reader = FrameProtocol(client=True, extensions=[])
    reader.receive_bytes(snapshot.frame)
    (frame,) = list(reader.received_frames())
    assert (frame.opcode, frame.frame_finished, frame.message_finished) == (Opcode.TEXT, True, True)
    assert frame.payload == snapshot.payload.decode()
    assert snapshot.frame[1] & 0x80 == 0  # not masked


async def test_a_large_snapshot_uses_the_64_bit_length(autojump_clock: trio.testing.MockClock) -> None:
    snapshot = SnapshotHub().build(_cache(2000))
    assert len(snapshot.payload) > 65535
    assert snapshot.frame[1] == 127 and int.from_bytes(snapshot.frame[2:10], "big") == len(snapshot.payload)
    assert snapshot.frame[10:] == snapshot.payload


async def test_new_clients_share_a_current_snapshot(autojump_clock: trio.testing.MockClock) -> None:
    encode = _Counting()
    hub = SnapshotHub(encode=encode)
    cache = _cache()
    first = hub.snapshot_for_new_client(cache, max_age_seconds=2)
    assert hub.snapshot_for_new_client(cache, max_age_seconds=2) is first
    assert encode.calls == 1
    cache.rename(1, "renamed")  # the cache moved on: a new snapshot
    second = hub.snapshot_for_new_client(cache, max_age_seconds=2)
    assert second is not first and b"renamed" in second.payload
    await trio.sleep(2)  # too old, even though nothing changed
    assert hub.snapshot_for_new_client(cache, max_age_seconds=2) is not second
    assert encode.calls == 3


async def test_publish_offers_every_client_the_same_snapshot_and_counts_drops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = SnapshotHub()
    cache = _cache()
    initial = hub.build(cache)
    fast, slow = hub.subscribe(1, initial), hub.subscribe(2, initial)
    assert await fast.slot.take() is initial
    for _ in range(5):
        hub.publish(latest := hub.build(cache))
    assert await fast.slot.take() is latest
    assert await slow.slot.take() is latest
    assert (fast.dropped, slow.dropped) == (4, 5)  # the slow one never took its first either


async def test_revoking_a_user_closes_only_their_subscriptions() -> None:
    hub = SnapshotHub()
    snapshot = hub.build(_cache())
    alice, alice_again, bob = hub.subscribe(1, snapshot), hub.subscribe(1, snapshot), hub.subscribe(2, snapshot)
    assert hub.revoke_user(1) == 2
    assert (
        alice.close_request == alice_again.close_request == CloseRequest(CLOSE_SESSION_ENDED, "the session was revoked")
    )
    assert bob.close_request is None
    assert await alice.closing() == alice.close_request
    assert alice.slot.pending == 1  # the close did not travel through (or clear) the data slot


async def test_the_first_close_request_wins() -> None:
    hub = SnapshotHub()
    subscription = hub.subscribe(1, hub.build(_cache()))
    subscription.request_close(1008, "message too big")
    hub.close_all()
    assert subscription.close_request == CloseRequest(1008, "message too big")


async def test_close_all_closes_everyone_and_refuses_newcomers() -> None:
    hub = SnapshotHub()
    snapshot = hub.build(_cache())
    subscriptions = [hub.subscribe(i, snapshot) for i in range(3)]
    hub.close_all()
    assert hub.closed
    assert {s.close_request for s in subscriptions} == {CloseRequest(CLOSE_GOING_AWAY, "the daemon is shutting down")}
    with pytest.raises(HubClosed):
        hub.subscribe(9, snapshot)


async def test_wait_for_subscribers_returns_only_while_someone_listens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = SnapshotHub()
    snapshot = hub.build(_cache())
    with trio.move_on_after(10) as idle:
        await hub.wait_for_subscribers()
    assert idle.cancelled_caught
    subscription = hub.subscribe(1, snapshot)
    with trio.fail_after(1):
        await hub.wait_for_subscribers()
    hub.unsubscribe(subscription)
    assert len(hub) == 0
    with trio.move_on_after(10) as idle_again:
        await hub.wait_for_subscribers()
    assert idle_again.cancelled_caught
