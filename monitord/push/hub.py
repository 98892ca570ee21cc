"""The fan-out: every connected client's subscription, and the control of their lifetimes.

Data and control travel apart. Messages go through each subscription's LatestSnapshotSlot,
where a newer one replaces one not sent yet: for `monitord.v1` a newer snapshot, for
`monitord.v2` (delta.py) a snapshot instead of the delta that replaced one, since a client that
missed a delta cannot apply the next. Every message is encoded once per tick for all clients of
its protocol, and its deflated frame built once (in a thread) while any of them negotiated it.

One hub serves one visibility set (push/audiences.py keeps one per distinct grant); inside it,
clients are counted per protocol. Close requests (revoked session, shutdown, policy)
go through `request_close`, so they never wait behind data nor get dropped as stale data.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, NamedTuple, TypeVar

import trio

from monitord.push.delta import DeltaStream, StreamMessage
from monitord.push.slot import LatestSnapshotSlot
from monitord.push.snapshot import Encode, ServerSource, Snapshot, build_snapshot
from monitord.wire import encoder

# WebSocket close codes of CONTRACT §5.
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_SESSION_ENDED = 4401

T = TypeVar("T")
Protocol = Literal["v1", "v2"]
Pending = Snapshot | StreamMessage


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
    """One client's place in the hub: its pending message and, once set, why it must close.

    `protocol` is what the client speaks; `deflate` whether it negotiated the shared
    permessage-deflate (its sender sends the deflated frames); `token_version` that of the
    session token it was opened with (a password change elsewhere revokes older ones).
    """

    def __init__(
        self,
        user_id: int,
        initial: Pending,
        client: str = "",
        *,
        protocol: Protocol = "v1",
        deflate: bool = False,
        token_version: int = -1,
    ) -> None:
        self.user_id = user_id
        self.token_version = token_version  # of the session token it was opened with
        self.client = client  # the peer's address
        self.protocol = protocol
        self.deflate = deflate
        self.slot: LatestSnapshotSlot[Pending] = LatestSnapshotSlot()
        self.slot.put(initial)
        # v2: the seq the client holds once it has sent what is queued.
        self.seq = initial.seq if isinstance(initial, StreamMessage) else 0
        # Messages replaced before this client could send them (it was slower than the ticks).
        self.dropped = 0
        self._close_request: CloseRequest | None = None
        self._closing = trio.Event()

    def offer(self, message: Pending) -> bool:
        """Queue `message`; True when it replaced one this client had not sent yet."""
        replaced = self.slot.put(message)
        if replaced:
            self.dropped += 1
        if isinstance(message, StreamMessage):
            self.seq = message.seq
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
    """Builds each tick's messages with one encoder and hands them to every subscription.

    Nothing here blocks: publishing is a slot replacement per client, so no client can delay
    the push task or another client. Only trio tasks of one run use it.
    """

    def __init__(self, *, encode: Encode = encoder.encode) -> None:
        self._encode = encode
        self._subscriptions: set[Subscription] = set()
        # The subscriptions held per user and per client address (FeedLimits).
        self._per_user: Counter[int] = Counter()
        self._per_client: Counter[str] = Counter()
        # Subscriptions per protocol, and per protocol those that negotiated deflate.
        self._per_protocol: Counter[Protocol] = Counter()
        self._deflating: Counter[Protocol] = Counter()
        self.stream = DeltaStream()
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
    def encode(self) -> Encode:
        """The encoder of this hub's snapshots (restricted audiences reuse it)."""
        return self._encode

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def build(self, cache: ServerSource) -> Snapshot:
        """Encode the cache once, remember it as the latest snapshot and return it."""
        self.latest = build_snapshot(cache, self._encode)
        return self.latest

    def snapshot_for_new_client(self, cache: ServerSource, max_age_seconds: float) -> Snapshot:
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

    def listeners(self, protocol: Protocol) -> int:
        """How many clients speak `protocol`."""
        return self._per_protocol[protocol]

    def deflating(self, protocol: Protocol) -> int:
        """How many clients speaking `protocol` negotiated the shared permessage-deflate."""
        return self._deflating[protocol]

    def v2_message_for_new_client(self, cache: ServerSource) -> StreamMessage:
        """The v2 snapshot of the current seq. With no v2 client listening, the stream first
        jumps to the cache as it is now (nobody needs a delta from the old state); otherwise it
        is the state of the last tick, which the next delta starts from."""
        if not self._per_protocol["v2"] and self.stream.cache_version != cache.version:
            self.stream.reset(cache.servers(), cache.version)
        return self.stream.snapshot()

    def advance_v2(self, cache: ServerSource) -> StreamMessage:
        """Encode the delta from the last tick's state to `cache` (once for every v2 client)."""
        return self.stream.advance(cache.servers(), cache.version)

    def publish_v2(self, delta: StreamMessage) -> None:
        """Offer `delta` to every v2 client that can apply it; one that cannot (it still has a
        message pending, or holds another seq) gets the current snapshot, built once."""
        for subscription in self._subscriptions:
            if subscription.protocol != "v2" or subscription.seq == delta.seq:
                continue
            if subscription.seq == delta.seq - 1 and not subscription.slot.pending:
                subscription.offer(delta)
            else:
                self.snapshots_dropped += subscription.offer(self.stream.snapshot())

    def check_room(self, user_id: int, client: str, limits: FeedLimits) -> None:
        """Raise TooManyFeeds when `user_id` or `client` already holds its limit of subscriptions.

        Subscribe with no await after this check, so concurrent clients cannot all pass it.
        """
        if self._per_user[user_id] >= limits.per_user:
            raise TooManyFeeds(f"this user already has {limits.per_user} live feeds open; close one first")
        if self._per_client[client] >= limits.per_client:
            raise TooManyFeeds(f"this address already has {limits.per_client} live feeds open; close one first")

    def subscribe(
        self,
        user_id: int,
        initial: Pending,
        *,
        client: str = "",
        protocol: Protocol = "v1",
        deflate: bool = False,
        token_version: int = -1,
    ) -> Subscription:
        """Register a client whose first message is `initial`. Raises HubClosed at shutdown.

        The subscription counts against its user and `client` address until `unsubscribe`.
        """
        if self._closed is not None:
            raise HubClosed(self._closed.reason)
        subscription = Subscription(
            user_id, initial, client, protocol=protocol, deflate=deflate, token_version=token_version
        )
        self._subscriptions.add(subscription)
        self._per_user[user_id] += 1
        self._per_client[client] += 1
        self._per_protocol[protocol] += 1
        self._deflating[protocol] += deflate
        self._someone_listens.set()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove `subscription`; removing it again does nothing."""
        if subscription not in self._subscriptions:
            return
        self._subscriptions.remove(subscription)
        _release(self._per_user, subscription.user_id)
        _release(self._per_client, subscription.client)
        _release(self._per_protocol, subscription.protocol)
        if subscription.deflate:
            _release(self._deflating, subscription.protocol)
        if not self._subscriptions:
            self._someone_listens = trio.Event()

    async def wait_for_subscribers(self) -> None:
        """Return once at least one client is subscribed (at once if one is)."""
        await self._someone_listens.wait()

    def publish(self, snapshot: Snapshot) -> None:
        """Offer `snapshot` to every v1 client; never blocks."""
        for subscription in self._subscriptions:
            if subscription.protocol == "v1":
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
