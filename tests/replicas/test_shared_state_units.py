"""SharedState in one process on SQLite: what a notification marks is re-read once per burst,
and a page changed elsewhere closes its public feeds as the local route does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from cryptography.fernet import Fernet

from monitord.alerts.secrets import SecretBox
from monitord.alerts.service import AlertService
from monitord.cache import LiveCache
from monitord.groups import GrantBook
from monitord.models import now_ms
from monitord.push.audiences import Audiences
from monitord.push.frames import OutgoingMessage
from monitord.push.hub import SnapshotHub
from monitord.push.snapshot import Snapshot
from monitord.replicas.shared_state import SharedState
from monitord.statuspages.feeds import PublicPages
from monitord.storage import open_database


async def test_a_burst_is_read_once_and_a_page_deleted_elsewhere_closes_its_feeds(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    async with open_database(f"sqlite:///{tmp_path / 'monitord.db'}") as storage:
        servers = [await storage.create_server(f"web-{i}", "hash", now_ms=now_ms()) for i in range(3)]
        cache = LiveCache.load(await storage.list_servers(), {}, {})
        pages = PublicPages()
        alerts = AlertService(
            storage,
            cache,
            SecretBox(Fernet.generate_key()),
            offline_grace_seconds=1,
            max_window_seconds=60,
            history_days=1,
        )
        shared = SharedState(storage, cache, GrantBook(), Audiences(SnapshotHub()), pages, alerts)
        reads = 0
        server_tags = storage.server_tags

        async def counted() -> Any:
            nonlocal reads
            reads += 1
            return await server_tags()

        storage.server_tags = counted  # type: ignore[method-assign]
        await nursery.start(shared.run)

        # Another replica tagged every server: one notification each, one read for them all.
        for server in servers:
            await storage.set_server_tags(server.id, ["prod"])
        for server in servers:
            assert shared.heard("server_tags", str(server.id))
        with trio.fail_after(5):  # SQLite answers from a thread: wait for the cache itself
            while [view.tags for view in cache.servers()] != [("prod",)] * 3:
                await trio.sleep(0.01)
        assert reads == 1

        # Another replica deleted a page someone watches here: its feed closes (1001).
        page = await storage.create_status_page("fleet", "{}", "", now_ms=now_ms())
        initial = Snapshot(message=OutgoingMessage(b"{}"), servers=0, cache_version=0, built_at=trio.current_time())
        subscription = pages.subscribe(page.id, initial, "client", 5)
        assert await storage.delete_status_page(page.id)
        assert shared.heard("status_pages", str(page.id))
        with trio.fail_after(5):
            request = await subscription.closing()
        assert (request.code, request.reason) == (1001, "the page was deleted")

        # Not ours, or malformed: left to the follower (which logs the malformed ones).
        assert not shared.heard("servers", "1")
        assert not shared.heard("alert_states", "1")
        assert not shared.heard("user_grants", "x")
