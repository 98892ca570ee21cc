"""The history part of the storage contract: rollups, late samples, retention, ranged reads.

Runs on every backend (tests/storage/conftest.py). Expected values are computed here by hand
from the samples, never by the code under test.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest
import trio
import trio.lowlevel

from monitord.models import COUNTER_METRIC_FIELDS, GAUGE_METRIC_FIELDS, MetricsSample, datetime_to_ms, ms_to_datetime
from monitord.storage.base import HOUR_MS, MINUTE_MS, RetentionCutoffs, Tier
from monitord.storage.transfer import TransferStorage
from tests.storage.test_contract import T0, sample

H0 = T0 - T0 % HOUR_MS  # an hour boundary
M0 = H0 + 10 * MINUTE_MS  # a minute boundary inside it
FAR = H0 + 400 * 24 * HOUR_MS  # well after every sample here


def point(
    at_ms: int, cpu: float, memory: int = 1000, rx: int = 0, load1: float = 0.0, uptime: int = 0
) -> MetricsSample:
    return msgspec.structs.replace(
        sample(at_ms),
        cpu_usage_percent=cpu,
        memory_usage_bytes=memory,
        network_rx_total_bytes=rx,
        load1=load1,
        uptime_seconds=uptime,
    )


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """A history bucket with both its averages and its maxima (two reads of the storage)."""

    bucket_ms: int
    sample_count: int
    averages: tuple[float, ...]
    maxima: tuple[float, ...]
    lasts: tuple[int, ...]


async def history(storage: TransferStorage, server_id: int, tier: Tier, lo: int, hi: int, step: int) -> list[Summary]:
    """`storage.history` asked for averages and for maxima, as one list."""
    averages = await storage.history(server_id, tier, lo, hi, step)
    maxima = await storage.history(server_id, tier, lo, hi, step, maximum=True)
    key = [(b.bucket_ms, b.sample_count, b.lasts) for b in averages]
    assert key == [(b.bucket_ms, b.sample_count, b.lasts) for b in maxima]
    return [
        Summary(bucket_ms=a.bucket_ms, sample_count=a.sample_count, averages=a.gauges, maxima=m.gauges, lasts=a.lasts)
        for a, m in zip(averages, maxima, strict=True)
    ]


def expected(bucket_ms: int, samples: Sequence[MetricsSample]) -> Summary:
    """What a bucket holding exactly `samples` must say, computed the obvious way."""
    newest = max(samples, key=lambda s: s.time)
    return Summary(
        bucket_ms=bucket_ms,
        sample_count=len(samples),
        averages=tuple(sum(getattr(s, f) for s in samples) / len(samples) for f in GAUGE_METRIC_FIELDS),
        maxima=tuple(max(getattr(s, f) for s in samples) for f in GAUGE_METRIC_FIELDS),
        lasts=tuple(getattr(newest, f) for f in COUNTER_METRIC_FIELDS),
    )


def assert_buckets(actual: Sequence[Summary], wanted: Sequence[Summary]) -> None:
    assert [(b.bucket_ms, b.sample_count) for b in actual] == [(b.bucket_ms, b.sample_count) for b in wanted]
    for got, want in zip(actual, wanted, strict=True):
        assert got.maxima == want.maxima
        assert got.lasts == want.lasts
        # Averages are float sums on both sides, in different orders.
        assert got.averages == pytest.approx(want.averages, rel=1e-12)


def by_bucket(samples: Sequence[MetricsSample], width_ms: int) -> dict[int, list[MetricsSample]]:
    buckets: dict[int, list[MetricsSample]] = {}
    for s in samples:
        moment = datetime_to_ms(s.time)
        buckets.setdefault(moment - moment % width_ms, []).append(s)
    return dict(sorted(buckets.items()))


async def roll_up_all(storage: TransferStorage, until_ms: int, max_samples: int = 10_000) -> int:
    calls = 0
    while True:
        calls += 1
        progress = await storage.roll_up(until_ms, max_samples=max_samples)
        if progress.caught_up:
            return calls


async def roll_up_late_all(storage: TransferStorage) -> None:
    while await storage.roll_up_late(max_buckets=100):
        pass


async def test_minute_rollups_hold_average_maximum_and_last_value_with_boundary_samples(
    storage: TransferStorage,
) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    first_minute = [
        point(M0, cpu=10.0, memory=1000, rx=500, load1=0.5, uptime=100),  # exactly on the boundary: this minute
        point(M0 + 20_000, cpu=40.0, memory=4000, rx=900, load1=2.0, uptime=120),
        point(M0 + 59_999, cpu=25.0, memory=1500, rx=1200, load1=1.0, uptime=159),  # its last millisecond
    ]
    second_minute = [
        point(
            M0 + MINUTE_MS, cpu=90.0, memory=2000, rx=1300, load1=3.0, uptime=160
        ),  # the next boundary: the next minute
        point(M0 + MINUTE_MS + 30_000, cpu=70.0, memory=3000, rx=1700, load1=0.25, uptime=190),
    ]
    # Stored out of order, as a backfill interleaved with live samples would be.
    await storage.insert_samples([(server.id, s) for s in reversed(first_minute + second_minute)])
    await roll_up_all(storage, M0 + 2 * MINUTE_MS)

    minutes = await history(storage, server.id, Tier.MINUTE, M0, M0 + 2 * MINUTE_MS, MINUTE_MS)
    assert_buckets(minutes, [expected(M0, first_minute), expected(M0 + MINUTE_MS, second_minute)])
    cpu, memory, load1 = (GAUGE_METRIC_FIELDS.index(f) for f in ("cpu_usage_percent", "memory_usage_bytes", "load1"))
    rx, uptime = (COUNTER_METRIC_FIELDS.index(f) for f in ("network_rx_total_bytes", "uptime_seconds"))
    # The same, spelled out.
    assert minutes[0].averages[cpu] == 25.0 and minutes[0].maxima[cpu] == 40.0
    assert minutes[0].averages[memory] == pytest.approx(6500 / 3) and minutes[0].maxima[memory] == 4000
    assert minutes[0].averages[load1] == pytest.approx(3.5 / 3) and minutes[0].maxima[load1] == 2.0
    assert minutes[0].lasts[rx] == 1200 and minutes[0].lasts[uptime] == 159
    assert (minutes[1].sample_count, minutes[1].averages[cpu], minutes[1].maxima[cpu]) == (2, 80.0, 90.0)
    assert minutes[1].lasts[rx] == 1700 and minutes[1].lasts[uptime] == 190
    assert isinstance(minutes[0].maxima[memory], int) and isinstance(minutes[0].lasts[rx], int)


async def test_hour_rollups_weigh_each_sample_not_each_minute(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    samples = [
        point(H0, cpu=100.0, rx=1),  # on the hour boundary: the first hour
        point(H0 + 5 * MINUTE_MS, cpu=0.0, rx=2),
        point(H0 + 5 * MINUTE_MS + 1, cpu=0.0, rx=3),
        point(H0 + 5 * MINUTE_MS + 2, cpu=0.0, rx=4),
        point(H0 + HOUR_MS - 1, cpu=50.0, rx=5),  # its last millisecond
        point(H0 + HOUR_MS, cpu=7.0, rx=6),  # the next boundary: the second hour
        point(H0 + 2 * HOUR_MS - 30_000, cpu=9.0, rx=7),
    ]
    await storage.insert_samples([(server.id, s) for s in samples])
    await roll_up_all(storage, H0 + 2 * HOUR_MS)

    hours = await history(storage, server.id, Tier.HOUR, H0, H0 + 2 * HOUR_MS, HOUR_MS)
    assert_buckets(hours, [expected(H0, samples[:5]), expected(H0 + HOUR_MS, samples[5:])])
    # 150 / 5 samples, not (100 + 0 + 50) / 3 minutes.
    assert hours[0].averages[0] == 30.0 and hours[0].maxima[0] == 100.0 and hours[0].lasts[0] == 5
    assert (hours[1].sample_count, hours[1].averages[0], hours[1].lasts[0]) == (2, 8.0, 7)


async def test_an_hour_is_rolled_up_only_once_it_is_complete(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, point(H0 + m * MINUTE_MS, cpu=float(m))) for m in range(90)])
    await roll_up_all(storage, H0 + 50 * MINUTE_MS)
    assert await history(storage, server.id, Tier.HOUR, H0, H0 + 50 * MINUTE_MS, HOUR_MS) == [
        # Not rolled up into an hour yet: read from the minutes instead, same result.
        *await history(storage, server.id, Tier.MINUTE, H0, H0 + 50 * MINUTE_MS, HOUR_MS)
    ]
    await roll_up_all(storage, H0 + 61 * MINUTE_MS)
    samples = [point(H0 + m * MINUTE_MS, cpu=float(m)) for m in range(61)]
    hours = await history(storage, server.id, Tier.HOUR, H0, H0 + 61 * MINUTE_MS, HOUR_MS)
    assert_buckets(hours, [expected(H0, samples[:60]), expected(H0 + HOUR_MS, samples[60:])])


async def test_rolling_up_in_small_steps_or_again_gives_the_same_buckets(storage: TransferStorage) -> None:
    # Uneven minutes: 1 to 7 samples each, over three hours, with a silent stretch.
    samples = [
        point(H0 + m * MINUTE_MS + k * 7_000, cpu=float((m * 7 + k) % 101), memory=m * 1000 + k, rx=m * 10 + k)
        for m in range(180)
        if not 70 <= m < 95
        for k in range(1 + m % 7)
    ]
    whole = await storage.create_server("whole", "h", now_ms=T0)
    await storage.insert_samples([(whole.id, s) for s in samples])
    assert await roll_up_all(storage, H0 + 3 * HOUR_MS, max_samples=10_000) == 1
    steps = await storage.create_server("steps", "h", now_ms=T0)
    await storage.insert_samples([(steps.id, s) for s in samples])
    # Ten samples at most per call (a minute is never split, and holds up to 7): many calls,
    # each saying how many samples it rolled up.
    counts = []
    while not (progress := await storage.roll_up(H0 + 3 * HOUR_MS, max_samples=10)).caught_up:
        counts.append(progress.samples)
    counts.append(progress.samples)
    assert len(counts) > len(samples) // 10 and max(counts) <= 10 and sum(counts) == len(samples)

    minutes = [expected(b, group) for b, group in by_bucket(samples, MINUTE_MS).items()]
    hours = [expected(b, group) for b, group in by_bucket(samples, HOUR_MS).items()]
    for server in (whole, steps):
        assert_buckets(await history(storage, server.id, Tier.MINUTE, H0, H0 + 3 * HOUR_MS, MINUTE_MS), minutes)
        assert_buckets(await history(storage, server.id, Tier.HOUR, H0, H0 + 3 * HOUR_MS, HOUR_MS), hours)
    # Again: nothing to do, nothing changes.
    progress = await storage.roll_up(H0 + 3 * HOUR_MS, max_samples=10)
    assert (progress.samples, progress.caught_up) == (0, True)
    assert_buckets(await history(storage, steps.id, Tier.HOUR, H0, H0 + 3 * HOUR_MS, HOUR_MS), hours)


async def test_rolling_up_advances_with_time(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    samples = [point(H0 + s * 10_000, cpu=float(s % 13)) for s in range(6 * 60 * 3)]  # 3 h at one per 10 s
    for minute in range(0, 180, 5):  # they arrive five minutes at a time, and time moves on
        await storage.insert_samples([(server.id, s) for s in samples[minute * 6 : (minute + 5) * 6]])
        await roll_up_all(storage, H0 + minute * MINUTE_MS)
    await roll_up_all(storage, H0 + 3 * HOUR_MS)
    assert_buckets(
        await history(storage, server.id, Tier.HOUR, H0, H0 + 3 * HOUR_MS, HOUR_MS),
        [expected(b, group) for b, group in by_bucket(samples, HOUR_MS).items()],
    )
    assert_buckets(
        await history(storage, server.id, Tier.MINUTE, H0, H0 + 3 * HOUR_MS, MINUTE_MS),
        [expected(b, group) for b, group in by_bucket(samples, MINUTE_MS).items()],
    )


async def test_late_samples_reach_the_minutes_and_hours_already_rolled_up(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    live = [point(H0 + s * 10_000, cpu=10.0, rx=s) for s in range(6 * 90)]  # 90 minutes
    # An agent offline from minute 20 to 50 comes back and sends its buffer (original times).
    gap = range(6 * 20, 6 * 50)
    await storage.insert_samples([(server.id, s) for i, s in enumerate(live) if i not in gap])
    await roll_up_all(storage, H0 + 90 * MINUTE_MS)
    backfill = [msgspec.structs.replace(live[i], cpu_usage_percent=70.0) for i in gap]
    # One more on the boundary of an hour-old minute that already had its samples.
    extra = point(H0 + 5 * MINUTE_MS, cpu=100.0, rx=9999)
    assert await storage.insert_samples([(server.id, s) for s in [*backfill, extra]]) == len(
        backfill
    )  # extra: a duplicate time
    extra_late = point(H0 + 5 * MINUTE_MS + 1, cpu=100.0, rx=30)
    assert await storage.insert_samples([(server.id, extra_late)]) == 1

    stale = await history(storage, server.id, Tier.HOUR, H0, H0 + HOUR_MS, HOUR_MS)
    assert stale[0].sample_count == 6 * 60 - len(gap)  # not seen yet: only noted
    await roll_up_late_all(storage)
    assert await storage.roll_up_late(max_buckets=100) == 0

    stored = [*(s for i, s in enumerate(live) if i not in gap), *backfill, extra_late]
    assert_buckets(
        await history(storage, server.id, Tier.MINUTE, H0, H0 + 90 * MINUTE_MS, MINUTE_MS),
        [expected(b, group) for b, group in by_bucket(stored, MINUTE_MS).items()],
    )
    hours = await history(storage, server.id, Tier.HOUR, H0, H0 + HOUR_MS, HOUR_MS)
    assert_buckets(hours, [expected(H0, [s for s in stored if datetime_to_ms(s.time) < H0 + HOUR_MS])])
    assert hours[0].sample_count == 6 * 60 + 1
    # The backfilled minutes hold the backfill alone.
    gap_minute = await history(storage, server.id, Tier.MINUTE, H0 + 30 * MINUTE_MS, H0 + 31 * MINUTE_MS, MINUTE_MS)
    assert gap_minute[0].averages[0] == 70.0


async def test_late_samples_into_a_half_open_hour_are_counted_when_it_completes(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, point(H0 + m * MINUTE_MS, cpu=1.0)) for m in range(40)])
    await roll_up_all(storage, H0 + 40 * MINUTE_MS)
    late = point(H0 + 10 * MINUTE_MS + 500, cpu=62.0)
    await storage.insert_samples([(server.id, late)])
    await roll_up_late_all(storage)
    await storage.insert_samples([(server.id, point(H0 + m * MINUTE_MS, cpu=1.0)) for m in range(40, 60)])
    await roll_up_all(storage, H0 + HOUR_MS)
    (hour,) = await history(storage, server.id, Tier.HOUR, H0, H0 + HOUR_MS, HOUR_MS)
    assert (hour.sample_count, hour.averages[0], hour.maxima[0]) == (61, 2.0, 62.0)  # (60 x 1 + 62) / 61


async def test_late_samples_where_raw_samples_are_already_deleted_leave_the_rollup_alone(
    storage: TransferStorage,
) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, point(H0 + s * 10_000, cpu=5.0)) for s in range(6 * 120)])
    await roll_up_all(storage, H0 + 2 * HOUR_MS)
    cutoffs = RetentionCutoffs(raw_before_ms=H0 + HOUR_MS, minute_before_ms=0, hour_before_ms=0)
    while await storage.delete_expired(cutoffs, max_rows=1000):
        pass
    before = await history(storage, server.id, Tier.MINUTE, H0, H0 + 2 * HOUR_MS, MINUTE_MS)
    # Older than raw retention on arrival: beyond any agent's buffer. Stored, but its minute
    # cannot be recomputed from raw samples that are gone, so the rollups keep what they had.
    await storage.insert_samples([(server.id, point(H0 + 30 * MINUTE_MS + 1, cpu=99.0))])
    # Late but still within raw retention: counted.
    await storage.insert_samples([(server.id, point(H0 + 90 * MINUTE_MS + 1, cpu=99.0))])
    await roll_up_late_all(storage)
    after = await history(storage, server.id, Tier.MINUTE, H0, H0 + 2 * HOUR_MS, MINUTE_MS)
    assert after[:90] == before[:90]
    assert (after[90].sample_count, after[90].maxima[0]) == (7, 99.0)
    assert after[91:] == before[91:]


async def test_raw_samples_are_deleted_only_once_rolled_up(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, point(H0 + s * 10_000, cpu=1.0)) for s in range(6 * 120)])
    cutoffs = RetentionCutoffs(raw_before_ms=FAR, minute_before_ms=0, hour_before_ms=0)
    assert await storage.delete_expired(cutoffs, max_rows=10_000) == 0  # never rolled up: all kept
    await roll_up_all(storage, H0 + 30 * MINUTE_MS)
    assert await storage.delete_expired(cutoffs, max_rows=10_000) == 6 * 30
    remaining = await storage.query_samples(server.id, 0, FAR)
    assert datetime_to_ms(remaining[0].time) == H0 + 30 * MINUTE_MS and len(remaining) == 6 * 90


async def test_retention_deletes_what_is_due_and_nothing_else(storage: TransferStorage) -> None:
    a = await storage.create_server("a", "h", now_ms=T0)
    b = await storage.create_server("b", "h", now_ms=T0)
    hours = 6
    samples = [point(H0 + s * 30_000, cpu=float(s % 50)) for s in range(2 * 60 * hours)]
    await storage.insert_samples([(server.id, s) for s in samples for server in (a, b)])
    await roll_up_all(storage, H0 + hours * HOUR_MS)
    raw_before, minute_before, hour_before = H0 + 5 * HOUR_MS + 17 * MINUTE_MS, H0 + 3 * HOUR_MS, H0 + 2 * HOUR_MS
    cutoffs = RetentionCutoffs(raw_before_ms=raw_before, minute_before_ms=minute_before, hour_before_ms=hour_before)

    # In batches: each call deletes at most max_rows, until nothing is due.
    deleted = []
    while count := await storage.delete_expired(cutoffs, max_rows=97):
        deleted.append(count)
    assert all(count <= 97 for count in deleted) and deleted[0] == 97
    raw_due = sum(1 for s in samples if datetime_to_ms(s.time) < raw_before)
    minutes_due, hours_due = 3 * 60, 2
    assert sum(deleted) == 2 * (raw_due + minutes_due + hours_due)

    for server in (a, b):
        kept = await storage.query_samples(server.id, 0, FAR)
        assert [datetime_to_ms(s.time) for s in kept] == [
            datetime_to_ms(s.time) for s in samples if datetime_to_ms(s.time) >= raw_before
        ]
        minutes = await history(storage, server.id, Tier.MINUTE, 0, FAR, MINUTE_MS)
        assert [m.bucket_ms for m in minutes] == [H0 + m * MINUTE_MS for m in range(3 * 60, hours * 60)]
        hour_rows = await history(storage, server.id, Tier.HOUR, 0, H0 + hours * HOUR_MS, HOUR_MS)
        assert [h.bucket_ms for h in hour_rows] == [H0 + h * HOUR_MS for h in range(2, hours)]
        assert_buckets(hour_rows, [expected(k, g) for k, g in by_bucket(samples, HOUR_MS).items() if k >= hour_before])


async def test_retention_keeps_whole_buckets_when_a_cutoff_falls_inside_one(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, point(H0 + s * 10_000, cpu=1.0)) for s in range(6 * 180)])
    await roll_up_all(storage, H0 + 3 * HOUR_MS)
    cutoffs = RetentionCutoffs(
        raw_before_ms=H0 + 30 * MINUTE_MS + 25_000,  # inside a minute: the minute stays whole
        minute_before_ms=H0 + 90 * MINUTE_MS,  # inside an hour: the hour's minutes stay whole
        hour_before_ms=0,
    )
    while await storage.delete_expired(cutoffs, max_rows=1000):
        pass
    assert datetime_to_ms((await storage.query_samples(server.id, 0, FAR))[0].time) == H0 + 30 * MINUTE_MS
    assert (await history(storage, server.id, Tier.MINUTE, 0, FAR, MINUTE_MS))[0].bucket_ms == H0 + HOUR_MS


async def test_history_downsamples_any_tier_to_the_step(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    samples = [point(H0 + s * 5_000, cpu=float(s % 17), memory=s, rx=s) for s in range(12 * 60 * 4)]  # 4 h at 5 s
    await storage.insert_samples([(server.id, s) for s in samples])
    raw_5min = await history(storage, server.id, Tier.RAW, H0, H0 + 4 * HOUR_MS, 5 * MINUTE_MS)
    assert_buckets(raw_5min, [expected(b, g) for b, g in by_bucket(samples, 5 * MINUTE_MS).items()])
    # Steps need not divide an hour: 7 s buckets aligned to multiples of 7 s since the epoch.
    raw_7s = await history(storage, server.id, Tier.RAW, H0 + 1000, H0 + 60_000, 7_000)
    window = [s for s in samples if H0 + 1000 <= datetime_to_ms(s.time) < H0 + 60_000]
    assert_buckets(raw_7s, [expected(b, g) for b, g in by_bucket(window, 7_000).items()])

    await roll_up_all(storage, H0 + 4 * HOUR_MS)
    hourly = [expected(b, g) for b, g in by_bucket(samples, 2 * HOUR_MS).items()]
    for tier in Tier:
        assert_buckets(await history(storage, server.id, tier, H0, H0 + 4 * HOUR_MS, 2 * HOUR_MS), hourly)
    with pytest.raises(ValueError):
        await storage.history(server.id, Tier.HOUR, H0, H0 + 4 * HOUR_MS, 90 * MINUTE_MS)


async def test_history_reads_what_is_not_rolled_up_yet_from_the_finer_tiers(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    samples = [point(H0 + s * 10_000, cpu=float(s % 11), rx=s) for s in range(6 * 60 * 3)]  # 3 h
    await storage.insert_samples([(server.id, s) for s in samples])
    await roll_up_all(storage, H0 + 2 * HOUR_MS + 25 * MINUTE_MS)  # hours: 2; minutes: 145; the rest raw
    for step in (3 * HOUR_MS, HOUR_MS, 20 * MINUTE_MS):
        want = [expected(b, g) for b, g in by_bucket(samples, step).items()]
        assert_buckets(
            await history(
                storage, server.id, Tier.HOUR if step % HOUR_MS == 0 else Tier.MINUTE, H0, H0 + 3 * HOUR_MS, step
            ),
            want,
        )


async def test_history_leaves_gaps_where_the_agent_was_silent(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    samples = [point(H0 + m * MINUTE_MS, cpu=1.0) for m in range(120) if not 30 <= m < 75]
    await storage.insert_samples([(server.id, s) for s in samples])
    await roll_up_all(storage, H0 + HOUR_MS)
    for tier in (Tier.RAW, Tier.MINUTE):
        buckets = await history(storage, server.id, tier, H0, H0 + 2 * HOUR_MS, 5 * MINUTE_MS)
        assert [b.bucket_ms for b in buckets] == [H0 + m * MINUTE_MS for m in range(0, 120, 5) if not 30 <= m < 75]
    assert await history(storage, server.id, Tier.RAW, H0 + 31 * MINUTE_MS, H0 + 74 * MINUTE_MS, MINUTE_MS) == []
    assert await history(storage, 10**12, Tier.HOUR, H0, FAR, HOUR_MS) == []


async def test_deleting_a_server_deletes_its_history(storage: TransferStorage) -> None:
    gone = await storage.create_server("gone", "h", now_ms=T0)
    kept = await storage.create_server("kept", "h", now_ms=T0)
    await storage.insert_samples([(s.id, point(H0 + m * MINUTE_MS, cpu=1.0)) for m in range(120) for s in (gone, kept)])
    await roll_up_all(storage, H0 + 2 * HOUR_MS)
    await storage.insert_samples([(gone.id, point(H0 + 1, cpu=1.0))])  # a late sample, noted
    assert await storage.delete_server(gone.id)
    for tier in Tier:
        assert await history(storage, gone.id, tier, 0, FAR, HOUR_MS) == []
    assert await storage.roll_up_late(max_buckets=10) == 0
    assert len(await history(storage, kept.id, Tier.HOUR, 0, FAR, HOUR_MS)) == 2


async def test_ingest_during_rollups_loses_no_sample(storage: TransferStorage) -> None:
    # Live samples and backfills of several agents arrive while the rollups advance and catch
    # up with late samples; afterwards every minute and hour equals its raw samples.
    servers = [await storage.create_server(f"s{i}", "h", now_ms=T0) for i in range(4)]
    stored: list[tuple[int, MetricsSample]] = []
    done = trio.Event()

    async def agent(server_id: int, seed: int) -> None:
        for minute in range(0, 120, 3):
            live = [point(H0 + minute * MINUTE_MS + k * 20_000, cpu=float((seed + k) % 9)) for k in range(9)]
            backfill = [point(H0 + (minute // 2) * MINUTE_MS + 7 + k, cpu=50.0 + seed) for k in range(3)]
            batch = [(server_id, s) for s in live + backfill]
            await storage.insert_samples(batch)
            stored.extend(batch)
            await trio.lowlevel.checkpoint()

    async def maintenance() -> None:
        moment = H0
        while not done.is_set():
            moment = min(moment + 5 * MINUTE_MS, H0 + 2 * HOUR_MS)
            await storage.roll_up(moment, max_samples=50)
            await storage.roll_up_late(max_buckets=7)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(maintenance)
        async with trio.open_nursery() as agents:
            for seed, server in enumerate(servers):
                agents.start_soon(agent, server.id, seed)
        done.set()
    await roll_up_all(storage, H0 + 2 * HOUR_MS)
    await roll_up_late_all(storage)
    for server in servers:
        mine = list({datetime_to_ms(s.time): s for sid, s in reversed(stored) if sid == server.id}.values())
        assert_buckets(
            await history(storage, server.id, Tier.MINUTE, H0, H0 + 2 * HOUR_MS, MINUTE_MS),
            [expected(b, g) for b, g in by_bucket(mine, MINUTE_MS).items()],
        )
        assert_buckets(
            await history(storage, server.id, Tier.HOUR, H0, H0 + 2 * HOUR_MS, HOUR_MS),
            [expected(b, g) for b, g in by_bucket(mine, HOUR_MS).items()],
        )


async def test_size_grows_with_the_data(storage: TransferStorage) -> None:
    empty = await storage.size_bytes()
    assert empty > 0
    server = await storage.create_server("s", "h", now_ms=T0)
    await storage.insert_samples([(server.id, point(H0 + s * 1000, cpu=1.0)) for s in range(20_000)])
    assert await storage.size_bytes() > empty + 20_000 * 100  # at least ~100 bytes a sample
    assert await storage.reclaim_space(max_pages=10) >= 0


def test_the_fields_split_into_gauges_and_counters() -> None:
    assert set(GAUGE_METRIC_FIELDS) | set(COUNTER_METRIC_FIELDS) == set(msgspec.structs.asdict(sample(0))) - {"time"}
    assert not set(GAUGE_METRIC_FIELDS) & set(COUNTER_METRIC_FIELDS)
    assert ms_to_datetime(M0).second == 0 and M0 % MINUTE_MS == 0
