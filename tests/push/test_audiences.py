"""Audiences: one encoding per distinct visibility set per tick, however many clients share it."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing

from monitord.cache import LiveCache
from monitord.models import Grant, HostFacts, ServerRecord
from monitord.push.audiences import CLOSE_ACCESS_CHANGED, Audiences
from monitord.push.hub import CLOSE_SESSION_ENDED, FeedLimits, SnapshotHub, TooManyFeeds
from monitord.push.task import push_snapshots
from monitord.wire import FullServerList, encoder

EU = Grant(all=False, tags=frozenset({"eu"}))
US = Grant(all=False, tags=frozenset({"us"}))
ONE = Grant(all=False, server_ids=frozenset({3}))


def _cache() -> LiveCache:
    records = [
        ServerRecord(id=i, name=f"s{i}", agent_token_hash="!", facts=HostFacts(), last_seen_ms=None, created_at_ms=0)
        for i in range(1, 5)
    ]
    return LiveCache.load(records, {}, {1: ("eu",), 2: ("us",), 4: ("eu", "us")})


class _Counting:
    def __init__(self) -> None:
        self.messages: list[FullServerList] = []

    def __call__(self, message: FullServerList) -> bytes:
        self.messages.append(message)
        return encoder.encode(message)


async def test_clients_sharing_grants_cost_one_encoding_per_grant(autojump_clock: trio.testing.MockClock) -> None:
    encode = _Counting()
    audiences = Audiences(SnapshotHub(encode=encode))
    cache = _cache()
    grants = [EU, US, ONE]
    subscriptions = [
        (grants[i % 3], audiences.subscribe(grants[i % 3], i, cache, 60, client=f"c{i}")) for i in range(300)
    ]
    assert len(encode.messages) == 3  # the first client of each audience; the others reuse it
    async with trio.open_nursery() as nursery:
        await nursery.start(push_snapshots, audiences, cache, 2.0)
        await trio.sleep(2.5)
        assert len(encode.messages) == 6  # one tick: one encoding per audience, not per client
        nursery.cancel_scope.cancel()
    seen = {
        grant.key: {server["id"] for server in json.loads(subscription.slot._value.payload)["servers"]}  # type: ignore[attr-defined]
        for grant, subscription in subscriptions[:3]
    }
    assert seen == {EU.key: {1, 4}, US.key: {2, 4}, ONE.key: {3}}
    for grant, subscription in subscriptions:
        audiences.unsubscribe(grant, subscription)
    assert len(audiences) == 0 and [hub for _grant, hub in audiences.hubs()] == [audiences.everyone]


async def test_limits_revocation_and_grant_changes_span_audiences() -> None:
    audiences = Audiences(SnapshotHub())
    cache = _cache()
    limits = FeedLimits(per_user=2, per_client=10)
    eu = audiences.subscribe(EU, 7, cache, 60, client="a")
    everything = audiences.subscribe(Grant(), 7, cache, 60, client="a")
    with pytest.raises(TooManyFeeds):
        audiences.check_room(7, "b", limits)
    audiences.check_room(8, "a", limits)
    # A new grant closes only the sockets of another visibility set.
    assert audiences.access_changed(7, EU) == 1
    assert everything.close_request is not None and everything.close_request.code == CLOSE_ACCESS_CHANGED
    assert eu.close_request is None
    assert audiences.revoke_user(7) == 2
    assert eu.close_request is not None and eu.close_request.code == CLOSE_SESSION_ENDED
