"""The engine's state machine, under trio's mock clock: one test per behaviour of issue 15."""

from __future__ import annotations

import itertools
from datetime import timedelta

import trio
import trio.testing

from monitord.alerts.engine import AlertEngine, Changes
from monitord.alerts.model import Level, Phase, Rule, Silence
from monitord.cache import LiveCache
from monitord.models import ms_to_datetime
from tests.alerts.helpers import as_rule, fake_cache, go_offline, report, wall_ms


class Harness:
    """An engine over a fake cache, stepped one second at a time; collects what it sends."""

    def __init__(self, servers: int = 1, *rules: object, grace: float = 0.0) -> None:
        self.cache: LiveCache = fake_cache(servers)
        self.engine = AlertEngine(wall_ms, offline_grace_seconds=grace)
        self.engine.set_rules([r for r in rules if isinstance(r, Rule)])
        self.sent: list[tuple[str, list[tuple[int, str, str | None]]]] = []
        self.changes: list[Changes] = []

    async def tick(self, seconds: int = 1, cpu: dict[int, float] | None = None) -> None:
        for _ in range(seconds):
            await trio.sleep(1)
            for server_id, value in (cpu or {}).items():
                report(self.cache, server_id, value)
            changes = self.engine.evaluate(self.cache.servers())
            self.changes.append(changes)
            for _channels, note in changes.notifications:
                self.sent.append((note.kind, [(a.server_id, a.status, a.level) for a in note.alerts]))

    def phase(self, rule_id: int = 1, server_id: int = 1) -> Phase:
        state = self.engine.states.get((rule_id, server_id))
        return Phase.OK if state is None else state.phase


async def test_fires_only_after_for_seconds_and_resolves_after_clear_for(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(1, as_rule(forSeconds=5, clearForSeconds=3, channelIds=[]))
    await h.tick(1, {1: 95})
    assert h.phase() == Phase.PENDING
    await h.tick(4, {1: 95})
    assert h.phase() == Phase.PENDING and h.sent == []
    await h.tick(1, {1: 95})
    assert h.phase() == Phase.FIRING
    assert h.sent == [("firing", [(1, "firing", Level.CRITICAL)])]
    await h.tick(1, {1: 10})
    assert h.phase() == Phase.RESOLVING
    await h.tick(2, {1: 10})
    assert h.phase() == Phase.RESOLVING
    await h.tick(1, {1: 10})
    assert h.phase() == Phase.OK
    assert h.sent[1:] == [("resolved", [(1, "resolved", None)])]


async def test_a_short_spike_never_fires(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(1, as_rule(forSeconds=5))
    await h.tick(3, {1: 95})
    await h.tick(1, {1: 10})
    await h.tick(10, {1: 10})
    assert h.phase() == Phase.OK and h.sent == []
    assert [e.to_phase for c in h.changes for e in c.events] == ["pending", "ok"]


async def test_hysteresis_a_value_hovering_at_the_threshold_does_not_flap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(1, as_rule(clear=80, clearForSeconds=2))
    await h.tick(1, {1: 95})
    assert h.phase() == Phase.FIRING
    for value in (89, 91, 88, 90.5, 85, 92) * 3:  # around 90, never below 80
        await h.tick(1, {1: value})
        assert h.phase() == Phase.FIRING
    await h.tick(1, {1: 79})
    await h.tick(1, {1: 85})  # back above clear: resolving starts over
    assert h.phase() == Phase.FIRING
    await h.tick(3, {1: 70})
    assert h.phase() == Phase.OK
    assert [kind for kind, _ in h.sent] == ["firing", "resolved"]


async def test_warning_escalates_to_critical_without_resolving(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(1, as_rule(warning=70, critical=90))
    await h.tick(1, {1: 75})
    await h.tick(1, {1: 95})
    assert h.phase() == Phase.FIRING
    assert h.sent == [("firing", [(1, "firing", Level.WARNING)]), ("firing", [(1, "firing", Level.CRITICAL)])]
    assert "resolving" not in [e.to_phase for c in h.changes for e in c.events]


async def test_reminders_repeat_with_doubling_up_to_the_maximum(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(1, as_rule(repeatSeconds=10, repeatMaxSeconds=40))
    times: list[int] = []
    for _ in range(160):
        before = len(h.sent)
        await h.tick(1, {1: 95})
        if len(h.sent) > before:
            times.append(int(trio.current_time()))
    # fired at 1, then reminders 10, 20, 40, 40, ... seconds apart
    assert [b - a for a, b in itertools.pairwise(times)] == [10, 20, 40, 40, 40]
    assert [kind for kind, _ in h.sent] == ["firing"] + ["reminder"] * 5


async def test_repeat_zero_notifies_once(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(1, as_rule(repeatSeconds=0))
    await h.tick(600, {1: 95})
    assert [kind for kind, _ in h.sent] == ["firing"]


async def test_missing_data_never_resolves(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(1, as_rule(windowSeconds=20, aggregate="avg"))
    await h.tick(1, {1: 95})
    assert h.phase() == Phase.FIRING
    go_offline(h.cache, 1)
    await h.tick(600)
    assert h.phase() == Phase.FIRING and len(h.sent) == 1


async def test_window_aggregates_avg_and_all(autojump_clock: trio.testing.MockClock) -> None:
    avg = as_rule(1, windowSeconds=20, aggregate="avg")
    every = as_rule(2, windowSeconds=20, aggregate="all")
    h = Harness(1, avg, every)
    await h.tick(30, {1: 95})
    assert h.phase(1) == h.phase(2) == Phase.FIRING
    await h.tick(1, {1: 50})  # the average stays above 90; "all" sees one sample below
    assert h.phase(1) == Phase.FIRING
    assert h.phase(2) == Phase.OK
    h2 = Harness(1, as_rule(2, windowSeconds=20, aggregate="all"))
    for _ in range(10):
        await h2.tick(1, {1: 95})
        await h2.tick(1, {1: 50})
    assert h2.phase(2) == Phase.OK


async def test_silence_suppresses_and_sends_one_summary_when_it_ends(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(2, as_rule())
    start = ms_to_datetime(wall_ms())
    h.engine.silences = [Silence(id=1, server_ids=None, starts_at=start, ends_at=start + timedelta(seconds=60))]
    await h.tick(5, {1: 95, 2: 95})
    await h.tick(5, {1: 10, 2: 95})  # server 1 recovers inside the silence
    assert h.sent == []
    suppressed = [e for c in h.changes for e in c.events if e.suppressed]
    assert {(e.server_id, e.to_phase) for e in suppressed} == {(1, "firing"), (2, "firing"), (1, "ok")}
    await h.tick(60, {1: 10, 2: 95})
    assert h.sent == [("summary", [(1, "resolved", None), (2, "firing", Level.CRITICAL)])]
    await h.tick(5, {1: 10, 2: 10})
    assert h.sent[-1] == ("resolved", [(2, "resolved", None)])  # the firing was in the summary


async def test_daily_silence_recurs(autojump_clock: trio.testing.MockClock) -> None:
    start = ms_to_datetime(wall_ms())
    silence = Silence(
        id=1, starts_at=start, ends_at=start + timedelta(hours=1), recurrence="daily", time_zone="Asia/Shanghai"
    )
    assert silence.active_at(start + timedelta(minutes=30))
    assert not silence.active_at(start + timedelta(hours=2))
    assert silence.active_at(start + timedelta(days=3, minutes=59))
    assert not silence.active_at(start - timedelta(minutes=1))


async def test_five_servers_firing_within_30_s_go_out_as_one_message(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(8, as_rule())
    await h.tick(1, {1: 95})
    await h.tick(1, {1: 95, 2: 95, 3: 95, 4: 95})
    await h.tick(1, {s: 95 for s in range(1, 9)})
    # the first four one by one, the others held and sent together when the 30 s are over
    assert [servers[0][0] for _, servers in h.sent] == [1, 2, 3, 4]
    await h.tick(27, {s: 95 for s in range(1, 9)})
    assert len(h.sent) == 4
    await h.tick(1, {s: 95 for s in range(1, 9)})
    assert h.sent[4] == ("firing", [(s, "firing", Level.CRITICAL) for s in range(5, 9)])
    h2 = Harness(6, as_rule())
    await h2.tick(1, {s: 95 for s in range(1, 7)})
    assert len(h2.sent) == 1 and len(h2.sent[0][1]) == 6


async def test_offline_rule_waits_for_grace_after_start_then_for_seconds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(2, as_rule(kind="offline", metric="", critical=None, forSeconds=10), grace=15)
    go_offline(h.cache, 1)  # offline at start, e.g. not reconnected yet after a daemon restart
    go_offline(h.cache, 2)
    await h.tick(10)
    report(h.cache, 2, 5)  # reconnects within the grace: never alerted
    await h.tick(4)
    assert h.phase(1, 1) == Phase.OK and h.sent == []
    await h.tick(1)  # the grace is over at 15 s
    assert h.phase(1, 1) == Phase.PENDING
    await h.tick(9)
    assert h.sent == []
    await h.tick(1)
    assert h.phase(1, 2) == Phase.OK
    assert h.sent == [("firing", [(1, "firing", Level.CRITICAL)])]
    report(h.cache, 1, 5)
    await h.tick(1)
    assert h.sent[-1] == ("resolved", [(1, "resolved", None)])


async def test_a_five_minute_average_fires_when_the_average_crosses(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(3, as_rule(windowSeconds=300, aggregate="avg"))
    await h.tick(150, {1: 80, 2: 80, 3: 80})
    await h.tick(60, {1: 100, 2: 100, 3: 80})  # 2.5 min at 80, then 1 min at 100: average 85.7
    assert h.sent == []
    await h.tick(240, {1: 100, 2: 100, 3: 80})  # the 80s leave the window: the average passes 90
    fired = [server for kind, items in h.sent for server, *_ in items if kind == "firing"]
    assert sorted(fired) == [1, 2]
    # a window's buckets are 15 s wide, and each server is looked at once per bucket width
    firing_events = [e.time_ms for c in h.changes for e in c.events if e.to_phase == "firing"]
    assert len(firing_events) == 2


async def test_a_deleted_server_is_forgotten(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(2, as_rule())
    await h.tick(1, {1: 95, 2: 95})
    assert h.phase(1, 1) == h.phase(1, 2) == Phase.FIRING
    changes = h.engine.forget_servers_except({1})
    assert changes.states == {(1, 2): None}
    assert h.phase(1, 2) == Phase.OK and h.phase(1, 1) == Phase.FIRING


async def test_tag_scope_covers_tagged_or_listed_servers_minus_excluded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(5, as_rule(serverIds=[1], tags=["db"], excludeServerIds=[3]))
    h.cache.set_tags(2, ("db", "eu"))
    h.cache.set_tags(3, ("db",))
    h.cache.set_tags(4, ("web",))
    await h.tick(1, {server: 95 for server in range(1, 6)})
    assert [s for s in range(1, 6) if h.phase(1, s) == Phase.FIRING] == [1, 2]
    # the tag is taken off: that server's alert ends (without a recovery message: it left the scope)
    h.cache.set_tags(2, ("eu",))
    await h.tick(1, {server: 95 for server in range(1, 6)})
    assert [s for s in range(1, 6) if h.phase(1, s) == Phase.FIRING] == [1]
    assert h.changes[-1].states == {(1, 2): None}


async def test_no_ids_and_no_tags_is_every_server(autojump_clock: trio.testing.MockClock) -> None:
    h = Harness(3, as_rule(excludeServerIds=[2]))
    await h.tick(1, {1: 95, 2: 95, 3: 95})
    assert [s for s in range(1, 4) if h.phase(1, s) == Phase.FIRING] == [1, 3]


async def test_for_seconds_counts_from_the_samples_time_at_most_one_interval_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from tests.alerts.helpers import metrics

    h = Harness(2, as_rule(forSeconds=5))
    await trio.sleep(1)
    h.cache.apply_sample(1, metrics(95, at_ms=wall_ms() - 800))  # taken 0.8 s before it is seen
    h.cache.apply_sample(2, metrics(95, at_ms=wall_ms() - 60_000))  # a clock far behind
    h.engine.evaluate(h.cache.servers())
    assert h.engine.states[(1, 1)].since_ms == wall_ms() - 800
    assert h.engine.states[(1, 2)].since_ms == wall_ms() - 1000  # one interval back, no more
    await h.tick(3)
    assert h.phase(1, 1) == Phase.PENDING
    await h.tick(1)  # 4.8 s after the sample: within the timer slack of forSeconds
    assert h.phase(1, 1) == h.phase(1, 2) == Phase.FIRING
