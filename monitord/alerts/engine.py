"""The alert engine: rules evaluated against the live servers, one state machine per pair.

Each (rule, server) pair moves ok → pending → firing → resolving → ok (see README "Alerting").
`evaluate` is synchronous and pure apart from its own state: it takes the servers' views and
returns what changed (states to persist, history events, notifications to queue), so the
caller can persist all of it in one transaction and tests can drive it on a mock clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import trio

from monitord.alerts.model import LEVEL_RANK, METRICS, Level, PairState, Phase, Rule, Silence
from monitord.alerts.windows import BUCKETS, Window, slot, width_of
from monitord.models import MetricsSample, datetime_to_ms, ms_to_datetime
from monitord.wire import ActiveAlert, ServerStatus, ServerWithDetails

Pair = tuple[int, int]  # (rule id, server id)

# Five or more servers firing the same rule within this many seconds go out as one message.
GROUP_SIZE = 5
GROUP_SECONDS = 30.0
# Durations are checked at evaluations one second apart, each stamped when it ran: a few ms of
# scheduling jitter must not cost a whole extra second, so a duration counts as held from half a
# second short of it (the condition began up to a second before it was first seen anyway).
TIMER_SLACK_MS = 500
# A pending condition counts from its sample's time, at most this long before it was seen.
SAMPLE_LAG_MS = 1000


class AlertItem(msgspec.Struct, kw_only=True, rename="camel"):
    server_id: int
    server_name: str
    status: str  # "firing" | "resolved"
    level: Level | None
    value: float | None
    starts_at_ms: int
    ends_at_ms: int | None = None


class Notification(msgspec.Struct, kw_only=True, rename="camel"):
    """One message for the channels of a rule; rendered per channel at delivery."""

    kind: str  # "firing" | "resolved" | "reminder" | "summary" | "test"
    rule_id: int
    rule_name: str
    rule_kind: str
    metric: str
    alerts: list[AlertItem]


class Event(msgspec.Struct, kw_only=True, frozen=True):
    time_ms: int
    rule_id: int
    server_id: int
    from_phase: str
    to_phase: str
    level: str | None
    value: float | None
    suppressed: bool = False


@dataclass
class Changes:
    states: dict[Pair, PairState | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    notifications: list[tuple[list[int], Notification]] = field(default_factory=list)
    # Servers whose active alerts changed.
    servers: set[int] = field(default_factory=set)


@dataclass
class _Group:
    started: float
    sent: int = 0
    held: list[AlertItem] = field(default_factory=list)


class AlertEngine:
    """Rules, silences and pair states; `evaluate` once per tick.

    `clock` gives the wall time in Unix ms (the daemon's; tests derive it from trio's mock clock).
    Offline rules wait `offline_grace_seconds` after `started_ms`, so agents reconnecting after
    a daemon restart do not raise an offline storm.
    """

    def __init__(self, clock: Callable[[], int], *, offline_grace_seconds: float) -> None:
        self._clock = clock
        self._grace_ms = int(offline_grace_seconds * 1000)
        self._grace_until_ms = clock() + self._grace_ms
        self.rules: dict[int, Rule] = {}
        self.silences: list[Silence] = []
        self.states: dict[Pair, PairState] = {}
        self._windows: dict[tuple[str, int], Window] = {}
        self._spans: dict[str, float] = {}
        self._last_sample: dict[int, MetricsSample] = {}
        self._rescan = False
        self._watched: list[tuple[str, Callable[[MetricsSample], float], float, float, float]] = []
        self._groups: dict[int, _Group] = {}
        self._names: dict[int, str] = {}

    # --- configuration -------------------------------------------------------------------
    def set_rules(self, rules: Iterable[Rule]) -> Changes:
        """Replace the rules; pairs of rules gone or disabled are dropped (their alerts end)."""
        self.rules = {rule.id: rule for rule in rules}
        spans: dict[str, float] = {}
        for rule in self.rules.values():
            if rule.enabled and rule.kind == "metric" and rule.window_seconds > 0:
                spans[rule.metric] = max(spans.get(rule.metric, 0.0), rule.window_seconds)
        if spans != self._spans:
            self._windows = {key: w for key, w in self._windows.items() if spans.get(key[0]) == self._spans.get(key[0])}
            self._spans = spans
        # Per watched metric: its window span (0: none), and the thresholds a new sample must
        # pass (above / below) to concern some latest-value rule.
        bounds: dict[str, list[float]] = {metric: [math.inf, -math.inf] for metric in spans}
        for rule in self.rules.values():
            if rule.enabled and rule.kind == "metric" and rule.window_seconds <= 0:
                passes = bounds.setdefault(rule.metric, [math.inf, -math.inf])
                if rule.op == ">":
                    passes[0] = min(passes[0], rule.trigger)
                else:
                    passes[1] = max(passes[1], rule.trigger)
        self._watched = [
            (metric, METRICS[metric], spans.get(metric, 0.0), above, below) for metric, (above, below) in bounds.items()
        ]
        # Changed rules look at every server's current sample, not only at the next ones.
        self._rescan = True
        changes = Changes()
        for pair in list(self.states):
            known = self.rules.get(pair[0])
            if known is None or not known.enabled or not known.in_scope(pair[1], None):
                self._drop(pair, changes)
        return changes

    def _drop(self, pair: Pair, changes: Changes) -> None:
        del self.states[pair]
        changes.states[pair] = None
        changes.servers.add(pair[1])

    def forget_servers_except(self, present: set[int]) -> Changes:
        """Drop the pairs (and windows) of servers that are gone (deleted)."""
        changes = Changes()
        for pair in [pair for pair in self.states if pair[1] not in present]:
            del self.states[pair]
            changes.states[pair] = None
        self._windows = {key: w for key, w in self._windows.items() if key[1] in present}
        self._last_sample = {sid: s for sid, s in self._last_sample.items() if sid in present}
        return changes

    def begin_grace(self) -> None:
        """Hold offline rules for the grace period from now (another replica's agents are
        reconnecting here after it stopped)."""
        self._grace_until_ms = self._clock() + self._grace_ms

    def load_states(self, states: Iterable[tuple[Pair, PairState]]) -> None:
        self.states = dict(states)

    # --- reading -------------------------------------------------------------------------
    def active_alerts(self, server_ids: set[int]) -> dict[int, tuple[ActiveAlert, ...]]:
        """The firing alerts of each of `server_ids` (empty when none), in one pass over the pairs."""
        found: dict[int, list[ActiveAlert]] = {server_id: [] for server_id in server_ids}
        for (rule_id, server_id), state in self.states.items():
            alerts = found.get(server_id)
            rule = self.rules.get(rule_id)
            if alerts is None or rule is None or state.phase not in (Phase.FIRING, Phase.RESOLVING):
                continue
            alerts.append(
                ActiveAlert(
                    rule_id=rule_id, rule_name=rule.name, level=state.level, since=ms_to_datetime(state.fired_at_ms)
                )
            )
        return {server_id: tuple(sorted(alerts, key=lambda a: a.rule_id)) for server_id, alerts in found.items()}

    def current_value(self, rule: Rule, server_id: int, sample: MetricsSample | None, now_s: float) -> float | None:
        if sample is None:
            return None
        if rule.window_seconds <= 0:
            return METRICS[rule.metric](sample)
        window = self._windows.get((rule.metric, server_id))
        return None if window is None else window.aggregate(now_s, rule.window_seconds, rule.aggregate, rule.op)

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(self, servers: list[ServerWithDetails]) -> Changes:
        """One evaluation at the clock's now; `servers` are the live views.

        Only pairs that can change are visited: for latest-value rules, the servers whose new
        sample crosses some rule's threshold on that metric; for windowed rules, a share of the
        servers each second (see windows.py); for offline rules, the offline servers; and for
        every rule the pairs that have a state (their timers run without new samples).
        """
        now_ms = self._clock()
        now_s = now_ms / 1000
        moment = ms_to_datetime(now_ms)
        changes = Changes()
        hot = self._take_samples(servers, now_s)
        silences = [s for s in self.silences if s.active_at(moment)]
        fired: dict[int, list[AlertItem]] = {}
        stateful: dict[int, list[int]] = {}
        for rule_id, server_id in self.states:
            stateful.setdefault(rule_id, []).append(server_id)
        views = {view.id: view for view in servers} if stateful else {}
        offline: list[ServerWithDetails] | None = None
        by_turn: dict[int, list[ServerWithDetails]] = {}
        for rule in self.rules.values():
            if not rule.enabled:
                continue
            if rule.kind == "offline":
                if now_ms < self._grace_until_ms:
                    continue
                if offline is None:
                    offline = [view for view in servers if view.status is ServerStatus.OFFLINE]
                visit = offline
            elif rule.window_seconds > 0:
                # A window's edge moves one bucket at a time (windows.py), so a windowed rule
                # visits each server once per bucket width, a different share each second.
                stride = max(1, int(rule.window_seconds / BUCKETS))
                visit = by_turn.get(stride) or by_turn.setdefault(
                    stride, [view for view in servers if view.id % stride == int(now_s) % stride]
                )
            else:
                visit = hot.get(rule.metric, [])
            with_state = stateful.get(rule.id)
            if with_state:
                if rule.kind == "metric" and rule.window_seconds > 0:
                    stride = max(1, int(rule.window_seconds / BUCKETS))
                    with_state = [sid for sid in with_state if sid % stride == int(now_s) % stride]
                seen = {view.id for view in visit}
                visit = visit + [views[sid] for sid in with_state if sid not in seen and sid in views]
            self._visit(rule, visit, now_ms, silences, changes, fired)
        self._end_silences(silences, now_ms, changes)
        self._send_fired(fired, now_s, changes)
        return changes

    def _visit(
        self,
        rule: Rule,
        views: list[ServerWithDetails],
        now_ms: int,
        silences: list[Silence],
        changes: Changes,
        fired: dict[int, list[AlertItem]],
    ) -> None:
        """Step the pairs of `rule` with these servers."""
        now_s = now_ms / 1000
        states = self.states
        online = ServerStatus.ONLINE
        scoped = rule.server_ids is not None or bool(rule.tags) or bool(rule.exclude_server_ids)
        metric = rule.kind == "metric"
        above = rule.op == ">"
        lowest = rule.trigger if metric else 0.0
        read = METRICS.get(rule.metric)
        window_seconds = rule.window_seconds
        for view in views:
            server_id = view.id
            if scoped and not rule.in_scope(server_id, view.tags):
                if (rule.id, server_id) in states:  # its tags changed: the alert ends
                    self._drop((rule.id, server_id), changes)
                continue
            state = states.get((rule.id, server_id))
            if metric:
                if view.status is not online:
                    continue  # missing data never resolves (nor fires): offline rules say why
                if window_seconds > 0:
                    window = self._windows.get((rule.metric, server_id))
                    value = None if window is None else window.aggregate(now_s, window_seconds, rule.aggregate, rule.op)
                else:
                    sample = view.latest_metrics
                    value = None if sample is None or read is None else read(sample)
                if value is None:
                    continue
                if state is None and (value <= lowest if above else value >= lowest):
                    continue
                level = rule.level_of(value)
                cleared = rule.cleared_by(value)
            else:
                value = None
                level = Level.CRITICAL if view.status == ServerStatus.OFFLINE else None
                cleared = level is None
            if state is None:
                if level is None:
                    continue
                state = PairState(since_ms=now_ms)
            self._names[server_id] = view.name
            silenced = any(s.matches(rule.id, server_id) for s in silences)
            self._step(rule, view, (rule.id, server_id), state, level, cleared, value, now_ms, silenced, changes, fired)
            if state.phase is Phase.PENDING and state.since_ms == now_ms and metric and window_seconds <= 0:
                # The condition holds since the sample was taken, not since this evaluation saw
                # it (up to a second later): count `forSeconds` from then, so the alert fires
                # forSeconds after the sample, not up to a second later. A skewed agent clock
                # cannot move it back more than one evaluation interval.
                taken_ms = datetime_to_ms(view.latest_metrics.time)  # type: ignore[union-attr]
                state.since_ms = max(min(taken_ms, now_ms), now_ms - SAMPLE_LAG_MS)

    def _take_samples(self, servers: list[ServerWithDetails], now_s: float) -> dict[str, list[ServerWithDetails]]:
        """Feed each new sample to the windows of its metrics; per metric that latest-value rules
        watch, the servers whose new sample crosses one of those rules' thresholds."""
        watched = self._watched
        if not watched:
            return {}
        hot: dict[str, list[ServerWithDetails]] = {metric: [] for metric, *_ in watched}
        last = self._last_sample
        windows = self._windows
        rescan, self._rescan = self._rescan, False
        slots = [
            (metric, read, span, slot(now_s, width_of(span)) if span else None, above, below)
            for metric, read, span, above, below in watched
        ]
        for view in servers:
            sample = view.latest_metrics
            server_id = view.id
            if sample is None:
                continue
            new = last.get(server_id) is not sample
            if not new and not rescan:
                continue
            last[server_id] = sample
            for metric, read, span, where, above, below in slots:
                value = read(sample)
                if where is not None and new:
                    window = windows.get((metric, server_id))
                    if window is None:
                        window = windows[metric, server_id] = Window(span)
                    window.add_at(where, value)
                if value > above or value < below:
                    hot[metric].append(view)
        return hot

    def _step(
        self,
        rule: Rule,
        view: ServerWithDetails,
        pair: Pair,
        state: PairState,
        level: Level | None,
        cleared: bool,
        value: float | None,
        now_ms: int,
        silenced: bool,
        changes: Changes,
        fired: dict[int, list[AlertItem]],
    ) -> None:
        before = (state.phase, state.level)
        snapshot = msgspec.structs.astuple(state)

        def move(phase: Phase, new_level: Level | None) -> None:
            changes.events.append(
                Event(
                    time_ms=now_ms,
                    rule_id=rule.id,
                    server_id=view.id,
                    from_phase=state.phase,
                    to_phase=phase,
                    level=new_level,
                    value=value,
                    suppressed=silenced and phase in (Phase.FIRING, Phase.OK),
                )
            )
            if phase != state.phase:
                state.since_ms = now_ms
            state.phase, state.level, state.value = phase, new_level, value

        def notify(kind: str) -> None:
            state.value = value
            if silenced:
                state.changed_while_silenced = True
                return
            item = self._item(rule, view.id, state, "resolved" if kind == "resolved" else "firing", now_ms)
            if kind == "firing":
                fired.setdefault(rule.id, []).append(item)
                state.notified = True
            else:
                changes.notifications.append((rule.channel_ids, self._message(kind, rule, [item])))

        def start_reminders() -> None:
            state.reminder_seconds = rule.repeat_seconds
            state.next_reminder_ms = now_ms + int(rule.repeat_seconds * 1000) if rule.repeat_seconds > 0 else None

        if state.phase == Phase.OK and level is not None:
            move(Phase.PENDING, level)
        if state.phase == Phase.PENDING:
            if level is None:
                move(Phase.OK, None)
            else:
                state.level = max(level, state.level or level, key=LEVEL_RANK.__getitem__)
                if now_ms - state.since_ms >= rule.for_seconds * 1000 - TIMER_SLACK_MS:
                    move(Phase.FIRING, state.level)
                    state.fired_at_ms = now_ms
                    state.notified = False
                    notify("firing")
                    start_reminders()
        elif state.phase == Phase.FIRING:
            if level is not None and LEVEL_RANK[level] > LEVEL_RANK[state.level]:
                move(Phase.FIRING, level)  # escalation: no resolve in between
                notify("firing")
                start_reminders()
            elif cleared:
                move(Phase.RESOLVING, state.level)
            elif state.next_reminder_ms is not None and now_ms >= state.next_reminder_ms:
                if state.notified and not silenced:
                    notify("reminder")
                cap = rule.repeat_max_seconds
                state.reminder_seconds = min(state.reminder_seconds * 2, cap) if cap else state.reminder_seconds
                state.next_reminder_ms = now_ms + int(state.reminder_seconds * 1000)
        if state.phase == Phase.RESOLVING:
            if not cleared:
                move(Phase.FIRING, level or state.level)
            elif now_ms - state.since_ms >= rule.clear_for_seconds * 1000 - TIMER_SLACK_MS:
                was_notified = state.notified
                move(Phase.OK, None)
                if rule.notify_resolved and was_notified:
                    notify("resolved")
                state.notified = False
        if msgspec.structs.astuple(state) == snapshot:
            return
        if state.phase == Phase.OK and not state.changed_while_silenced:
            self.states.pop(pair, None)
            changes.states[pair] = None
        else:
            self.states[pair] = state
            changes.states[pair] = state
        active_before = before[0] in (Phase.FIRING, Phase.RESOLVING)
        if active_before != (state.phase in (Phase.FIRING, Phase.RESOLVING)) or (
            active_before and before[1] != state.level
        ):
            changes.servers.add(view.id)

    def _end_silences(self, active: list[Silence], now_ms: int, changes: Changes) -> None:
        """For pairs whose state changed during a silence that is over now: one summary per rule."""
        summary: dict[int, list[AlertItem]] = {}
        for pair, state in list(self.states.items()):
            if not state.changed_while_silenced or any(s.matches(*pair) for s in active):
                continue
            rule = self.rules.get(pair[0])
            state.changed_while_silenced = False
            if rule is None:
                continue
            firing = state.phase in (Phase.FIRING, Phase.RESOLVING)
            state.notified = firing
            summary.setdefault(rule.id, []).append(
                self._item(rule, pair[1], state, "firing" if firing else "resolved", now_ms)
            )
            if state.phase == Phase.OK:
                del self.states[pair]
                changes.states[pair] = None
            else:
                changes.states[pair] = state
        for rule_id, items in summary.items():
            rule = self.rules[rule_id]
            changes.notifications.append((rule.channel_ids, self._message("summary", rule, items)))

    def _send_fired(self, fired: dict[int, list[AlertItem]], now_s: float, changes: Changes) -> None:
        """Firing messages, grouped: from the GROUP_SIZE-th server firing a rule within
        GROUP_SECONDS, the rest wait for the end of those seconds and go out as one message."""
        for rule_id, group in list(self._groups.items()):
            if now_s - group.started >= GROUP_SECONDS:
                del self._groups[rule_id]
                rule = self.rules.get(rule_id)
                if group.held and rule is not None:
                    changes.notifications.append((rule.channel_ids, self._message("firing", rule, group.held)))
        for rule_id, items in fired.items():
            rule = self.rules[rule_id]
            group = self._groups.setdefault(rule_id, _Group(started=now_s))
            if len(items) >= GROUP_SIZE:
                changes.notifications.append((rule.channel_ids, self._message("firing", rule, items)))
            elif group.sent + len(items) < GROUP_SIZE:
                changes.notifications.extend((rule.channel_ids, self._message("firing", rule, [i])) for i in items)
            else:
                group.held.extend(items)
            group.sent += len(items)

    def _item(self, rule: Rule, server_id: int, state: PairState, status: str, now_ms: int) -> AlertItem:
        return AlertItem(
            server_id=server_id,
            server_name=self._names.get(server_id, f"server {server_id}"),
            status=status,
            level=state.level if status == "firing" else None,
            value=state.value,
            starts_at_ms=state.fired_at_ms or now_ms,
            ends_at_ms=now_ms if status == "resolved" else None,
        )

    @staticmethod
    def _message(kind: str, rule: Rule, items: list[AlertItem]) -> Notification:
        return Notification(
            kind=kind, rule_id=rule.id, rule_name=rule.name, rule_kind=rule.kind, metric=rule.metric, alerts=items
        )


def anchored_clock() -> Callable[[], int]:
    """Unix ms read as the wall time at this call plus trio's clock since: durations follow
    trio's monotonic clock (a wall clock step never fires or resolves anything, and tests on a
    mock clock move it)."""
    start_wall = int(datetime.now(UTC).timestamp() * 1000)
    start = trio.current_time()
    return lambda: start_wall + round((trio.current_time() - start) * 1000)
