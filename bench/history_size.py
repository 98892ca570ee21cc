"""How big the metric history of one server gets, what maintenance costs, and how long the
history queries take: SQLite and PostgreSQL side by side.

One server reports a sample every `--interval` seconds for `--days` simulated days. The samples
are stored an hour at a time (batches of up to 5000, as the ingest writer would), and after each
hour the daemon's own maintenance pass runs at that moment (monitord.history.maintenance:
rollups, retention with the default or given `--raw-hours/--minute-days/--hour-days`, vacuum).
At the end it prints the database size (SQLite: file plus WAL) against the budget below, rows
per tier, the longest single maintenance transaction (what an ingest batch may have to wait
for on SQLite), and the time of the dashboard's ranged queries as the route runs them (storage
read, points built, JSON encoded), median of `--repeat` runs.

Budget for one server, stated by issue 8 and checked here: 250 bytes per raw sample kept,
400 bytes per 1-minute or 1-hour bucket kept, plus 8 MiB that do not grow with the history
(SQLite: the WAL, which autocheckpoints at 1000 pages, about 4 MiB; PostgreSQL: each table's
and index's first pages). For a year at one sample per 10 s with the default retention that
is up to 17,640 raw samples, 20,220 minutes and 8,760 hours: 23.8 MiB.

PostgreSQL reuses the space of deleted rows once (auto)vacuum has seen them. Autovacuum runs
every minute of real time; the simulation runs days in seconds, so it runs VACUUM itself after
each simulated hour, as autovacuum would have many times over.

    .venv/bin/python bench/history_size.py --days 365 --interval 10 --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/history_size.py --days 30 --interval 1 --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/history_size.py --days 3 --interval 1 --backlog-hours 48   # full-budget batches
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from monitord.config import RetentionSettings
from monitord.history.maintenance import run_pass
from monitord.history.ranges import choose_tier, default_step_ms, tier_for_step, to_point
from monitord.models import MetricsSample, ms_to_datetime
from monitord.storage import Storage, open_database
from monitord.storage.base import HOUR_MS
from monitord.wire import MetricsHistory, encoder

# Run as a script (bench/x.py), the repository root is not on the path: bench.* needs it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 24 * HOUR_MS
MIB = 1024 * 1024
RAW_ROW_BYTES, BUCKET_ROW_BYTES, FIXED_BYTES = 250, 400, 8 * MIB
RANGES = {"1h": HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}


def synthetic(moment_ms: int, index: int) -> MetricsSample:
    """A plausible sample: values vary from one to the next, so nothing compresses away."""
    return MetricsSample(
        time=ms_to_datetime(moment_ms),
        cpu_usage_percent=(index * 37 % 1000) / 10,
        memory_usage_bytes=2 * 1024**3 + index * 4096 % 1024**3,
        memory_total_bytes=8 * 1024**3,
        swap_usage_bytes=index * 512 % 1024**3,
        swap_total_bytes=1024**3,
        disk_used_bytes=50 * 1024**3 + index * 4096,
        disk_total_bytes=200 * 1024**3,
        disk_read_bps=1500.5 + index % 977,
        disk_write_bps=2500.25 + index % 991,
        network_rx_instant_bps=10_000.0 + index % 97,
        network_tx_instant_bps=5_000.0 + index % 89,
        network_rx_total_bytes=2**40 + index * 10_000,
        network_tx_total_bytes=2**39 + index * 5_000,
        load1=(index % 400) / 100,
        load5=(index % 300) / 100,
        load15=(index % 200) / 100,
        process_count=300 + index % 50,
        tcp_connections=40 + index % 20,
        udp_connections=7,
        uptime_seconds=86_400 + index,
    )


class TimedStorage:
    """The storage, with the time of every maintenance and insert call recorded by method."""

    TIMED = ("insert_samples", "roll_up", "roll_up_late", "delete_expired", "reclaim_space")

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.durations: dict[str, list[float]] = {name: [] for name in self.TIMED}

    def __getattr__(self, name: str) -> object:
        method = getattr(self._storage, name)
        if name not in self.TIMED:
            return method

        async def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.durations[name].append(time.perf_counter() - started)

        return timed

    def summary(self) -> str:
        parts = []
        for name, durations in self.durations.items():
            if durations:
                ordered = sorted(durations)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                parts.append(f"{name} {len(ordered)}x p99 {p99 * 1000:.1f} max {ordered[-1] * 1000:.1f} ms")
        return "; ".join(parts)


def budget_bytes(retention: RetentionSettings, days: float, interval_seconds: float) -> tuple[int, dict[str, int]]:
    """The size budget for one server after `days` at one sample per `interval_seconds`, and the
    rows each tier holds by then (raw: up to an hour more than raw_hours, kept until rolled up
    and deleted whole minutes at a time; minutes: up to an hour more, deleted whole hours)."""
    span_hours = days * 24
    rows = {
        "raw": round(min(span_hours, retention.raw_hours + 1) * 3600 / interval_seconds),
        "1m": round(min(span_hours, retention.minute_days * 24 + 1) * 60),
        "1h": round(min(span_hours, retention.hour_days * 24)),
    }
    return rows["raw"] * RAW_ROW_BYTES + (rows["1m"] + rows["1h"]) * BUCKET_ROW_BYTES + FIXED_BYTES, rows


async def simulate(
    storage: Storage,
    retention: RetentionSettings,
    days: float,
    interval_seconds: float,
    after_each_hour: Callable[[], Awaitable[None]] | None = None,
    backlog_hours: int = 0,
) -> dict[str, float]:
    """Store `days` of samples an hour at a time, with a maintenance pass after each hour but
    the first `backlog_hours` (a database upgraded from before rollups, or whose maintenance
    was failing: the first pass then works through a backlog in full-budget batches)."""
    server = await storage.create_server("bench", "h", now_ms=START)
    step_ms = round(interval_seconds * 1000)
    end = START + round(days * DAY_MS)
    index, longest, passes, inserting = 0, 0.0, 0, 0.0
    started = time.perf_counter()
    for hour in range(START, end, HOUR_MS):
        backlog = hour < START + backlog_hours * HOUR_MS
        moments = range(hour, min(hour + HOUR_MS, end), step_ms)
        samples = [(server.id, synthetic(moment, index + i)) for i, moment in enumerate(moments)]
        index += len(samples)
        for first in range(0, len(samples), 5000):
            batch_started = time.perf_counter()
            await storage.insert_samples(samples[first : first + 5000])
            inserting += time.perf_counter() - batch_started
        if backlog:
            continue
        report = await run_pass(storage, retention, hour + HOUR_MS, pause_seconds=0)
        longest = max(longest, report.longest_batch_seconds)
        passes += 1
        if after_each_hour is not None:
            await after_each_hour()
    return {
        "server_id": server.id,
        "samples": index,
        "seconds": time.perf_counter() - started,
        "insert_seconds": inserting,
        "longest_batch_ms": longest * 1000,
        "passes": passes,
        "end_ms": end,
    }


async def time_queries(
    storage: Storage, server_id: int, retention: RetentionSettings, now: int, repeat: int
) -> dict[str, tuple[str, int, float]]:
    """Per range: the tier, the number of points, and the median time of the route's work."""
    results = {}
    for name, span in RANGES.items():
        lo = now - span
        finest = choose_tier(retention, lo, now)
        step = default_step_ms(lo, now, finest)
        tier = tier_for_step(finest, step)
        durations, points = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            buckets = await storage.history(server_id, tier, lo, now, step)
            body = encoder.encode(
                MetricsHistory(points=[to_point(b) for b in buckets], step=step // 1000, tier=tier.value)
            )
            durations.append(time.perf_counter() - started)
            points = len(buckets)
        assert body
        results[name] = (tier.value, points, statistics.median(durations) * 1000)
    return results


class SideConnection:
    """Plain SQL beside the storage, for counting rows and (PostgreSQL) vacuuming. Benchmarks
    may; the daemon's own code keeps its SQL in monitord/storage."""

    def __init__(self, url: str, run: Callable[[str, tuple[object, ...]], Awaitable[object]]) -> None:
        self.url = url
        self.run = run

    async def tier_rows(self, server_id: int) -> dict[str, int]:
        return {
            tier: int(await self.run(f"SELECT count(*) FROM {table} WHERE server_id = {int(server_id)}", ()))  # type: ignore[call-overload]
            for tier, table in (("raw", "metrics"), ("1m", "metrics_1m"), ("1h", "metrics_1h"))
        }

    async def vacuum(self) -> None:
        if not self.url.startswith("sqlite://"):
            await self.run("VACUUM metrics, metrics_1m, metrics_1h, rollup_state, rollup_late, servers", ())


@asynccontextmanager
async def side_connection(url: str) -> AsyncIterator[SideConnection]:
    if url.startswith("sqlite://"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite://"))

        async def run_sqlite(sql: str, parameters: tuple[object, ...]) -> object:
            return connection.execute(sql, parameters).fetchone()[0]

        try:
            yield SideConnection(url, run_sqlite)
        finally:
            connection.close()
        return
    import asyncpg
    import trio_asyncio

    async with trio_asyncio.open_loop() as loop:
        pg = await loop.run_aio_coroutine(asyncpg.connect(url))

        async def run_postgres(sql: str, parameters: tuple[object, ...]) -> object:
            if sql.startswith("VACUUM"):
                return await loop.run_aio_coroutine(pg.execute(sql))
            return await loop.run_aio_coroutine(pg.fetchval(sql, *parameters))

        try:
            yield SideConnection(url, run_postgres)
        finally:
            await loop.run_aio_coroutine(pg.close())


async def measure_backend(name: str, url: str, args: argparse.Namespace, retention: RetentionSettings) -> bool:
    async with open_database(url) as opened:
        storage = TimedStorage(opened)
        async with side_connection(url) as side:
            figures = await simulate(  # type: ignore[arg-type]
                storage, retention, args.days, args.interval, side.vacuum, backlog_hours=args.backlog_hours
            )
            rows = await side.tier_rows(int(figures["server_id"]))
        size = await opened.size_bytes()
        queries = await time_queries(opened, int(figures["server_id"]), retention, int(figures["end_ms"]), args.repeat)
        calls = storage.summary()
    budget, expected_rows = budget_bytes(retention, args.days, args.interval)
    within = size <= budget
    print(
        f"\n{name}: {figures['samples']:,.0f} samples over {args.days:g} days at {args.interval:g} s "
        f"in {figures['seconds']:.0f} s ({figures['insert_seconds']:.0f} s inserting, {figures['passes']:.0f} passes)"
    )
    print(
        f"  rows kept: raw {rows['raw']:,}, 1m {rows['1m']:,}, 1h {rows['1h']:,} "
        f"(budgeted {expected_rows['raw']:,}, {expected_rows['1m']:,}, {expected_rows['1h']:,})"
    )
    print(
        f"  size: {size / MIB:.1f} MiB; budget {budget / MIB:.1f} MiB: {'within budget' if within else 'OVER BUDGET'}"
    )
    print(f"  longest maintenance transaction: {figures['longest_batch_ms']:.1f} ms")
    print(f"  calls (batches of 5000 inserted samples; maintenance transactions): {calls}")
    for range_name, (tier, points, median_ms) in queries.items():
        print(
            f"  query {range_name:>4}: tier {tier:<3} {points:>5} points  {median_ms:7.1f} ms (median of {args.repeat})"
        )
    return within


async def measure(args: argparse.Namespace) -> int:
    retention = RetentionSettings(raw_hours=args.raw_hours, minute_days=args.minute_days, hour_days=args.hour_days)
    results = []
    with tempfile.TemporaryDirectory() as directory:
        results.append(await measure_backend("sqlite", f"sqlite://{Path(directory) / 'bench.db'}", args, retention))
    if args.postgres:
        from bench.scratch_postgres import scratch_database_url

        async with scratch_database_url(args.postgres, "monitord_bench") as url:
            results.append(await measure_backend("postgresql", url, args, retention))
    return 0 if all(results) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL URL whose user may CREATE DATABASE")
    parser.add_argument("--days", type=float, default=30, help="simulated days (default 30)")
    parser.add_argument("--interval", type=float, default=1, help="seconds between samples (default 1)")
    parser.add_argument("--raw-hours", type=int, default=RetentionSettings().raw_hours)
    parser.add_argument("--minute-days", type=int, default=RetentionSettings().minute_days)
    parser.add_argument("--hour-days", type=int, default=RetentionSettings().hour_days)
    parser.add_argument("--repeat", type=int, default=9, help="runs of each query (default 9)")
    parser.add_argument(
        "--backlog-hours", type=int, default=0, help="hours stored before the first maintenance pass (default 0)"
    )
    args = parser.parse_args()
    raise SystemExit(trio.run(measure, args))


if __name__ == "__main__":
    main()
