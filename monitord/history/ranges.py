"""From a history request to what to read: the range, the tier and the step; and from the
buckets read back to `MetricPoint`s.

    GET /api/servers/{id}/metrics?from=&to=&step=&agg=

- `from`, `to`: RFC 3339 with a time zone (`2026-01-31T12:00:00Z`, `...+02:00`, fractions of a
  second allowed) or Unix epoch milliseconds (digits only, `1769860800000`). `to` defaults to
  now and `from` to one hour before `to`; `from` must be before `to`. The range is half-open.
- `step`: whole seconds per point. Points are buckets [t, t + step) aligned to multiples of
  `step` since the epoch (so the first may start before `from`, and a chart that refreshes
  keeps its buckets), each holding the samples in the range that fall in it. Omitted: the
  smallest of 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 7 d that
  gives at most DEFAULT_POINTS points. At most MAX_POINTS points: more is a 400.
- `agg`: `avg` (default) or `max`, what each gauge's point says; counters (network totals,
  uptime) always give the last value in the bucket.
- The tier read is the finest one whose retention covers `from` (raw samples within
  `retention.raw_hours` of now, then 1-minute and 1-hour rollups). A rollup tier cannot be
  cut finer than its buckets, so `step` is rounded up to a multiple of 60 s or 3600 s there.
  When the step is a whole multiple of a coarser tier's bucket, that tier answers instead: its
  buckets hold exactly the count, average, maximum and last value of the samples they stand
  for, so the points are the same (up to float rounding) for 60 or 3600 times fewer rows read
  (a day at one sample a second: 1440 minutes instead of 86,400 samples). Rows count whole in
  the bucket where they start, so with such a tier a `from` inside a minute (hour) leaves out
  that minute's (hour's) samples; ranges aligned to the step, as the dashboard asks, never do.
- Buckets without samples (the agent was offline) are absent: gaps, not interpolated points.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

import msgspec

from monitord.config import RetentionSettings
from monitord.models import (
    COUNTER_METRIC_FIELDS,
    GAUGE_METRIC_FIELDS,
    INTEGER_METRIC_FIELDS,
    MetricsSample,
    datetime_to_ms,
    ms_to_datetime,
)
from monitord.storage.base import HOUR_MS, BucketAggregate, Tier

MAX_POINTS = 10_000
DEFAULT_POINTS = 1_000
DEFAULT_SPAN_MS = HOUR_MS
NICE_STEPS_SECONDS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)
# Times must fit RFC 3339 output (years 1970 to 9999).
MAX_TIME_MS = 253_402_300_799_999
MAX_STEP_SECONDS = 10 * 366 * 86_400

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?(?P<zone>[Zz]|[+-]\d{2}:\d{2})"
)
_EPOCH_MS = re.compile(r"\d{1,16}")


class HistoryRequestError(ValueError):
    """A history request that cannot be served as asked; `str()` says why, for a 400."""


class HistoryQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What to read for one request."""

    from_ms: int
    to_ms: int
    step_ms: int
    tier: Tier
    maximum: bool  # agg=max: gauges give their maximum instead of their average


def parse_moment(name: str, text: str) -> int:
    """`text` (RFC 3339 with a zone, or epoch ms) as Unix ms; HistoryRequestError otherwise."""
    expected = (
        f"`{name}`: expected an RFC 3339 time with a zone such as 2026-01-31T12:00:00Z, "
        f"or Unix epoch milliseconds such as 1769860800000, got {text[:40]!r}"
    )
    if _EPOCH_MS.fullmatch(text):
        moment = int(text)
    else:
        match = _RFC3339.fullmatch(text)
        if match is None:
            raise HistoryRequestError(expected)
        zone = match["zone"].upper().replace("Z", "+00:00")
        fraction = (match["fraction"] or "")[:7]  # whole microseconds: the milliseconds are kept
        try:
            moment = datetime_to_ms(datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{zone}"))
        except ValueError:
            raise HistoryRequestError(f"`{name}`: {text[:40]!r} is not a valid date and time") from None
    if not 0 <= moment <= MAX_TIME_MS:
        raise HistoryRequestError(f"`{name}`: must be between 1970 and the year 9999")
    return moment


def choose_tier(retention: RetentionSettings, from_ms: int, now_ms: int) -> Tier:
    """The finest tier whose retention still covers `from_ms`, as of `now_ms`."""
    if from_ms >= now_ms - retention.raw_hours * HOUR_MS:
        return Tier.RAW
    if from_ms >= now_ms - retention.minute_days * 24 * HOUR_MS:
        return Tier.MINUTE
    return Tier.HOUR


def tier_for_step(finest: Tier, step_ms: int) -> Tier:
    """The coarsest tier, no finer than `finest`, whose buckets divide `step_ms` evenly."""
    for tier in (Tier.HOUR, Tier.MINUTE):
        if tier.width_ms >= finest.width_ms and step_ms % tier.width_ms == 0:
            return tier
    return finest


def bucket_count(from_ms: int, to_ms: int, step_ms: int) -> int:
    """How many epoch-aligned buckets of `step_ms` the range [from_ms, to_ms) touches."""
    return (to_ms - 1) // step_ms - from_ms // step_ms + 1


def default_step_ms(from_ms: int, to_ms: int, tier: Tier) -> int:
    """The smallest nice step, no finer than the tier, giving at most DEFAULT_POINTS points."""
    for seconds in NICE_STEPS_SECONDS:
        step_ms = seconds * 1000
        if step_ms % tier.width_ms == 0 and bucket_count(from_ms, to_ms, step_ms) <= DEFAULT_POINTS:
            return step_ms
    days = -(-(to_ms - from_ms) // (DEFAULT_POINTS * 86_400_000))
    return max(1, days) * 86_400_000


def parse_history_query(args: Mapping[str, str], retention: RetentionSettings, now_ms: int) -> HistoryQuery:
    """The query string of a history request, checked; HistoryRequestError says what is wrong."""
    to_ms = parse_moment("to", args["to"]) if "to" in args else now_ms
    from_ms = parse_moment("from", args["from"]) if "from" in args else max(0, to_ms - DEFAULT_SPAN_MS)
    if from_ms >= to_ms:
        raise HistoryRequestError("`from` must be before `to`")
    agg = args.get("agg", "avg")
    if agg not in ("avg", "max"):
        raise HistoryRequestError(f'`agg`: expected "avg" or "max", got {agg[:20]!r}')
    finest = choose_tier(retention, from_ms, now_ms)
    if "step" in args:
        text = args["step"]
        if not re.fullmatch(r"\d{1,12}", text) or not 1 <= int(text) <= MAX_STEP_SECONDS:
            raise HistoryRequestError(f"`step`: expected whole seconds from 1 to {MAX_STEP_SECONDS}, got {text[:20]!r}")
        # A rollup tier cannot be cut finer than its buckets.
        step_ms = -(-int(text) * 1000 // finest.width_ms) * finest.width_ms
        points = bucket_count(from_ms, to_ms, step_ms)
        if points > MAX_POINTS:
            smallest = -(-(to_ms - from_ms) // (MAX_POINTS - 1) // 1000)
            raise HistoryRequestError(
                f"`step`: {text} s over this range gives {points} points, more than {MAX_POINTS}; "
                f"use a step of at least {smallest} s or a shorter range"
            )
    else:
        step_ms = default_step_ms(from_ms, to_ms, finest)
    return HistoryQuery(
        from_ms=from_ms, to_ms=to_ms, step_ms=step_ms, tier=tier_for_step(finest, step_ms), maximum=agg == "max"
    )


_INTEGER_GAUGES = tuple(index for index, name in enumerate(GAUGE_METRIC_FIELDS) if name in INTEGER_METRIC_FIELDS)


def to_point(bucket: BucketAggregate) -> MetricsSample:
    """A bucket as a `MetricPoint`: its start, each gauge's average (or maximum), each
    counter's last value. Integer fields stay integers (averages are rounded)."""
    gauges = list(bucket.gauges)
    for index in _INTEGER_GAUGES:
        gauges[index] = round(gauges[index])
    return MetricsSample(
        time=ms_to_datetime(bucket.bucket_ms),
        # mypy cannot match a dict of floats to the struct's int and float fields by name.
        **dict(zip(GAUGE_METRIC_FIELDS, gauges, strict=True)),  # type: ignore[arg-type]
        **dict(zip(COUNTER_METRIC_FIELDS, bucket.lasts, strict=True)),
    )
