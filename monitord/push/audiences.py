"""One SnapshotHub per distinct visibility set ("audience"), around the hub, not inside it.

Clients whose grants name the same servers share an audience, keyed by the grant's canonical
key; each tick encodes one snapshot per audience with a client (the servers its grant lets it
see), so 1000 clients over 3 grants cost 3 encodings. The unrestricted audience is the daemon's
one hub as before. A restricted audience's hub is made when its first client subscribes and
dropped when its last leaves.

A grant that changes closes the user's sockets of other audiences with 4403 ("access changed"):
the dashboard reconnects at once and subscribes to its new audience, so from then on no frame of
the old visibility set reaches it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from monitord.cache import LiveCache
from monitord.groups import visible_servers
from monitord.models import EVERYTHING, Grant
from monitord.push.hub import (
    CLOSE_GOING_AWAY,
    FeedLimits,
    HubClosed,
    Pending,
    Protocol,
    SnapshotHub,
    Subscription,
    TooManyFeeds,
)
from monitord.wire import ServerWithDetails

# A private close code (CONTRACT §5 lets 4xxx be the daemon's): the user's grant changed.
CLOSE_ACCESS_CHANGED = 4403


class VisibleServers:
    """The part of the live cache one grant sees, as the hub builds snapshots from it."""

    def __init__(self, cache: LiveCache, grant: Grant) -> None:
        self._cache = cache
        self._grant = grant

    @property
    def version(self) -> int:
        return self._cache.version

    def servers(self) -> list[ServerWithDetails]:
        return visible_servers(self._cache.servers(), self._grant)


class Audiences:
    """Every audience's hub, and the operations that span them (limits, revocation, shutdown)."""

    def __init__(self, everyone: SnapshotHub) -> None:
        self.everyone = everyone
        self._restricted: dict[str, tuple[Grant, SnapshotHub]] = {}
        self._someone_listens = trio.Event()
        self._closed = False
        # Snapshots dropped in restricted hubs that are gone (telemetry keeps counting them).
        self._dropped_in_retired = 0

    @property
    def snapshots_dropped(self) -> int:
        """Snapshots any client of any audience lost to a newer one, since start."""
        return self._dropped_in_retired + sum(hub.snapshots_dropped for _grant, hub in self.hubs())

    def __len__(self) -> int:
        return sum(len(hub) for _grant, hub in self.hubs())

    @property
    def closed(self) -> bool:
        return self._closed or self.everyone.closed

    def hubs(self) -> list[tuple[Grant, SnapshotHub]]:
        """Every audience: the unrestricted one first, then those made for restricted grants."""
        return [(EVERYTHING, self.everyone), *self._restricted.values()]

    def check_room(self, user_id: int, client: str, limits: FeedLimits) -> None:
        """Raise TooManyFeeds when `user_id` or `client` holds its limit across all audiences."""
        held_by_user = held_by_client = 0
        for _grant, hub in self.hubs():
            for subscription in hub.subscriptions:
                held_by_user += subscription.user_id == user_id
                held_by_client += subscription.client == client
        if held_by_user >= limits.per_user:
            raise TooManyFeeds(f"this user already has {limits.per_user} live feeds open; close one first")
        if held_by_client >= limits.per_client:
            raise TooManyFeeds(f"this address already has {limits.per_client} live feeds open; close one first")

    def subscribe(
        self,
        grant: Grant,
        user_id: int,
        cache: LiveCache,
        max_age_seconds: float,
        *,
        client: str = "",
        protocol: Protocol = "v1",
        deflate: bool = False,
        token_version: int = -1,
    ) -> Subscription:
        """Subscribe a client to its grant's audience, first message included (a v1 snapshot, or
        the v2 stream's current snapshot). Raises HubClosed."""
        if self.closed:
            raise HubClosed("the daemon is shutting down")
        hub = self._hub_for(grant)
        visible = VisibleServers(cache, grant)
        initial: Pending = (
            hub.v2_message_for_new_client(visible)
            if protocol == "v2"
            else hub.snapshot_for_new_client(visible, max_age_seconds)
        )
        subscription = hub.subscribe(
            user_id, initial, client=client, protocol=protocol, deflate=deflate, token_version=token_version
        )
        self._someone_listens.set()
        return subscription

    def unsubscribe(self, grant: Grant, subscription: Subscription) -> None:
        """Remove the subscription from its audience; an emptied restricted audience goes."""
        hub = self._hub_for(grant) if grant.all or grant.key in self._restricted else None
        if hub is None:
            return
        hub.unsubscribe(subscription)
        if not grant.all and not len(hub):
            del self._restricted[grant.key]
            self._dropped_in_retired += hub.snapshots_dropped
        if not len(self):
            self._someone_listens = trio.Event()

    async def wait_for_subscribers(self) -> None:
        """Return once some audience has a client (at once if one has), also one subscribed to
        the unrestricted hub directly."""
        if len(self):
            await trio.lowlevel.checkpoint()
            return
        async with trio.open_nursery() as nursery:

            async def first(wait: Callable[[], Awaitable[object]]) -> None:
                await wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(first, self.everyone.wait_for_subscribers)
            nursery.start_soon(first, self._someone_listens.wait)

    def access_changed(self, user_id: int, grant: Grant) -> int:
        """Close the user's connections that are not in the audience of `grant`; how many."""
        closed = 0
        for held, hub in self.hubs():
            if held.key == grant.key:
                continue
            for subscription in hub.subscriptions:
                if subscription.user_id == user_id:
                    subscription.request_close(CLOSE_ACCESS_CHANGED, "your access changed; reconnect")
                    closed += 1
        return closed

    def revoke_user(
        self, user_id: int, reason: str = "the session was revoked", *, older_than: int | None = None
    ) -> int:
        """Close every connection of `user_id` with 4401, in every audience (only those opened with
        a token version below `older_than`, when given)."""
        return sum(hub.revoke_user(user_id, reason, older_than=older_than) for _grant, hub in self.hubs())

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "the daemon is shutting down") -> None:
        """Close every connection of every audience and refuse new ones (shutdown)."""
        self._closed = True
        for _grant, hub in self.hubs():
            hub.close_all(code, reason)

    def _hub_for(self, grant: Grant) -> SnapshotHub:
        if grant.all:
            return self.everyone
        entry = self._restricted.get(grant.key)
        if entry is None:
            entry = (grant, SnapshotHub(encode=self.everyone.encode))
            self._restricted[grant.key] = entry
        return entry[1]
