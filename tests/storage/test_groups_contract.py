"""The storage contract of tags, grants and status pages (issue 16), on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.models import Grant, Role, Tag
from monitord.storage import AlreadyExists
from monitord.storage.sqlite import open_sqlite_storage
from monitord.storage.transfer import TransferStorage, copy_database

T0 = 1_790_000_000_000


async def test_server_tags_replace_count_and_forget(storage: TransferStorage) -> None:
    one = await storage.create_server("one", "h1", now_ms=T0)
    two = await storage.create_server("two", "h2", now_ms=T0)
    await storage.set_server_tags(one.id, ["eu", "db"])
    await storage.set_server_tags(two.id, ["eu"])
    assert await storage.server_tags() == {one.id: ("db", "eu"), two.id: ("eu",)}
    assert await storage.list_tags() == [Tag(name="db", color="", count=1), Tag(name="eu", color="", count=2)]
    assert await storage.set_tag_color("eu", "#ff0000")
    assert not await storage.set_tag_color("nope", "#ff0000")
    # Replacing drops "db" (unused and uncoloured); "eu" keeps its colour while unused.
    await storage.set_server_tags(one.id, ["web"])
    await storage.set_server_tags(two.id, [])
    assert await storage.server_tags() == {one.id: ("web",)}
    assert await storage.list_tags() == [Tag(name="eu", color="#ff0000", count=0), Tag(name="web", color="", count=1)]
    # A deleted server takes its tags along; tagging a missing server tags nothing.
    await storage.delete_server(one.id)
    await storage.set_server_tags(one.id, ["ghost"])
    assert await storage.server_tags() == {}


async def test_grants_round_trip_and_all_clears(storage: TransferStorage) -> None:
    user = await storage.create_user("vera", "hash", Role.VIEWER, now_ms=T0)
    assert await storage.list_grants() == {}
    grant = Grant(all=False, tags=frozenset({"eu", "db"}), server_ids=frozenset({3, 1}))
    assert await storage.set_grant(user.id, grant)
    assert await storage.list_grants() == {user.id: grant}
    narrower = Grant(all=False, tags=frozenset(), server_ids=frozenset({7}))
    assert await storage.set_grant(user.id, narrower)
    assert await storage.list_grants() == {user.id: narrower}
    assert await storage.set_grant(user.id, Grant())
    assert await storage.list_grants() == {}
    assert not await storage.set_grant(user.id + 100, grant)
    assert not await storage.set_grant(user.id + 100, Grant())
    await storage.set_grant(user.id, grant)
    await storage.delete_user(user.id)
    assert await storage.list_grants() == {}


async def test_status_pages_crud(storage: TransferStorage) -> None:
    page = await storage.create_status_page("fleet", '{"title":"Fleet"}', "", now_ms=T0)
    assert (page.slug, page.config, page.password_hash, page.created_at_ms) == ("fleet", '{"title":"Fleet"}', "", T0)
    assert await storage.get_status_page(page.id) == page
    assert await storage.get_status_page_by_slug("fleet") == page
    assert await storage.get_status_page_by_slug("other") is None
    with pytest.raises(AlreadyExists):
        await storage.create_status_page("fleet", "{}", "", now_ms=T0)
    other = await storage.create_status_page("other", "{}", "", now_ms=T0)
    assert await storage.list_status_pages() == [page, other]
    updated = await storage.update_status_page(page.id, "fleet2", "{}", "pw")
    assert updated is not None and (updated.slug, updated.password_hash) == ("fleet2", "pw")
    with pytest.raises(AlreadyExists):
        await storage.update_status_page(page.id, "other", "{}", "")
    assert await storage.update_status_page(page.id + 100, "x", "{}", "") is None
    assert await storage.delete_status_page(page.id)
    assert not await storage.delete_status_page(page.id)
    assert await storage.list_status_pages() == [other]


async def test_db_copy_carries_tags_grants_and_status_pages(storage: TransferStorage, tmp_path: Path) -> None:
    user = await storage.create_user("vera", "hash", Role.VIEWER, now_ms=T0)
    server = await storage.create_server("one", "h1", now_ms=T0)
    await storage.set_server_tags(server.id, ["eu"])
    await storage.set_server_tags(server.id, ["eu", "db"])
    await storage.set_tag_color("eu", "#ff0000")
    await storage.set_grant(user.id, Grant(all=False, tags=frozenset({"eu"}), server_ids=frozenset({server.id})))
    gone = await storage.create_status_page("gone", "{}", "", now_ms=T0)
    page = await storage.create_status_page("fleet", '{"title":"Fleet"}', "pw-hash", now_ms=T0)
    await storage.delete_status_page(gone.id)
    async with open_sqlite_storage(tmp_path / "copy.db") as target:
        await copy_database(storage, target)
        assert await target.list_tags() == await storage.list_tags()
        assert await target.server_tags() == {server.id: ("db", "eu")}
        assert await target.list_grants() == await storage.list_grants()
        assert await target.list_status_pages() == [page]
        # The copy hands out no id the source already used.
        assert (await target.create_status_page("new", "{}", "", now_ms=T0)).id > page.id
