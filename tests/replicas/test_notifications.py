"""The storage side of replicas on a real PostgreSQL: what is notified, when, and on which channel."""

from __future__ import annotations

import trio

from monitord.models import Grant, HostFacts, Role
from monitord.storage import open_database
from monitord.storage.base import AlertTable
from monitord.storage.replication import Listener, Notification
from tests.storage.test_contract import T0, sample


async def _drain(listener: Listener, wait: float = 0.3) -> list[Notification]:
    received = []
    with trio.move_on_after(wait):
        while True:
            received.append(await listener.notifications.receive())
    return received


async def test_admin_changes_notify_in_their_transaction_and_samples_only_when_asked(postgres_url: str) -> None:
    async with open_database(postgres_url) as storage:
        link = storage.replication()
        assert link is not None
        # The test's schema is not `public`: its channels carry its name.
        assert link.control_channel.startswith("monitord_control_t_")
        async with link.listen(100, "test-listener") as listener:
            server = await storage.create_server("web-1", "hash", now_ms=T0)
            await storage.rename_server(server.id, "web-01")
            await storage.set_agent_token_hash(server.id, "hash2")
            facts = HostFacts(hostname="web-01", cpu_cores=4)
            await storage.update_host_facts(server.id, facts)
            await storage.update_host_facts(server.id, facts)  # the same again: nothing to tell
            await storage.insert_samples([(server.id, sample(T0))])  # last-seen moves: not a control change
            user = await storage.create_user("vera", "h", Role.VIEWER, now_ms=T0)
            await storage.set_role(user.id, Role.ADMIN)
            await storage.delete_server(server.id)
            control = [n.payload for n in await _drain(listener)]
            assert control == [f"servers {server.id}"] * 4 + [f"users {user.id}"] * 2 + [f"servers {server.id}"]
            assert {n.channel for n in await _drain(listener, 0)} <= {link.control_channel}

            other = await storage.create_server("db-1", "hash", now_ms=T0)
            await _drain(listener)
            assert await storage.insert_samples([(other.id, sample(T0))], notify=["a", "b"]) == 1
            live = await _drain(listener)
            assert [(n.channel, n.payload) for n in live] == [(link.live_channel, "a"), (link.live_channel, "b")]
            await listener.heartbeat()
            assert await listener.try_lock(42)


async def test_the_jwt_key_is_shared_by_the_first_to_propose_it(postgres_url: str) -> None:
    async with open_database(postgres_url) as first, open_database(postgres_url) as second:
        assert await first.shared_secret("jwt_key", b"key-of-a") == b"key-of-a"
        assert await second.shared_secret("jwt_key", b"key-of-b") == b"key-of-a"


async def test_tags_grants_pages_and_alerts_notify_their_keys(postgres_url: str) -> None:
    """Migration 6: each table another replica keeps in memory notifies "<table> <key>"; an
    update that changes nothing notifies nothing."""
    async with open_database(postgres_url) as storage:
        link = storage.replication()
        assert link is not None
        server = await storage.create_server("web-1", "hash", now_ms=T0)
        user = await storage.create_user("vera", "h", Role.VIEWER, now_ms=T0)
        async with link.listen(100, "test-listener") as listener:
            await storage.set_server_tags(server.id, ["prod", "eu"])
            await storage.set_grant(user.id, Grant(all=False, tags=frozenset({"prod"})))
            await storage.set_grant(user.id, Grant(all=False, tags=frozenset({"prod"})))  # the same: nothing
            page = await storage.create_status_page("fleet", "{}", "", now_ms=T0)
            await storage.delete_status_page(page.id)
            rule_id = await storage.create_alert_config(AlertTable.RULES, "{}")
            channel_id = await storage.create_alert_config(AlertTable.CHANNELS, "{}")
            silence_id = await storage.create_alert_config(AlertTable.SILENCES, "{}")
            await storage.save_alert_changes([(rule_id, server.id, "{}")], [], [], now_ms=T0)
            await storage.save_alert_changes([(rule_id, server.id, None)], [], [], now_ms=T0)
            control = [n.payload for n in await _drain(listener)]
        # Identical payloads of one transaction are merged by PostgreSQL: one per tagging.
        assert control == [
            f"server_tags {server.id}",
            f"user_grants {user.id}",
            f"status_pages {page.id}",
            f"status_pages {page.id}",
            f"alert_rules {rule_id}",
            f"alert_channels {channel_id}",
            f"alert_silences {silence_id}",
            f"alert_states {rule_id} {server.id}",
            f"alert_states {rule_id} {server.id}",
        ]
