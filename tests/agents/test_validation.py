"""What the daemon accepts from agents (unit level: pure functions, no daemon)."""

from __future__ import annotations

import math

import pytest

from monitord.ingest.validation import (
    DROP_REASONS,
    UPPER_BOUNDS,
    check_samples,
    clean_text,
    host_facts,
    primary_address,
)
from monitord.models import METRIC_FIELDS, datetime_to_ms
from monitord.proto import monitord_pb2 as pb
from tests.agents.conftest import sample

NOW = 1_800_000_000_000
LIMITS = {"now_ms": NOW, "max_future_ms": 300_000, "max_age_ms": 7 * 86_400_000}


def check(*samples: pb.Sample, last_seq: int | None = None):
    return check_samples(samples, last_seq=last_seq, **LIMITS)


def test_a_plausible_sample_is_accepted_unchanged() -> None:
    good = sample(1, NOW)
    result = check(good)
    assert not result.dropped and result.last_seq == 1
    [accepted] = result.accepted
    assert datetime_to_ms(accepted.time) == NOW
    assert all(getattr(accepted, name) == getattr(good, name) for name in METRIC_FIELDS)


@pytest.mark.parametrize("field", METRIC_FIELDS)
def test_every_field_rejects_negative_values_and_values_above_its_bound(field: str) -> None:
    negative = sample(1, NOW, **{field: -1})
    above = sample(2, NOW + 1, **{field: UPPER_BOUNDS[field] + 1})
    at_bound = sample(3, NOW + 2, **{field: UPPER_BOUNDS[field]})
    result = check(negative, above)
    assert result.accepted == []
    assert result.dropped == {"negative": 1, "too_large": 1}
    # At the bound itself only a used-above-total pair can object.
    assert set(check(at_bound).dropped) <= {"used_exceeds_total"}


@pytest.mark.parametrize("field", [name for name in METRIC_FIELDS if isinstance(getattr(sample(1), name), float)])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_float_fields_reject_nan_and_infinity(field: str, value: float) -> None:
    result = check(sample(1, NOW, **{field: value}))
    assert result.accepted == [] and result.dropped == {"not_finite": 1}


@pytest.mark.parametrize(
    "offset_ms,reason",
    [(300_001, "future_timestamp"), (-7 * 86_400_000 - 1, "stale_timestamp")],
)
def test_timestamps_too_far_ahead_or_too_old_are_dropped(offset_ms: int, reason: str) -> None:
    result = check(sample(1, NOW + offset_ms))
    assert result.accepted == [] and result.dropped == {reason: 1}
    edge = check(sample(1, NOW + (300_000 if offset_ms > 0 else -7 * 86_400_000)))
    assert len(edge.accepted) == 1


def test_used_above_total_is_dropped() -> None:
    for used, total in [("memory_usage_bytes", "memory_total_bytes"), ("disk_used_bytes", "disk_total_bytes")]:
        result = check(sample(1, NOW, **{used: 101, total: 100}))
        assert result.dropped == {"used_exceeds_total": 1}


def test_seq_must_increase_within_a_call_and_drops_still_advance_the_ack() -> None:
    result = check(
        sample(5, NOW), sample(5, NOW + 1), sample(4, NOW + 2), sample(6, NOW + 3, load1=math.nan), last_seq=3
    )
    assert [datetime_to_ms(s.time) for s in result.accepted] == [NOW]
    assert result.dropped == {"seq_not_increasing": 2, "not_finite": 1}
    assert result.last_seq == 6
    assert check(sample(3, NOW), last_seq=3).last_seq == 3


def test_drop_reasons_are_the_documented_ones() -> None:
    assert set(DROP_REASONS) == {
        "not_finite",
        "negative",
        "too_large",
        "used_exceeds_total",
        "future_timestamp",
        "stale_timestamp",
        "seq_not_increasing",
    }


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("web-1", "web-1"),
        ("  a \t b\n", "a b"),
        ("red\x1b[31m", "red [31m"),
        ("\u202eevil", "evil"),  # bidi override
        ("zero\u200bwidth", "zero width"),
        ("x" * 1000, "x" * 10),
    ],
)
def test_clean_text_removes_control_and_format_characters_and_caps_length(raw: str, expected: str) -> None:
    assert clean_text(raw, 10 if len(raw) == 1000 else 100) == expected


def test_primary_address_skips_what_is_not_the_hosts_own() -> None:
    assert (
        primary_address(["127.0.0.1", "::1", "fe80::1", "0.0.0.0", "junk", "2001:db8::1", "10.1.2.3"]) == "2001:db8::1"
    )
    assert primary_address(["127.0.0.1"]) == ""


def test_host_facts_are_cleaned_and_bounded() -> None:
    facts = host_facts(
        pb.Hello(hostname="h\x00ost", cpu_model="m" * 1000, cpu_cores=1_000_000, ip_addresses=["10.0.0.9"])
    )
    assert facts.hostname == "h ost"
    assert len(facts.cpu_model) == 128
    assert facts.cpu_cores == 0
    assert facts.ip_address == "10.0.0.9"
