"""The fan-out: every connected client's subscription, and the control of their lifetimes.

Data and control travel apart. Snapshots go through each subscription's LatestSnapshotSlot,
where a newer one replaces one not sent yet. Close requests (revoked session, shutdown, policy)
go through `request_close`, so they never wait behind data nor get dropped as stale data.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple, TypeVar

import trio

from monitord.cache import LiveCache
from monitord.push.slot import LatestSnapshotSlot
from monitord.push.snapshot import Encode, Snapshot, build_snapshot
from monitord.wire import encoder

# WebSocket close codes of CONTRACT §5.
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_SESSION_ENDED = 4401

T = TypeVar("T")


class HubClosed(Exception):
    """The daemon is shutting down; no new subscriptions."""


class TooManyFeeds(Exception):
    """The user, or the client address, already holds as many subscriptions as allowed."""


class FeedLimits(NamedTuple):
    """The most subscriptions one user, and one client address, may hold at once."""

    per_user: int
    per_client: int


class CloseRequest(NamedTuple):
    """Why a client's connection ends. `code` None: abort it, a close frame cannot get through."""

    code: int | None
    reason: str


class Subscription:
    """One client's place in the hub: its pending snapshot and, once set, why it must close."""

    def __init__(self, user_id: int, initial: Snapshot, client: str = "", token_version: int = -1) -> None:
        self.user_id = user_id
        self.token_version = token_version  # of the session token it was opened with
        self.client = client  # the peer's address
        self.slot: LatestSnapshotSlot[Snapshot] = LatestSnapshotSlot()
        self.slot.put(initial)
        # Snapshots replaced before this client could send them (it was slower than the ticks).
        self.dropped = 0
        self._close_request: CloseRequest | None = None
        self._closing = trio.Event()

    def offer(self, snapshot: Snapshot) -> bool:
        """Queue `snapshot`; True when it replaced one this client had not sent yet."""
        replaced = self.slot.put(snapshot)
        if replaced:
            self.dropped += 1
        return replaced

    @property
    def close_request(self) -> CloseRequest | None:
        return self._close_request

    def request_close(self, code: int | None, reason: str) -> None:
        """Ask the connection to end; the first request wins, later ones are ignored."""
        if self._close_request is None:
            self._close_request = CloseRequest(code, reason)
            self._closing.set()

    async def closing(self) -> CloseRequest:
        """Wait until a close is requested, and return the request."""
        await self._closing.wait()
        assert self._close_request is not None
        return self._close_request


class SnapshotHub:
    """Builds snapshots with one encoder and hands each to every subscription.

    Nothing here blocks: publishing is a slot replacement per client, so no client can delay
    the push task or another client. Only trio tasks of one run use it.
    """

    def __init__(self, *, encode: Encode = encoder.encode) -> None:
        self._encode = encode
        self._subscriptions: set[Subscription] = set()
        # The subscriptions held per user and per client address (FeedLimits).
        self._per_user: Counter[int] = Counter()
        self._per_client: Counter[str] = Counter()
        self._someone_listens = trio.Event()
        self._closed: CloseRequest | None = None
        self.latest: Snapshot | None = None
        # Snapshots any client lost to a newer one before sending it, since start (telemetry).
        self.snapshots_dropped = 0

    def __len__(self) -> int:
        return len(self._subscriptions)

    @property
    def subscriptions(self) -> frozenset[Subscription]:
        return frozenset(self._subscriptions)

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def build(self, cache: LiveCache) -> Snapshot:
        """Encode the cache once, remember it as the latest snapshot and return it."""
        self.latest = build_snapshot(cache, self._encode)
        return self.latest

    def snapshot_for_new_client(self, cache: LiveCache, max_age_seconds: float) -> Snapshot:
        """The latest snapshot when it is current and younger than `max_age_seconds`, else a new one.

        Many clients connecting at once (a dashboard reload wave) cost one encode, not one each.
        """
        latest = self.latest
        if (
            latest is not None
            and latest.cache_version == cache.version
            and trio.current_time() - latest.built_at < max_age_seconds
        ):
            return latest
        return self.build(cache)

    def check_room(self, user_id: int, client: str, limits: FeedLimits) -> None:
        """Raise TooManyFeeds when `user_id` or `client` already holds its limit of subscriptions.

        Subscribe with no await after this check, so concurrent clients cannot all pass it.
        """
        if self._per_user[user_id] >= limits.per_user:
            raise TooManyFeeds(f"this user already has {limits.per_user} live feeds open; close one first")
        if self._per_client[client] >= limits.per_client:
            raise TooManyFeeds(f"this address already has {limits.per_client} live feeds open; close one first")

    def subscribe(self, user_id: int, initial: Snapshot, *, client: str = "", token_version: int = -1) -> Subscription:
        """Register a client whose first message is `initial`. Raises HubClosed at shutdown.

        The subscription counts against its user and `client` address until `unsubscribe`.
        """
        if self._closed is not None:
            raise HubClosed(self._closed.reason)
        subscription = Subscription(user_id, initial, client, token_version)
        self._subscriptions.add(subscription)
        self._per_user[user_id] += 1
        self._per_client[client] += 1
        self._someone_listens.set()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove `subscription`; removing it again does nothing."""
        if subscription not in self._subscriptions:
            return
        self._subscriptions.remove(subscription)
        _release(self._per_user, subscription.user_id)
        _release(self._per_client, subscription.client)
        if not self._subscriptions:
            self._someone_listens = trio.Event()

    async def wait_for_subscribers(self) -> None:
        """Return once at least one client is subscribed (at once if one is)."""
        await self._someone_listens.wait()

    def publish(self, snapshot: Snapshot) -> None:
        """Offer `snapshot` to every client; never blocks."""
        for subscription in self._subscriptions:
            self.snapshots_dropped += subscription.offer(snapshot)

    def revoke_user(
        self, user_id: int, reason: str = "the session was revoked", *, older_than: int | None = None
    ) -> int:
        """Close every connection of `user_id` with 4401 (only those opened with a token version
        below `older_than`, when given); returns how many there were."""
        revoked = [
            s
            for s in self._subscriptions
            if s.user_id == user_id and (older_than is None or s.token_version < older_than)
        ]
        for subscription in revoked:
            subscription.request_close(CLOSE_SESSION_ENDED, reason)
        return len(revoked)

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "the daemon is shutting down") -> None:
        """Close every connection with `code` and refuse new subscriptions (shutdown, STACK trap 5)."""
        self._closed = CloseRequest(code, reason)
        for subscription in self._subscriptions:
            subscription.request_close(code, reason)


def _release(counts: Counter[T], key: T) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]  # no entry per user or address ever seen, only per one holding a feed
