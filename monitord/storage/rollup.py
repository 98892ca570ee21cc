"""Rollups and ranged history, shared by both backends: the SQL they have in common, and the
bucket arithmetic around it.

Three tiers hold the history of each server (see `Tier`):

    metrics      raw samples                         kept retention.raw_hours
    metrics_1m   1-minute buckets, from raw          kept retention.minute_days
    metrics_1h   1-hour buckets, from 1-minute ones  kept retention.hour_days

A bucket covers the half-open interval [bucket_ms, bucket_ms + width), so a sample exactly on a
boundary belongs to the bucket that starts there and to no other. A bucket row holds the number
of raw samples it covers, the average and maximum of every gauge and the last value of every
counter (GAUGE_METRIC_FIELDS / COUNTER_METRIC_FIELDS in monitord.models, which say why).
Coarser buckets are computed from finer ones with averages weighted by sample count, so an hour
holds exactly what it would if computed from the raw samples (up to float rounding).

`rollup_state` keeps one watermark per server, `rolled_up_to_ms` (minute-aligned): every raw
sample before it is in a 1-minute bucket, and every hour that ends at or before it is in a
1-hour bucket. A sample stored below the watermark (agents backfill up to an hour after a
reconnect, with the original timestamps) is noted in `rollup_late` by `insert_samples`, in the
same transaction, and its minute (and hour) is recomputed later. `raw_deleted_before_ms` says
where retention has started deleting raw samples: a minute before it cannot be recomputed any
more, since part of its samples are gone.

The SQL here is plain enough for both engines: `{name}` fields are filled with each driver's
placeholders. Integer division truncates in both; every time is after 1970, so it floors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from monitord.models import COUNTER_METRIC_FIELDS, GAUGE_METRIC_FIELDS
from monitord.storage.base import HOUR_MS, BucketAggregate, Tier

TABLES = {Tier.RAW: "metrics", Tier.MINUTE: "metrics_1m", Tier.HOUR: "metrics_1h"}
_TIME_COLUMNS = {Tier.RAW: "time_ms", Tier.MINUTE: "bucket_ms", Tier.HOUR: "bucket_ms"}

# The value columns of a bucket row, in this order everywhere (tables, SELECTs, BucketAggregate).
AVERAGE_COLUMNS = tuple(f"{name}_avg" for name in GAUGE_METRIC_FIELDS)
MAXIMUM_COLUMNS = tuple(f"{name}_max" for name in GAUGE_METRIC_FIELDS)
LAST_COLUMNS = tuple(f"{name}_last" for name in COUNTER_METRIC_FIELDS)
BUCKET_VALUE_COLUMNS = ("sample_count", *AVERAGE_COLUMNS, *MAXIMUM_COLUMNS, *LAST_COLUMNS)


def floor_to(moment_ms: int, width_ms: int) -> int:
    """The start of the bucket of `width_ms` holding `moment_ms`."""
    return moment_ms // width_ms * width_ms


def bucket_table_columns(integer_type: str, real_type: str, integer_fields: frozenset[str]) -> str:
    """The columns of a rollup table after (server_id, bucket_ms), for CREATE TABLE."""
    columns = [f"sample_count {integer_type} NOT NULL"]
    columns += [f"{name}_avg {real_type} NOT NULL" for name in GAUGE_METRIC_FIELDS]
    columns += [
        f"{name}_max {integer_type if name in integer_fields else real_type} NOT NULL" for name in GAUGE_METRIC_FIELDS
    ]
    columns += [f"{name}_last {integer_type} NOT NULL" for name in COUNTER_METRIC_FIELDS]
    return ",\n    ".join(columns)


def _aggregates(source: Tier, *, averages: bool = True, maxima: bool = True) -> list[str]:
    """Summaries of the rows of `source` in one group, named like BUCKET_VALUE_COLUMNS."""
    if source is Tier.RAW:
        parts = ["count(*) AS sample_count", "max(time_ms) AS last_ms"]
        if averages:
            # avg() of a BIGINT is NUMERIC in PostgreSQL; every average is a double on both engines.
            parts += [f"CAST(avg({name}) AS DOUBLE PRECISION) AS {name}_avg" for name in GAUGE_METRIC_FIELDS]
        if maxima:
            parts += [f"max({name}) AS {name}_max" for name in GAUGE_METRIC_FIELDS]
        return parts
    parts = ["sum(sample_count) AS sample_count", "max(bucket_ms) AS last_ms"]
    if averages:
        parts += [
            f"sum({name}_avg * sample_count) / CAST(sum(sample_count) AS DOUBLE PRECISION) AS {name}_avg"
            for name in GAUGE_METRIC_FIELDS
        ]
    if maxima:
        parts += [f"max({name}_max) AS {name}_max" for name in GAUGE_METRIC_FIELDS]
    return parts


def _grouped(
    source: Tier, bucket: str, *, sid: str, lo: str, hi: str, averages: bool = True, maxima: bool = True
) -> str:
    """`agg`: the rows of one server in [lo, hi) of `source`, grouped by the expression `bucket`
    of their time; `last_ms` is the time of each group's newest row, to fetch its counters."""
    time = _TIME_COLUMNS[source]
    return (
        f"agg AS (SELECT {bucket.format(time=time)} AS bucket, {', '.join(_aggregates(source, averages=averages, maxima=maxima))} "
        f"FROM {TABLES[source]} WHERE server_id = {sid} AND {time} >= {lo} AND {time} < {hi} GROUP BY 1)"
    )


def _summary_columns(source: Tier, *, averages: bool = True, maxima: bool = True) -> str:
    """The columns after the bucket of a summary row: agg's, and the newest row's counters."""
    counters = COUNTER_METRIC_FIELDS if source is Tier.RAW else LAST_COLUMNS
    return ", ".join(
        [
            "agg.sample_count",
            *(f"agg.{column}" for column in (AVERAGE_COLUMNS if averages else ())),
            *(f"agg.{column}" for column in (MAXIMUM_COLUMNS if maxima else ())),
            *(f"newest.{column}" for column in counters),
        ]
    )


def _join_newest(source: Tier, sid: str) -> str:
    return (
        f"FROM agg JOIN {TABLES[source]} AS newest "
        f"ON newest.server_id = {sid} AND newest.{_TIME_COLUMNS[source]} = agg.last_ms"
    )


def rollup_sql(target: Tier, *, sid: str, lo: str, hi: str) -> str:
    """Recompute (insert or replace) the `target` buckets of one server from the next finer
    tier's rows in [lo, hi); lo and hi must be multiples of the target's width."""
    source = Tier.RAW if target is Tier.MINUTE else Tier.MINUTE
    updates = ", ".join(f"{column} = excluded.{column}" for column in BUCKET_VALUE_COLUMNS)
    # "WHERE true" settles SQLite's parsing ambiguity between a join's ON and the upsert's ON.
    return (
        f"WITH {_grouped(source, '{time} / ' + str(target.width_ms) + ' * ' + str(target.width_ms), sid=sid, lo=lo, hi=hi)} "
        f"INSERT INTO {TABLES[target]} (server_id, bucket_ms, {', '.join(BUCKET_VALUE_COLUMNS)}) "
        f"SELECT {sid}, agg.bucket, {_summary_columns(source)} {_join_newest(source, sid)} WHERE true "
        f"ON CONFLICT (server_id, bucket_ms) DO UPDATE SET {updates}"
    )


def import_buckets_sql(tier: Tier, placeholders: Sequence[str]) -> str:
    """Insert or replace one bucket row: (server_id, bucket_ms, *BUCKET_VALUE_COLUMNS)."""
    updates = ", ".join(f"{column} = excluded.{column}" for column in BUCKET_VALUE_COLUMNS)
    return (
        f"INSERT INTO {TABLES[tier]} (server_id, bucket_ms, {', '.join(BUCKET_VALUE_COLUMNS)}) "
        f"VALUES ({', '.join(placeholders)}) ON CONFLICT (server_id, bucket_ms) DO UPDATE SET {updates}"
    )


def history_sql(source: Tier, *, sid: str, lo: str, hi: str, step: str, maximum: bool) -> str:
    """Summaries of one server's `source` rows in [lo, hi) per bucket of `step` ms, by bucket
    index (bucket_ms / step), oldest first: count, the gauges' averages (or with `maximum` their
    maxima), the counters' last values. Rows count in the bucket holding their start."""
    which = {"averages": not maximum, "maxima": maximum}
    return (
        f"WITH {_grouped(source, '{time} / ' + step, sid=sid, lo=lo, hi=hi, **which)} "
        f"SELECT agg.bucket, {_summary_columns(source, **which)} {_join_newest(source, sid)} ORDER BY agg.bucket"
    )


def hours_completed(before_ms: int, after_ms: int) -> tuple[int, int]:
    """The hour starts [lo, hi) of the hours a watermark completes when it moves from
    `before_ms` to `after_ms` (both minute-aligned); lo == hi when it completes none."""
    return floor_to(before_ms, HOUR_MS), max(floor_to(before_ms, HOUR_MS), floor_to(after_ms, HOUR_MS))


def stitch(tier: Tier, from_ms: int, to_ms: int, rolled_up_to_ms: int | None) -> list[tuple[Tier, int, int]]:
    """Where to read [from_ms, to_ms) from when `tier` is wanted: (tier, lo, hi) pieces in order.

    Rollups exist only up to the server's watermark (hours only up to the last whole hour
    before it); the rest, still raw, comes from the finer tiers. Without a watermark nothing
    is rolled up yet and everything is raw.
    """
    if tier is Tier.RAW or rolled_up_to_ms is None:
        return [(Tier.RAW, from_ms, to_ms)]
    edges = [(Tier.MINUTE, rolled_up_to_ms)]
    if tier is Tier.HOUR:
        edges.insert(0, (Tier.HOUR, floor_to(rolled_up_to_ms, HOUR_MS)))
    pieces: list[tuple[Tier, int, int]] = []
    lo = from_ms
    for source, edge in edges:
        hi = min(to_ms, edge)
        if hi > lo:
            pieces.append((source, lo, hi))
            lo = hi
    if to_ms > lo:
        pieces.append((Tier.RAW, lo, to_ms))
    return pieces


class SummaryRow(Protocol):
    """A row of a history_sql result in either driver (a tuple-like row): read by position and slice."""

    def __getitem__(self, index: Any, /) -> Any: ...


def merge_summaries(step_ms: int, pieces: Iterable[Iterable[SummaryRow]], *, maximum: bool) -> list[BucketAggregate]:
    """Summary rows of consecutive pieces (history_sql results, oldest piece first) as buckets.

    A bucket that straddles two pieces gets one row from each: counts add, averages are weighted
    by count, maxima take the larger and counters the value of the later piece.
    """
    gauges, counters = len(GAUGE_METRIC_FIELDS), len(COUNTER_METRIC_FIELDS)
    merged: list[BucketAggregate] = []
    for rows in pieces:
        for row in rows:
            values = tuple(row[2 : 2 + gauges])
            bucket = BucketAggregate(
                bucket_ms=int(row[0]) * step_ms,
                sample_count=int(row[1]),
                gauges=values if maximum else tuple(float(value) for value in values),
                lasts=tuple(int(value) for value in row[2 + gauges : 2 + gauges + counters]),
            )
            if merged and merged[-1].bucket_ms == bucket.bucket_ms:
                bucket = _combine(merged.pop(), bucket, maximum=maximum)
            merged.append(bucket)
    return merged


def _combine(earlier: BucketAggregate, later: BucketAggregate, *, maximum: bool) -> BucketAggregate:
    total = earlier.sample_count + later.sample_count
    pairs = zip(earlier.gauges, later.gauges, strict=True)
    return BucketAggregate(
        bucket_ms=earlier.bucket_ms,
        sample_count=total,
        gauges=tuple(
            max(a, b) if maximum else (a * earlier.sample_count + b * later.sample_count) / total for a, b in pairs
        ),
        lasts=later.lasts,
    )
