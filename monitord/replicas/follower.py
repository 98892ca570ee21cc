"""The one task per replica that listens to the others (issue 19).

    follow_replicas ── listen (dedicated connection: LISTEN monitord_live, monitord_control)
                    ├─ reload the cache from the tables (the start-up path) ── apply what queued
                    ├─ live payload    → cache.apply_sample (newest by time wins) + presence "seen"
                    ├─ control payload → servers: registry.refresh (cache, agent calls);
                    │                    users: live feeds of older token versions closed;
                    │                    tags, grants, status pages, alerts: SharedState
                    ├─ heartbeat every HEARTBEAT_SECONDS under the storage deadline; it also
                    │  tries the maintenance lock until this replica holds it
                    └─ on any loss: degraded, no remote server marked offline, reconnect with backoff

Notifications sent while the listener is down are gone for good, hence LISTEN first, then the
reload, then what queued meanwhile: overlaps do no harm, since older samples never replace newer.
"""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import NoReturn

import msgspec
import trio

from monitord.cache import LiveCache
from monitord.ingest.presence import AgentPresence
from monitord.models import MetricsSample, ServerRecord, User, datetime_to_ms, now_ms
from monitord.replicas.live import decode_live, samples_of
from monitord.replicas.shared_state import SharedState
from monitord.servers import ServerRegistry
from monitord.storage import Storage, StorageError
from monitord.storage.replication import Listener, Notification, ReplicaLink

log = logging.getLogger("monitord.replicas")

HEARTBEAT_SECONDS = 5.0
# After each (re)connect a probe is sent through the pool: it must reach the listener within
# this, or notifications do not flow (PgBouncer in transaction mode, most likely).
PROBE_SECONDS = 5.0
# Notifications waiting for this task; beyond it the listener drops them and asks for a resync.
BUFFER_NOTIFICATIONS = 10_000
FIRST_RETRY_SECONDS = 0.1
# The advisory lock whose holder runs history maintenance and alert evaluation ("mainten").
MAINTENANCE_LOCK_KEY = 0x6D61696E74656E


def maintenance_lock_key(link: ReplicaLink) -> int:
    """The maintenance lock of this installation. Advisory locks are per database, and several
    installations may share one in schemas of their own: each schema gets its own key (the
    `public` schema keeps the plain one), else one installation's replica would hold the lock
    and another installation would never run maintenance nor evaluate alerts."""
    _channel, _, schema = link.control_channel.partition("monitord_control_")
    return MAINTENANCE_LOCK_KEY ^ (zlib.crc32(schema.encode()) << 8) if schema else MAINTENANCE_LOCK_KEY


class ReplicaState:
    """What /api/health and the maintenance task need to know of the listener."""

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self.listening = False
        self.reason = "not connected yet"
        self.holds_maintenance = False
        self.resyncs = 0


async def follow_replicas(
    link: ReplicaLink,
    storage: Storage,
    cache: LiveCache,
    presence: AgentPresence,
    servers: ServerRegistry,
    revoke_user: Callable[..., int],
    state: ReplicaState,
    *,
    offline_after_seconds: float,
    retry_max_seconds: float,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    probe_seconds: float = PROBE_SECONDS,
    shared: SharedState | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Keep `cache` (and agent calls, live feeds; tags, grants, status pages and alerts through
    `shared`) in step with the other replicas until cancelled. Reports started after the first
    attempt to listen, whether it worked or not: a daemon that cannot listen yet still serves,
    degraded, from its start-up load."""
    started = False
    follower = _Follower(link, storage, cache, presence, servers, revoke_user, state, offline_after_seconds, shared)
    failures = 0
    while True:
        try:
            async with link.listen(BUFFER_NOTIFICATIONS, f"monitord-replica-{state.replica}") as listener:
                await follower.resync(listener)
                failures = 0
                state.listening, state.reason = True, ""
                presence.hold_remote = False
                log.info("listening to the other replicas (replica id %s)", state.replica)
                if not started:
                    started = True
                    task_status.started()
                await follower.follow(listener, heartbeat_seconds, probe_seconds)
        except StorageError as exc:
            reason = str(exc)
        else:
            reason = "the listener connection ended"
        was_listening = state.listening
        state.listening, state.reason, state.holds_maintenance = False, reason, False
        presence.hold_remote = True
        # The backoff of failed writes (database.retry_max_seconds), with jitter.
        delay = random.uniform(0.5, 1.0) * min(retry_max_seconds, FIRST_RETRY_SECONDS * 2 ** min(failures, 30))
        failures += 1
        (log.warning if was_listening or failures == 1 else log.debug)(
            "not hearing the other replicas (%s); degraded, no server they feed is marked offline; "
            "reconnecting in %.1f s",
            reason,
            delay,
        )
        if not started:
            started = True
            task_status.started()
        await trio.sleep(delay)


class _Follower:
    def __init__(
        self,
        link: ReplicaLink,
        storage: Storage,
        cache: LiveCache,
        presence: AgentPresence,
        servers: ServerRegistry,
        revoke_user: Callable[..., int],
        state: ReplicaState,
        offline_after_seconds: float,
        shared: SharedState | None,
    ) -> None:
        self._offline_after_ms = offline_after_seconds * 1000
        self._link = link
        self._storage = storage
        self._cache = cache
        self._presence = presence
        self._servers = servers
        self._revoke_user = revoke_user
        self._state = state
        self._shared = shared
        self._user_versions: dict[int, int] = {}
        self._probe_heard = trio.Event()

    async def resync(self, listener: Listener) -> None:
        """Reload servers, latest samples and users from the tables (LISTEN is already on)."""
        listener.overflowed = False
        records: list[ServerRecord] = await self._storage.list_servers()
        latest: dict[int, MetricsSample] = await self._storage.latest_samples()
        users: list[User] = await self._storage.list_users()
        known = {record.id for record in records}
        for view in self._cache.servers():
            if view.id not in known:
                self._servers.apply(view.id, None)  # deleted meanwhile: goes, and its call ends
        for record in records:
            self._servers.apply(record.id, record)
            sample = latest.get(record.id)
            if sample is not None:
                self._heard(record.id, sample)
        for user in users:
            self._user_changed(user.id, user)
        for user_id in set(self._user_versions) - {user.id for user in users}:
            self._user_changed(user_id, None)
        if self._shared is not None:
            self._shared.all_stale()
        self._state.resyncs += 1

    async def follow(self, listener: Listener, heartbeat_seconds: float, probe_seconds: float) -> None:
        """Apply notifications and beat the heart until the listener is lost; raises
        StorageError with the reason (a failed heartbeat, re-read or resync)."""
        failure: StorageError | None = None

        async def until_failure(work: Callable[[], Awaitable[None]]) -> None:
            nonlocal failure
            try:
                await work()
            except StorageError as exc:
                failure = failure or exc
                listener.lost.set()  # what it missed is read again after the reconnect

        async with trio.open_nursery() as nursery:
            nursery.start_soon(until_failure, partial(self._heartbeat, listener, heartbeat_seconds))
            nursery.start_soon(until_failure, partial(self._consume, listener))
            nursery.start_soon(until_failure, partial(self._probe, probe_seconds))
            await listener.lost.wait()
            nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _probe(self, probe_seconds: float) -> None:
        """Send ourselves a notification through the pool: proof that LISTEN works. Behind
        PgBouncer in transaction (or statement) mode it never arrives: say so, stay degraded."""
        self._probe_heard = trio.Event()
        await self._link.notify(self._link.control_channel, f"probe {self._state.replica}")
        with trio.move_on_after(probe_seconds):
            await self._probe_heard.wait()
            return
        self._state.listening = False
        self._state.reason = (
            f"a test notification did not come back within {probe_seconds:g} s: LISTEN does not work on this "
            "connection (PgBouncer in transaction or statement mode? connect replicas to PostgreSQL directly "
            "or through session pooling)"
        )
        log.error("not hearing the other replicas: %s", self._state.reason)
        await self._probe_heard.wait()
        self._state.listening, self._state.reason = True, ""
        log.info("notifications arrive after all: hearing the other replicas")

    async def _heartbeat(self, listener: Listener, heartbeat_seconds: float) -> None:
        while True:
            if not self._state.holds_maintenance and await listener.try_lock(maintenance_lock_key(self._link)):
                self._state.holds_maintenance = True
                log.info("this replica runs history maintenance now")
            else:
                await listener.heartbeat()
            await trio.sleep(heartbeat_seconds)

    async def _consume(self, listener: Listener) -> None:
        async for notification in listener.notifications:
            if listener.overflowed:
                log.warning("more notifications than this replica could take: resyncing from the database")
                await self.resync(listener)
            await self._apply(notification)

    async def _apply(self, notification: Notification) -> None:
        if notification.channel == self._link.live_channel:
            try:
                payload = decode_live(notification.payload)
                if payload.replica == self._state.replica:
                    return  # our own batch: already in the cache
                for server_id, sample in samples_of(payload):
                    self._heard(server_id, sample)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
                log.warning("ignored a malformed live notification: %s", exc)
            return
        table, _, row_id = notification.payload.partition(" ")
        if table == "probe":
            if row_id == self._state.replica:
                self._probe_heard.set()
        elif self._shared is not None and self._shared.heard(table, row_id):
            pass  # re-read by its own task
        elif not row_id.isdigit():
            log.warning("ignored a malformed control notification: %.80r", notification.payload)
        elif table == "servers":
            await self._servers.refresh(int(row_id))
        elif table == "users":
            self._user_changed(int(row_id), await self._storage.get_user(int(row_id)))
        # Other tables (later features) are ignored until a handler is added here.

    def _heard(self, server_id: int, sample: MetricsSample) -> None:
        """A sample another replica stored counts as this server being seen, unless it is old."""
        view = self._cache.get(server_id)
        if view is None or (view.latest_metrics is not None and view.latest_metrics.time >= sample.time):
            return
        if view.last_seen_at is not None and sample.time <= view.last_seen_at:
            return
        if now_ms() - datetime_to_ms(sample.time) > self._offline_after_ms:
            self._cache.apply_stored_sample(server_id, sample)  # newer, yet no sign of life
            return
        self._cache.apply_sample(server_id, sample)
        self._presence.reported(server_id, remote=True)

    def _user_changed(self, user_id: int, user: User | None) -> None:
        if user is None:
            self._user_versions.pop(user_id, None)
            self._revoke_user(user_id, "the user was deleted")
            return
        self._user_versions[user_id] = user.token_version
        self._revoke_user(user_id, "the session was revoked", older_than=user.token_version)
