"""From a history request to a range, tier and step (monitord/history/ranges.py)."""

from __future__ import annotations

import pytest

from monitord.config import RetentionSettings
from monitord.history.ranges import (
    MAX_POINTS,
    HistoryRequestError,
    bucket_count,
    choose_tier,
    parse_history_query,
    parse_moment,
    tier_for_step,
    to_point,
)
from monitord.models import COUNTER_METRIC_FIELDS, GAUGE_METRIC_FIELDS, ms_to_datetime
from monitord.storage.base import HOUR_MS, MINUTE_MS, BucketAggregate, Tier

NOW = 1_790_000_000_000
DAY_MS = 24 * HOUR_MS
RETENTION = RetentionSettings()  # raw 48 h, minutes 14 d, hours 400 d


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-01-31T12:00:00Z", 1_769_860_800_000),
        ("2026-01-31t12:00:00z", 1_769_860_800_000),
        ("2026-01-31 12:00:00Z", 1_769_860_800_000),
        ("2026-01-31T14:00:00+02:00", 1_769_860_800_000),
        ("2026-01-31T12:00:00.123456789Z", 1_769_860_800_123),
        ("2026-01-31T12:00:00.5-00:30", 1_769_862_600_500),
        ("1769860800000", 1_769_860_800_000),
        ("0", 0),
    ],
)
def test_times_are_rfc3339_or_epoch_milliseconds(text: str, expected: int) -> None:
    assert parse_moment("from", text) == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("2026-01-31T12:00:00", "expected an RFC 3339 time with a zone"),  # no zone: ambiguous
        ("2026-01-31", "expected an RFC 3339 time with a zone"),
        ("-5", "expected an RFC 3339"),
        ("1.5e12", "expected an RFC 3339"),
        ("", "expected an RFC 3339"),
        ("now", "expected an RFC 3339"),
        ("2026-02-30T00:00:00Z", "is not a valid date and time"),
        ("2026-01-31T25:00:00Z", "is not a valid date and time"),
        ("99999999999999999", "expected an RFC 3339"),  # 17 digits
        ("9999999999999999", "must be between 1970 and the year 9999"),
        ("1969-12-31T23:59:59Z", "must be between 1970 and the year 9999"),
    ],
)
def test_bad_times_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(HistoryRequestError, match=message) as failure:
        parse_moment("from", text)
    assert str(failure.value).startswith("`from`: ")


def test_the_finest_tier_that_covers_the_start_is_chosen() -> None:
    assert choose_tier(RETENTION, NOW - 48 * HOUR_MS, NOW) is Tier.RAW
    assert choose_tier(RETENTION, NOW - 48 * HOUR_MS - 1, NOW) is Tier.MINUTE
    assert choose_tier(RETENTION, NOW - 14 * DAY_MS, NOW) is Tier.MINUTE
    assert choose_tier(RETENTION, NOW - 14 * DAY_MS - 1, NOW) is Tier.HOUR
    assert choose_tier(RETENTION, 0, NOW) is Tier.HOUR
    assert (
        choose_tier(RetentionSettings(raw_hours=2, minute_days=1, hour_days=1), NOW - 3 * HOUR_MS, NOW) is Tier.MINUTE
    )


@pytest.mark.parametrize(
    "span_ms,tier,step_seconds",
    [
        (10 * MINUTE_MS, Tier.RAW, 1),
        (HOUR_MS, Tier.RAW, 5),
        (DAY_MS, Tier.MINUTE, 120),  # raw retention covers it, but 2-minute steps are whole minutes
        (7 * DAY_MS, Tier.MINUTE, 900),
        (30 * DAY_MS, Tier.HOUR, 3600),
        (365 * DAY_MS, Tier.HOUR, 43200),
    ],
)
def test_the_default_step_gives_at_most_a_thousand_points(span_ms: int, tier: Tier, step_seconds: int) -> None:
    query = parse_history_query({"from": str(NOW - span_ms), "to": str(NOW)}, RETENTION, NOW)
    assert (query.tier, query.step_ms) == (tier, step_seconds * 1000)
    assert bucket_count(query.from_ms, query.to_ms, query.step_ms) <= 1000


def test_the_default_step_of_a_very_long_range_is_whole_days() -> None:
    query = parse_history_query({"from": "0", "to": str(NOW)}, RETENTION, NOW)
    assert query.step_ms % DAY_MS == 0 and bucket_count(0, NOW, query.step_ms) <= 1000


def test_defaults_are_the_last_hour_and_averages() -> None:
    query = parse_history_query({}, RETENTION, NOW)
    assert (query.from_ms, query.to_ms, query.tier, query.step_ms, query.maximum) == (
        NOW - HOUR_MS,
        NOW,
        Tier.RAW,
        5000,
        False,
    )
    assert parse_history_query({"to": str(NOW - DAY_MS)}, RETENTION, NOW).from_ms == NOW - DAY_MS - HOUR_MS
    assert parse_history_query({"agg": "max"}, RETENTION, NOW).maximum is True


def test_a_step_finer_than_the_tier_is_rounded_up_to_its_buckets() -> None:
    raw = parse_history_query({"from": str(NOW - HOUR_MS), "step": "7"}, RETENTION, NOW)
    assert (raw.tier, raw.step_ms) == (Tier.RAW, 7000)
    minutes = parse_history_query({"from": str(NOW - 3 * DAY_MS), "step": "90"}, RETENTION, NOW)
    assert (minutes.tier, minutes.step_ms) == (Tier.MINUTE, 120_000)
    hours = parse_history_query({"from": str(NOW - 20 * DAY_MS), "step": "60"}, RETENTION, NOW)
    assert (hours.tier, hours.step_ms) == (Tier.HOUR, HOUR_MS)


def test_a_step_of_whole_minutes_or_hours_is_served_by_that_coarser_tier() -> None:
    assert tier_for_step(Tier.RAW, 30_000) is Tier.RAW
    assert tier_for_step(Tier.RAW, 90_000) is Tier.RAW
    assert tier_for_step(Tier.RAW, 120_000) is Tier.MINUTE
    assert tier_for_step(Tier.RAW, 2 * HOUR_MS) is Tier.HOUR
    assert tier_for_step(Tier.MINUTE, 900_000) is Tier.MINUTE
    assert tier_for_step(Tier.MINUTE, DAY_MS) is Tier.HOUR
    assert tier_for_step(Tier.HOUR, HOUR_MS) is Tier.HOUR
    recent = parse_history_query({"from": str(NOW - 6 * HOUR_MS), "step": "600"}, RETENTION, NOW)
    assert (recent.tier, recent.step_ms) == (Tier.MINUTE, 600_000)
    fine = parse_history_query({"from": str(NOW - 6 * HOUR_MS), "step": "45"}, RETENTION, NOW)
    assert (fine.tier, fine.step_ms) == (Tier.RAW, 45_000)


def test_more_points_than_the_cap_is_refused_with_the_smallest_step_that_works() -> None:
    span = 2 * DAY_MS
    with pytest.raises(HistoryRequestError, match=r"gives 172800 points, more than 10000; use a step of at least 18 s"):
        parse_history_query({"from": str(NOW - span), "to": str(NOW), "step": "1"}, RETENTION, NOW)
    allowed = parse_history_query({"from": str(NOW - span), "to": str(NOW), "step": "18"}, RETENTION, NOW)
    assert bucket_count(allowed.from_ms, allowed.to_ms, allowed.step_ms) <= MAX_POINTS


@pytest.mark.parametrize(
    "args,message",
    [
        ({"from": str(NOW), "to": str(NOW)}, "`from` must be before `to`"),
        ({"from": str(NOW), "to": str(NOW - 1)}, "`from` must be before `to`"),
        ({"step": "0"}, "`step`: expected whole seconds"),
        ({"step": "1.5"}, "`step`: expected whole seconds"),
        ({"step": "-1"}, "`step`: expected whole seconds"),
        ({"step": "abc"}, "`step`: expected whole seconds"),
        ({"step": "99999999999999"}, "`step`: expected whole seconds"),
        ({"agg": "min"}, '`agg`: expected "avg" or "max"'),
        ({"to": "yesterday"}, "`to`: expected an RFC 3339 time"),
    ],
)
def test_bad_requests_say_what_is_wrong(args: dict[str, str], message: str) -> None:
    with pytest.raises(HistoryRequestError, match=message):
        parse_history_query(args, RETENTION, NOW)


def test_a_point_is_the_bucket_start_with_its_gauges_and_last_counters() -> None:
    bucket = BucketAggregate(
        bucket_ms=NOW,
        sample_count=3,
        gauges=tuple(float(i) + 0.6 for i in range(len(GAUGE_METRIC_FIELDS))),
        lasts=tuple(100 + i for i in range(len(COUNTER_METRIC_FIELDS))),
    )
    point = to_point(bucket)
    assert point.time == ms_to_datetime(NOW)
    assert point.cpu_usage_percent == 0.6 and point.memory_usage_bytes == 2  # 1.6 rounded: an integer field
    assert isinstance(point.memory_usage_bytes, int) and isinstance(point.load1, float)
    assert (point.network_rx_total_bytes, point.network_tx_total_bytes, point.uptime_seconds) == (100, 101, 102)
