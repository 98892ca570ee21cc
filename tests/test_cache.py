"""The live cache's wire views."""

from __future__ import annotations

from monitord.cache import LiveCache
from monitord.models import HostFacts, ServerRecord
from monitord.wire import ServerStatus, ServerWithDetails


def test_every_host_fact_is_a_field_of_the_wire_view() -> None:
    # The cache copies facts into views by name.
    assert set(HostFacts.__struct_fields__) <= set(ServerWithDetails.__struct_fields__)


def test_facts_land_in_the_view_and_servers_stay_ordered_by_id() -> None:
    cache = LiveCache()
    for server_id in (5, 2):
        cache.add(
            ServerRecord(
                id=server_id,
                name=f"s{server_id}",
                agent_token_hash="h",
                facts=HostFacts(),
                last_seen_ms=None,
                created_at_ms=0,
            )
        )
    facts = HostFacts(hostname="db", os_type="Linux", cpu_cores=8, ip_address="10.0.0.2")
    view = cache.set_facts(5, facts)
    assert view is not None
    assert (view.hostname, view.os_type, view.cpu_cores, view.ip_address) == ("db", "Linux", 8, "10.0.0.2")
    assert view.status is ServerStatus.PENDING
    assert [server.id for server in cache.servers()] == [2, 5]
