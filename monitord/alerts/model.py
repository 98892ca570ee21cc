"""What an admin configures (channels, rules, silences) and what the engine keeps per pair.

The same structs are the REST shapes (camelCase) and the stored bodies, so a field added here
appears in both. Validation that msgspec cannot express lives in `check_rule` / `check_silence`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from monitord.models import GAUGE_METRIC_FIELDS, MetricsSample
from monitord.wire import MAX_GRANT_ITEMS, TagName

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
Ids = Annotated[list[Annotated[int, msgspec.Meta(ge=1)]], msgspec.Meta(max_length=10_000)]


class InvalidAlertConfig(ValueError):
    """A rule, channel or silence that cannot work; `field` names the culprit (camelCase)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Config(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class Channel(_Config, kw_only=True):
    id: int = 0
    name: Name
    kind: Literal["webhook", "apprise"]
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    # HMAC-SHA256 key of the webhook signature header (webhook only).
    secret: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    language: Literal["en", "zh-CN"] = "en"


class Rule(_Config, kw_only=True):
    id: int = 0
    name: Name
    enabled: bool = True
    kind: Literal["metric", "offline"]
    # `server_ids` None and no `tags`: every server; else the servers with one of these ids or
    # one of these tags. `exclude_server_ids` are left out either way.
    server_ids: Ids | None = None
    tags: Annotated[list[TagName], msgspec.Meta(max_length=MAX_GRANT_ITEMS)] = msgspec.field(default_factory=list)
    exclude_server_ids: Ids = msgspec.field(default_factory=list)
    metric: str = ""
    op: Literal[">", "<"] = ">"
    warning: float | None = None
    critical: float | None = None
    aggregate: Literal["avg", "max", "min", "all"] = "avg"
    window_seconds: Seconds = 0.0
    for_seconds: Seconds = 0.0
    clear: float | None = None
    clear_for_seconds: Seconds = 0.0
    repeat_seconds: Seconds = 0.0
    repeat_max_seconds: Seconds | None = None
    notify_resolved: bool = True
    channel_ids: Ids = msgspec.field(default_factory=list)

    def in_scope(self, server_id: int, tags: tuple[str, ...] | None) -> bool:
        """Whether the server with this id and these tags is covered; `tags` None (not known):
        assume a tag-scoped rule covers it."""
        if server_id in self.exclude_server_ids:
            return False
        if self.server_ids is None and not self.tags:
            return True
        if self.server_ids is not None and server_id in self.server_ids:
            return True
        return bool(self.tags) and (tags is None or not set(self.tags).isdisjoint(tags))

    @property
    def trigger(self) -> float:
        """The lowest firing threshold (for `>`; the highest for `<`): a value must pass it to fire."""
        thresholds = [t for t in (self.warning, self.critical) if t is not None]
        return min(thresholds) if self.op == ">" else max(thresholds)

    @property
    def clear_value(self) -> float:
        """The value the metric must cross back to resolve: `clear`, else the trigger."""
        return self.clear if self.clear is not None else self.trigger

    def level_of(self, value: float) -> Level | None:
        """The level `value` is at: critical, warning, or None when no threshold is crossed."""
        above = self.op == ">"
        for level, threshold in ((Level.CRITICAL, self.critical), (Level.WARNING, self.warning)):
            if threshold is not None and (value > threshold if above else value < threshold):
                return level
        return None

    def cleared_by(self, value: float) -> bool:
        return value < self.clear_value if self.op == ">" else value > self.clear_value


class Silence(_Config, kw_only=True):
    id: int = 0
    # None: every rule (server); else these ids.
    rule_ids: Ids | None = None
    server_ids: Ids | None = None
    starts_at: datetime
    ends_at: datetime
    # "daily": every day from the local time of `starts_at` to that of `ends_at` (in `time_zone`),
    # from the day of `starts_at` on.
    recurrence: Literal["daily"] | None = None
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    comment: Annotated[str, msgspec.Meta(max_length=1000)] = ""

    def matches(self, rule_id: int, server_id: int) -> bool:
        return (self.rule_ids is None or rule_id in self.rule_ids) and (
            self.server_ids is None or server_id in self.server_ids
        )

    def active_at(self, moment: datetime) -> bool:
        if self.recurrence is None:
            return self.starts_at <= moment < self.ends_at
        zone = ZoneInfo(self.time_zone)
        local = moment.astimezone(zone)
        start = self.starts_at.astimezone(zone)
        if local < start:
            return False
        begin, end = start.time(), self.ends_at.astimezone(zone).time()
        now = local.time()
        return begin <= now < end if begin <= end else (now >= begin or now < end)


class Level(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


LEVEL_RANK = {None: 0, Level.WARNING: 1, Level.CRITICAL: 2}


class Phase(enum.StrEnum):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVING = "resolving"


class PairState(msgspec.Struct, kw_only=True):
    """The state of one (rule, server) pair; persisted whenever it changes. Times: Unix ms."""

    phase: Phase = Phase.OK
    level: Level | None = None
    since_ms: int = 0  # when the current phase began (firing: when it first fired)
    fired_at_ms: int = 0
    notified: bool = False  # the firing was sent (not suppressed): a recovery may follow
    next_reminder_ms: int | None = None
    reminder_seconds: float = 0.0
    changed_while_silenced: bool = False
    value: float | None = None


# --- metrics a rule can watch -------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _percent(used: str, total: str) -> Callable[[MetricsSample], float]:
    def read(sample: MetricsSample) -> float:
        whole = getattr(sample, total)
        return 100.0 * getattr(sample, used) / whole if whole else 0.0

    return read


def _field(name: str) -> Callable[[MetricsSample], float]:
    def read(sample: MetricsSample) -> float:
        return float(getattr(sample, name))

    return read


METRICS: dict[str, Callable[[MetricsSample], float]] = {
    **{_camel(name): _field(name) for name in GAUGE_METRIC_FIELDS},
    "memoryUsagePercent": _percent("memory_usage_bytes", "memory_total_bytes"),
    "swapUsagePercent": _percent("swap_usage_bytes", "swap_total_bytes"),
    "diskUsagePercent": _percent("disk_used_bytes", "disk_total_bytes"),
}


def check_rule(rule: Rule, *, max_window_seconds: float, channel_ids: set[int]) -> None:
    """Raise InvalidAlertConfig when `rule` cannot work as written."""
    if rule.kind == "metric":
        if rule.metric not in METRICS:
            raise InvalidAlertConfig("metric", f"unknown metric {rule.metric!r}; one of: {', '.join(sorted(METRICS))}")
        if rule.warning is None and rule.critical is None:
            raise InvalidAlertConfig("warning", "set a warning or a critical threshold (or both)")
        if rule.warning is not None and rule.critical is not None:
            if rule.op == ">" and rule.warning > rule.critical:
                raise InvalidAlertConfig("warning", "for '>' the warning threshold must not be above critical")
            if rule.op == "<" and rule.warning < rule.critical:
                raise InvalidAlertConfig("warning", "for '<' the warning threshold must not be below critical")
        lowest = rule.warning if rule.warning is not None else rule.critical
        assert lowest is not None
        if rule.clear is not None and (rule.clear > lowest if rule.op == ">" else rule.clear < lowest):
            raise InvalidAlertConfig("clear", "clear must be on the resolved side of the firing thresholds")
    for name, seconds in (
        ("windowSeconds", rule.window_seconds),
        ("forSeconds", rule.for_seconds),
        ("clearForSeconds", rule.clear_for_seconds),
    ):
        if seconds > max_window_seconds:
            raise InvalidAlertConfig(
                name, f"{name} must not be longer than the raw retention ({max_window_seconds:g} s)"
            )
    if rule.repeat_max_seconds is not None and rule.repeat_max_seconds < rule.repeat_seconds:
        raise InvalidAlertConfig("repeatMaxSeconds", "repeatMaxSeconds must not be below repeatSeconds")
    unknown = [cid for cid in rule.channel_ids if cid not in channel_ids]
    if unknown:
        raise InvalidAlertConfig("channelIds", f"no channel with id {unknown[0]}")


def check_silence(silence: Silence) -> None:
    if silence.ends_at <= silence.starts_at and silence.recurrence is None:
        raise InvalidAlertConfig("endsAt", "endsAt must be after startsAt")
    if silence.starts_at.tzinfo is None or silence.ends_at.tzinfo is None:
        raise InvalidAlertConfig("startsAt", "give times with a UTC offset, e.g. 2026-01-01T00:00:00Z")
    try:
        ZoneInfo(silence.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidAlertConfig("timeZone", f"unknown time zone {silence.time_zone!r}") from None
