"""Samples per second through `Storage.insert_samples`, SQLite and PostgreSQL side by side.

A fleet of `--servers` hosts reports one sample per host per tick; the daemon stores a batch
of samples per transaction. Each run writes `--samples` samples in batches of each
`--batch-sizes` size, with 1 and with `--writers` concurrent writers (batches of different
ticks in flight at once), into a fresh database: a temporary SQLite file, and a scratch
PostgreSQL database that is dropped at the end. Every batch is durable when it returns
(SQLite synchronous=FULL, PostgreSQL synchronous_commit as the server is configured).

    .venv/bin/python bench/storage_ingest.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Without --postgres only SQLite is measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

from monitord.models import MetricsSample, ms_to_datetime
from monitord.storage import Storage, open_database

# Run as a script (bench/x.py), the repository root is not on the path: bench.* needs it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T0 = 1_790_000_000_000


def fleet_sample(host: int, tick: int) -> MetricsSample:
    """A plausible sample: values vary with host and tick so nothing compresses away."""
    return MetricsSample(
        time=ms_to_datetime(T0 + tick * 1000),
        cpu_usage_percent=(host * 7 + tick) % 1000 / 10,
        memory_usage_bytes=2 * 1024**3 + host * 4096 + tick,
        memory_total_bytes=8 * 1024**3,
        swap_usage_bytes=tick * 512,
        swap_total_bytes=1024**3,
        disk_used_bytes=50 * 1024**3 + tick * 4096,
        disk_total_bytes=200 * 1024**3,
        disk_read_bps=1500.5 + tick,
        disk_write_bps=2500.25 + host,
        network_rx_instant_bps=10_000.0 + tick % 97,
        network_tx_instant_bps=5_000.0 + tick % 89,
        network_rx_total_bytes=2**40 + tick * 10_000,
        network_tx_total_bytes=2**39 + tick * 5_000,
        load1=(tick % 400) / 100,
        load5=(tick % 300) / 100,
        load15=(tick % 200) / 100,
        process_count=300 + tick % 50,
        tcp_connections=40 + tick % 20,
        udp_connections=7,
        uptime_seconds=86_400 + tick,
    )


def batches(server_ids: list[int], total: int, batch_size: int) -> list[list[tuple[int, MetricsSample]]]:
    """`total` samples, tick by tick across the fleet, cut into batches of `batch_size`."""
    samples = [
        (server_id, fleet_sample(host, tick))
        for tick in range(total // len(server_ids) + 1)
        for host, server_id in enumerate(server_ids)
    ][:total]
    return [samples[i : i + batch_size] for i in range(0, len(samples), batch_size)]


async def run_one(
    storage: Storage, servers: int, total: int, batch_size: int, writers: int
) -> tuple[float, float, float]:
    """Write into fresh servers; returns (samples/s, median and p99 batch latency in ms)."""
    server_ids = [(await storage.create_server(f"bench-{i}", "h", now_ms=T0)).id for i in range(servers)]
    work = batches(server_ids, total, batch_size)
    latencies: list[float] = []
    stored = 0

    async def writer(mine: list[list[tuple[int, MetricsSample]]]) -> None:
        nonlocal stored
        for batch in mine:
            started = time.perf_counter()
            inserted = await storage.insert_samples(batch)
            stored += inserted  # not `stored += await ...`: that reads `stored` before awaiting
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(writers):
            nursery.start_soon(writer, work[index::writers])
    elapsed = time.perf_counter() - started
    assert stored == total, (stored, total)
    for server_id in server_ids:  # leave the next run an empty table of the same shape
        await storage.delete_server(server_id)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return total / elapsed, statistics.median(latencies) * 1000, p99 * 1000


async def measure(args: argparse.Namespace) -> None:
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    print(f"{args.samples:,} samples per run, {args.servers} servers, batch = samples per transaction")
    print(f"{'backend':<11} {'batch':>6} {'writers':>7} {'samples/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    with tempfile.TemporaryDirectory() as directory:
        backends = [("sqlite", f"sqlite://{Path(directory) / 'bench.db'}")]
        if args.postgres:
            from bench.scratch_postgres import scratch_database_url

            async with scratch_database_url(args.postgres, "monitord_bench") as url:
                backends.append(("postgresql", url))
                await measure_backends(backends, sizes, args)
        else:
            await measure_backends(backends, sizes, args)


async def measure_backends(backends: list[tuple[str, str]], sizes: list[int], args: argparse.Namespace) -> None:
    for name, url in backends:
        async with open_database(url) as storage:
            for size in sizes:
                for writers in sorted({1, args.writers}):
                    rate, p50, p99 = await run_one(storage, args.servers, args.samples, size, writers)
                    print(f"{name:<11} {size:>6} {writers:>7} {rate:>10,.0f} {p50:>8.1f} {p99:>8.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL URL whose user may CREATE DATABASE")
    parser.add_argument("--samples", type=int, default=100_000, help="samples per run (default 100000)")
    parser.add_argument("--servers", type=int, default=500, help="hosts in the fleet (default 500)")
    parser.add_argument("--batch-sizes", default="100,500,2000", help="samples per transaction")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers in the second run of each size")
    trio.run(measure, parser.parse_args())


if __name__ == "__main__":
    main()
