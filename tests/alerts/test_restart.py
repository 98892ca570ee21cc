"""A restart neither loses a firing alert nor notifies it again (state persisted with the outbox)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import trio
import trio.testing

from monitord.alerts.model import Channel, Phase, Rule
from monitord.alerts.secrets import SecretBox
from monitord.alerts.service import AlertService
from monitord.storage.sqlite import open_sqlite_storage
from tests.alerts.helpers import fake_cache, report, rule_body, wall_ms


async def test_restart_keeps_firing_alerts_without_notifying_again(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    box = SecretBox.load_or_create(tmp_path)
    async with open_sqlite_storage(tmp_path / "m.db") as storage:

        def service() -> AlertService:
            return AlertService(
                storage, cache, box, offline_grace_seconds=0, max_window_seconds=3600, history_days=1, clock=wall_ms
            )

        cache = fake_cache(2)
        first = service()
        await first.load()
        channel = await first.create_channel(Channel(name="c", kind="webhook", url="http://127.0.0.1:9/x"))
        await first.create_rule(msgspec.convert({**rule_body(forSeconds=2), "channelIds": [channel.id]}, type=Rule))
        for _ in range(4):
            await trio.sleep(1)
            report(cache, 1, 95)
            await first.evaluate_once()
        assert first.engine.states[(1, 1)].phase == Phase.FIRING
        assert len(await storage.due_alert_deliveries(wall_ms(), 10)) == 1

        cache = fake_cache(2)  # the daemon starts again: a fresh cache
        second = service()
        await second.load()
        assert second.channels[channel.id].url == "http://127.0.0.1:9/x"
        assert [a.rule_name for a in cache.get(1).active_alerts] == ["cpu high"]  # type: ignore[union-attr]
        for _ in range(10):
            await trio.sleep(1)
            report(cache, 1, 95)
            await second.evaluate_once()
        assert second.engine.states[(1, 1)].phase == Phase.FIRING
        assert len(await storage.due_alert_deliveries(wall_ms(), 10)) == 1  # still only the first message


async def test_history_older_than_the_retention_is_expired_hourly(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    from monitord.storage.base import AlertEventRow

    def event(at_ms: int) -> AlertEventRow:
        return AlertEventRow(
            time_ms=at_ms, kind="transition", rule_id=1, server_id=1, from_phase="ok", to_phase="pending",
            level=None, value=None,
        )  # fmt: skip

    day_ms = 86_400_000
    async with open_sqlite_storage(tmp_path / "m.db") as storage:
        service = AlertService(
            storage, fake_cache(1), SecretBox.load_or_create(tmp_path), offline_grace_seconds=0,
            max_window_seconds=3600, history_days=1, clock=wall_ms,
        )  # fmt: skip
        await service.load()
        await storage.save_alert_changes([], [event(wall_ms() - 2 * day_ms), event(wall_ms())], [], now_ms=wall_ms())
        # The evaluator ends before its storage closes, as in the daemon.
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run_evaluator)
            await trio.sleep(3601)
            assert [e.time_ms for e in await storage.alert_events(0, wall_ms())] == [wall_ms() - 3601_000]
            nursery.cancel_scope.cancel()


async def test_a_failing_channel_still_shows_as_failing_after_a_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    from monitord.alerts.delivery import ChannelHealth
    from monitord.storage.base import AlertDeliveryOutcome

    async with open_sqlite_storage(tmp_path / "m.db") as storage:
        first = AlertService(
            storage, fake_cache(1), SecretBox.load_or_create(tmp_path), offline_grace_seconds=0,
            max_window_seconds=3600, history_days=1, clock=wall_ms,
        )  # fmt: skip
        await first.load()
        assert first.health.last_error == {}
        await storage.save_alert_changes([], [], [(7, wall_ms(), "{}")], now_ms=wall_ms())
        (due,) = await storage.due_alert_deliveries(wall_ms(), 10)
        await storage.finish_alert_delivery(
            due.id, status="failed", attempts=4, due_ms=wall_ms(), error="HTTP 500", event=await _any_event()
        )
        second = AlertService(
            storage, fake_cache(1), SecretBox.load_or_create(tmp_path), offline_grace_seconds=0,
            max_window_seconds=3600, history_days=1, clock=wall_ms,
        )  # fmt: skip
        await second.load()
        assert second.health.last_error == {7: "HTTP 500"}

    # Whichever attempt came last decides: a retry waiting 30 s was attempted at due - 30 s.
    health = ChannelHealth()
    health.restore(
        [
            AlertDeliveryOutcome(channel_id=1, status="sent", attempts=1, due_ms=1_000, error=""),
            AlertDeliveryOutcome(channel_id=1, status="pending", attempts=2, due_ms=31_500, error="timeout"),
            AlertDeliveryOutcome(channel_id=2, status="failed", attempts=4, due_ms=1_000, error="HTTP 500"),
            AlertDeliveryOutcome(channel_id=2, status="pending", attempts=1, due_ms=7_500, error="refused"),
            AlertDeliveryOutcome(channel_id=2, status="sent", attempts=1, due_ms=2_000, error=""),
            AlertDeliveryOutcome(channel_id=3, status="sent", attempts=2, due_ms=9_000, error=""),
            AlertDeliveryOutcome(channel_id=3, status="pending", attempts=1, due_ms=8_000, error="refused"),
        ]
    )
    assert health.last_error == {1: "timeout", 2: "refused"}


async def _any_event() -> object:
    from monitord.storage.base import AlertEventRow

    return AlertEventRow(
        time_ms=wall_ms(), kind="delivery", rule_id=1, server_id=0, from_phase="firing", to_phase="failed",
        level=None, value=None,
    )  # fmt: skip
