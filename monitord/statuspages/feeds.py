"""The public push: one hub per status page, one encoding per page per tick, at its own pace.

Pages are pushed every `interval_seconds` (`push.status_page_interval_seconds`, at least 5 s by
default), independently of the private push, and only while the page has a client. Each page's
message is built from the allow-list types (public.py) and encoded once for all its clients;
the hubs are the private push's SnapshotHub, used as they are.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import NoReturn

import msgspec
import trio

from monitord.cache import LiveCache
from monitord.models import datetime_to_ms
from monitord.push.frames import OutgoingMessage
from monitord.push.hub import CLOSE_GOING_AWAY, HubClosed, SnapshotHub, Subscription, TooManyFeeds
from monitord.push.snapshot import Snapshot
from monitord.statuspages.public import PublicStatusPage, PublicStatusPush, build_public_page, section_members
from monitord.statuspages.settings import Field, PageSettings, decode_settings
from monitord.statuspages.uptime import UptimeBook
from monitord.storage import Storage, StorageError

log = logging.getLogger("monitord.statuspages")

ANONYMOUS = 0  # the user id every public subscription counts under
_encoder = msgspec.json.Encoder()


async def build_page(settings: PageSettings, cache: LiveCache, uptime: UptimeBook) -> tuple[PublicStatusPage, int]:
    """The public page and how many servers it shows. Raises StorageError (uptime)."""
    servers = cache.servers()
    now = datetime.now(UTC)
    bars = {}
    if Field.UPTIME in settings.fields:
        members = {view.id: view for section in section_members(settings, servers) for view in section}
        bars = await uptime.bars(
            {server_id: datetime_to_ms(view.created_at) for server_id, view in members.items()}, datetime_to_ms(now)
        )
    page = build_public_page(settings, servers, bars, now)
    return page, sum(len(section.servers) for section in page.sections)


def encode_push(page: PublicStatusPage, servers: int, cache_version: int) -> Snapshot:
    payload = _encoder.encode(PublicStatusPush(**msgspec.structs.asdict(page)))
    return Snapshot(
        message=OutgoingMessage(payload),
        servers=servers,
        cache_version=cache_version,
        built_at=trio.current_time(),
    )


class PublicPages:
    """The hubs of the pages someone watches, by page id."""

    def __init__(self) -> None:
        self._hubs: dict[int, SnapshotHub] = {}
        self._someone_listens = trio.Event()
        self._closed = False

    def __len__(self) -> int:
        return sum(len(hub) for hub in self._hubs.values())

    @property
    def closed(self) -> bool:
        return self._closed

    def watched(self) -> list[tuple[int, SnapshotHub]]:
        return [(page_id, hub) for page_id, hub in self._hubs.items() if len(hub)]

    def latest(self, page_id: int, max_age_seconds: float) -> Snapshot | None:
        """The page's last push when younger than `max_age_seconds` (a reconnect wave costs one build)."""
        hub = self._hubs.get(page_id)
        latest = hub.latest if hub is not None else None
        if latest is not None and trio.current_time() - latest.built_at < max_age_seconds:
            return latest
        return None

    def subscribe(self, page_id: int, initial: Snapshot, client: str, per_client: int) -> Subscription:
        """Raises HubClosed at shutdown, TooManyFeeds when the address holds `per_client` feeds."""
        if self._closed:
            raise HubClosed("the daemon is shutting down")
        held = sum(1 for hub in self._hubs.values() for s in hub.subscriptions if s.client == client)
        if held >= per_client:
            raise TooManyFeeds(f"this address already has {per_client} live feeds open; close one first")
        hub = self._hubs.setdefault(page_id, SnapshotHub())
        hub.latest = initial
        subscription = hub.subscribe(ANONYMOUS, initial, client=client)
        self._someone_listens.set()
        return subscription

    def unsubscribe(self, page_id: int, subscription: Subscription) -> None:
        hub = self._hubs.get(page_id)
        if hub is None:
            return
        hub.unsubscribe(subscription)
        if not len(hub):
            del self._hubs[page_id]
        if not len(self):
            self._someone_listens = trio.Event()

    def close_page(self, page_id: int, reason: str = "the page changed") -> None:
        """Close the page's connections with 1001, so clients reconnect and see it as it is now."""
        hub = self._hubs.get(page_id)
        if hub is not None:
            for subscription in hub.subscriptions:
                subscription.request_close(CLOSE_GOING_AWAY, reason)

    def close_all(self) -> None:
        self._closed = True
        for hub in self._hubs.values():
            hub.close_all()

    async def wait_for_subscribers(self) -> None:
        await self._someone_listens.wait()


async def push_status_pages(
    pages: PublicPages,
    storage: Storage,
    cache: LiveCache,
    uptime: UptimeBook,
    interval_seconds: float,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Every `interval_seconds` while someone watches, build and encode each watched page once
    and publish it to its clients. A page deleted meanwhile closes its clients. Runs until
    cancelled."""
    task_status.started()
    while True:
        await pages.wait_for_subscribers()
        await trio.sleep(interval_seconds)
        for page_id, hub in pages.watched():
            try:
                record = await storage.get_status_page(page_id)
                if record is None:
                    pages.close_page(page_id, "the page was deleted")
                    continue
                page, servers = await build_page(decode_settings(record.config), cache, uptime)
            except StorageError as exc:
                log.warning("could not build status page %d: %s", page_id, exc)
                continue
            hub.latest = encode_push(page, servers, cache.version)
            hub.publish(hub.latest)


class AddressRateLimiter:
    """A token bucket per client address for the public routes (no account to count against)."""

    MAX_TRACKED = 10_000

    def __init__(self, burst: int = 30, per_second: float = 5.0) -> None:
        self._burst = burst
        self._per_second = per_second
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> bool:
        now = trio.current_time()
        tokens, updated = self._buckets.pop(client, (float(self._burst), now))
        tokens = min(self._burst, tokens + (now - updated) * self._per_second)
        allowed = tokens >= 1
        self._buckets[client] = (tokens - 1 if allowed else tokens, now)
        while len(self._buckets) > self.MAX_TRACKED:
            self._buckets.popitem(last=False)
        return allowed
