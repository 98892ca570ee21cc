"""What replicas keep in memory beyond servers and users, re-read when another replica changes
it (issue 19 for the features of issues 15 and 16).

    control payload ("<table> <key>")      re-read                     then, as the local route does
    server_tags <server id>             →  the server tags           →  cache tags (snapshot, grants)
    user_grants <user id>               →  the grants                →  GrantBook; the user's live feeds
                                                                        of another visibility set: 4403
    status_pages <page id>              →  the page                  →  its public feeds close (1001)
    alert_channels|rules|silences <id>  →  the alert configuration   →  AlertService (rules, channels)
    alert_states <rule id> <server id>  →  the pair states           →  the cache's activeAlerts
                                                                        (on replicas that do not evaluate)

Each notification only marks what is stale; one task re-reads it, so a burst (tagging 500
servers, a rule firing on 500 servers) costs one read, not 500. After the listener's gap,
everything is stale.
"""

from __future__ import annotations

import logging
from typing import NoReturn

import trio

from monitord.alerts.service import AlertService
from monitord.cache import LiveCache
from monitord.groups import GrantBook
from monitord.push.audiences import Audiences
from monitord.statuspages.feeds import PublicPages
from monitord.storage import Storage, StorageError

log = logging.getLogger("monitord.replicas")

ALERT_CONFIG_TABLES = frozenset({"alert_channels", "alert_rules", "alert_silences"})
TABLES = frozenset({"server_tags", "user_grants", "status_pages", "alert_states", *ALERT_CONFIG_TABLES})
RETRY_SECONDS = 1.0


class SharedState:
    """Keeps tags, grants, status page feeds and alerts in step with the other replicas."""

    def __init__(
        self,
        storage: Storage,
        cache: LiveCache,
        grants: GrantBook,
        audiences: Audiences,
        pages: PublicPages,
        alerts: AlertService,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._grants = grants
        self._audiences = audiences
        self._pages = pages
        self._alerts = alerts
        self._tags = False
        self._grant_users: set[int] | None = set()  # None: every user's grant
        self._page_ids: set[int] = set()
        self._alert_config = False
        self._changed = trio.Event()

    def heard(self, table: str, key: str) -> bool:
        """Note a control notification; False when it is not about a table of this module or its
        key is malformed."""
        ids = key.split(" ")
        if (
            table not in TABLES
            or not all(part.isdigit() for part in ids)
            or len(ids) != (2 if table == "alert_states" else 1)
        ):
            return False
        if table == "server_tags":
            self._tags = True
        elif table == "user_grants":
            if self._grant_users is not None:
                self._grant_users.add(int(ids[0]))
        elif table == "status_pages":
            self._page_ids.add(int(ids[0]))
        elif table == "alert_states":
            self._alerts.states_changed_elsewhere()
            return True
        else:
            self._alert_config = True
        self._changed.set()
        return True

    def all_stale(self) -> None:
        """After a gap in hearing the others: re-read everything (page feeds reconnect)."""
        self._tags = self._alert_config = True
        self._grant_users = None
        self._page_ids.update(page_id for page_id, _hub in self._pages.watched())
        self._alerts.states_changed_elsewhere()
        self._changed.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Re-read what is stale whenever something is; runs until cancelled. A failed read is
        tried again (the database may be away; the follower resyncs after it anyway)."""
        task_status.started()
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            try:
                await self._refresh()
            except StorageError as exc:
                log.warning("could not re-read what another replica changed (retrying): %s", exc)
                self._changed.set()
                await trio.sleep(RETRY_SECONDS)

    async def _refresh(self) -> None:
        if self._tags:
            self._tags = False
            try:
                tags = await self._storage.server_tags()
            except StorageError:
                self._tags = True
                raise
            for view in self._cache.servers():
                stored = tuple(sorted(tags.get(view.id, ())))
                if view.tags != stored:  # a replace counts as a change of the snapshot
                    self._cache.set_tags(view.id, stored)
        if self._grant_users is None or self._grant_users:
            users, self._grant_users = self._grant_users, set()
            try:
                await self._refresh_grants(users)
            except StorageError:
                self._grant_users = None
                raise
        if self._page_ids:
            pages, self._page_ids = self._page_ids, set()
            try:
                for page_id in pages:
                    record = await self._storage.get_status_page(page_id)
                    self._pages.close_page(page_id, "the page changed" if record else "the page was deleted")
            except StorageError:
                self._page_ids |= pages
                raise
        if self._alert_config:
            self._alert_config = False
            try:
                await self._alerts.reload_config()
            except StorageError:
                self._alert_config = True
                raise

    async def _refresh_grants(self, user_ids: set[int] | None) -> None:
        """As `PUT /api/users/{id}/grant` does: the book holds the stored grant, and the user's
        live feeds in another audience close with 4403 (their clients reconnect to the new set)."""
        stored = await self._storage.list_grants()
        users = {user.id: user for user in await self._storage.list_users()}
        for user_id in users if user_ids is None else user_ids:
            grant = stored.get(user_id)
            if grant is None:
                self._grants.forget(user_id)
            else:
                self._grants.set(user_id, grant)
            user = users.get(user_id)
            if user is not None:
                self._audiences.access_changed(user_id, self._grants.for_user(user))
