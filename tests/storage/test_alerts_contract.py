"""The alerting part of the storage contract (issue 15), on both backends."""

from __future__ import annotations

from monitord.storage.base import AlertEventRow, AlertTable
from monitord.storage.transfer import TransferStorage

T0 = 1_790_000_000_000


def event(at_ms: int, rule_id: int = 1, server_id: int = 1, kind: str = "transition") -> AlertEventRow:
    return AlertEventRow(
        time_ms=at_ms,
        kind=kind,
        rule_id=rule_id,
        server_id=server_id,
        from_phase="pending",
        to_phase="firing",
        level="critical",
        value=95.5,
    )


async def test_config_bodies_are_created_listed_updated_and_deleted(storage: TransferStorage) -> None:
    first = await storage.create_alert_config(AlertTable.RULES, '{"name":"a"}')
    second = await storage.create_alert_config(AlertTable.RULES, '{"name":"b"}')
    assert second > first
    assert await storage.list_alert_config(AlertTable.CHANNELS) == []
    assert await storage.update_alert_config(AlertTable.RULES, first, '{"name":"c"}')
    assert not await storage.update_alert_config(AlertTable.RULES, 999, "{}")
    assert await storage.list_alert_config(AlertTable.RULES) == [(first, '{"name":"c"}'), (second, '{"name":"b"}')]
    assert await storage.delete_alert_config(AlertTable.RULES, first)
    assert not await storage.delete_alert_config(AlertTable.RULES, first)
    assert await storage.list_alert_config(AlertTable.RULES) == [(second, '{"name":"b"}')]


async def test_states_events_and_deliveries_are_saved_together(storage: TransferStorage) -> None:
    await storage.save_alert_changes(
        [(1, 7, '{"phase":"firing"}'), (2, 7, '{"phase":"pending"}')],
        [event(T0), event(T0 + 1, rule_id=2)],
        [(5, T0, '{"kind":"firing"}')],
        now_ms=T0,
    )
    await storage.save_alert_changes([(2, 7, None), (1, 7, '{"phase":"resolving"}')], [], [], now_ms=T0)
    assert await storage.list_alert_states() == [(1, 7, '{"phase":"resolving"}')]
    assert await storage.alert_events(T0, T0 + 10) == [event(T0 + 1, rule_id=2), event(T0)]
    assert await storage.alert_events(T0, T0 + 10, rule_id=1) == [event(T0)]
    assert await storage.alert_events(T0, T0 + 10, server_id=8) == []
    assert await storage.alert_events(T0 + 1, T0 + 2) == [event(T0 + 1, rule_id=2)]

    assert await storage.next_alert_delivery_ms() == T0
    assert await storage.due_alert_deliveries(T0 - 1, 10) == []
    (due,) = await storage.due_alert_deliveries(T0, 10)
    assert (due.channel_id, due.attempts, due.payload) == (5, 0, '{"kind":"firing"}')
    attempt = event(T0 + 5, kind="delivery")
    await storage.finish_alert_delivery(
        due.id, status="pending", attempts=1, due_ms=T0 + 5000, error="500", event=attempt
    )
    assert await storage.due_alert_deliveries(T0 + 4999, 10) == []
    (retry,) = await storage.due_alert_deliveries(T0 + 5000, 10)
    assert retry.attempts == 1
    await storage.finish_alert_delivery(due.id, status="sent", attempts=2, due_ms=T0 + 5000, error="", event=attempt)
    assert await storage.next_alert_delivery_ms() is None
    assert len(await storage.alert_events(T0, T0 + 10, rule_id=1)) == 3


async def test_history_expires_by_age(storage: TransferStorage) -> None:
    await storage.save_alert_changes([], [event(T0), event(T0 + 10)], [(1, T0, "{}")], now_ms=T0)
    (due,) = await storage.due_alert_deliveries(T0, 10)
    await storage.finish_alert_delivery(due.id, status="failed", attempts=4, due_ms=T0, error="x", event=event(T0))
    assert await storage.expire_alert_history(T0 + 5, max_rows=100) == 3
    assert await storage.alert_events(0, T0 + 100) == [event(T0 + 10)]
    assert await storage.expire_alert_history(T0 + 5, max_rows=100) == 0


async def test_a_visibility_filter_reads_on_until_the_limit_is_full(storage: TransferStorage) -> None:
    # 7 events of server 1 at three equal times (paging must neither skip nor repeat ties), 2 of server 2
    hidden = [event(T0 + i // 3, server_id=1) for i in range(7)]
    await storage.save_alert_changes([], [event(T0, server_id=2), *hidden, event(T0 + 9, server_id=2)], [], now_ms=T0)
    only_two = (2).__eq__
    assert await storage.alert_events(T0, T0 + 10, limit=2, server_visible=only_two) == [
        event(T0 + 9, server_id=2),
        event(T0, server_id=2),
    ]
    assert await storage.alert_events(T0, T0 + 10, limit=1, server_visible=only_two) == [event(T0 + 9, server_id=2)]
    everything = await storage.alert_events(T0, T0 + 10, limit=100, server_visible=lambda _: True)
    assert len(everything) == 9
    assert await storage.alert_events(T0, T0 + 10, limit=2, server_visible=(1).__eq__) == hidden[-2:][::-1]


async def test_last_delivery_outcomes_are_each_channels_latest_finished_and_its_retries(
    storage: TransferStorage,
) -> None:
    from monitord.storage.base import AlertDeliveryOutcome

    await storage.save_alert_changes([], [], [(1, T0, "a"), (1, T0, "b"), (2, T0, "c"), (2, T0, "d")], now_ms=T0)
    first, second, third, fourth = await storage.due_alert_deliveries(T0, 10)
    await storage.finish_alert_delivery(
        first.id, status="failed", attempts=4, due_ms=T0 + 9, error="500", event=event(T0)
    )
    await storage.finish_alert_delivery(second.id, status="sent", attempts=1, due_ms=T0 + 5, error="", event=event(T0))
    await storage.finish_alert_delivery(third.id, status="sent", attempts=1, due_ms=T0 + 1, error="", event=event(T0))
    await storage.finish_alert_delivery(
        fourth.id, status="pending", attempts=1, due_ms=T0 + 5000, error="timeout", event=event(T0)
    )
    # a delivery never attempted yet says nothing about its channel
    await storage.save_alert_changes([], [], [(3, T0, "e")], now_ms=T0)
    outcomes = sorted(await storage.last_alert_delivery_outcomes(), key=lambda o: (o.channel_id, o.due_ms))
    assert outcomes == [
        AlertDeliveryOutcome(channel_id=1, status="failed", attempts=4, due_ms=T0 + 9, error="500"),
        AlertDeliveryOutcome(channel_id=2, status="sent", attempts=1, due_ms=T0 + 1, error=""),
        AlertDeliveryOutcome(channel_id=2, status="pending", attempts=1, due_ms=T0 + 5000, error="timeout"),
    ]
