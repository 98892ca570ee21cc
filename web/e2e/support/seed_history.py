"""Writes synthetic metric history for one server straight into a stopped daemon's SQLite file.

Used by the history e2e test, so the 24 h to 30 d ranges have real history to draw:
`python seed_history.py DATA_DIR SERVER_ID --days 30 --interval 300`. Samples end ten minutes
ago, clear of what the live agent reports; the daemon's maintenance rolls them up on start.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import trio

from monitord.models import MetricsSample, ms_to_datetime, now_ms
from monitord.storage import open_database

GIB = 1024**3


def synthetic(moment_ms: int, index: int) -> MetricsSample:
    """A day-shaped curve with some noise, so a chart has a visible line at every range."""
    day = math.sin(2 * math.pi * (moment_ms / 86_400_000))
    wobble = (index * 37 % 100) / 100
    return MetricsSample(
        time=ms_to_datetime(moment_ms),
        cpu_usage_percent=round(35 + 25 * day + 10 * wobble, 1),
        memory_usage_bytes=int((3 + day + wobble) * GIB),
        memory_total_bytes=8 * GIB,
        swap_usage_bytes=int(0.1 * GIB * (1 + wobble)),
        swap_total_bytes=GIB,
        disk_used_bytes=int(50 * GIB + index * 1_000_000),
        disk_total_bytes=200 * GIB,
        disk_read_bps=2_000 * (1.5 + day),
        disk_write_bps=3_000 * (1.5 + day * wobble),
        network_rx_instant_bps=20_000 * (1.5 + day),
        network_tx_instant_bps=8_000 * (1.5 + wobble),
        network_rx_total_bytes=2**30 + index * 6_000_000,
        network_tx_total_bytes=2**29 + index * 2_400_000,
        load1=round(1 + day + wobble, 2),
        load5=round(1 + day, 2),
        load15=round(1 + day / 2, 2),
        process_count=250 + index % 30,
        tcp_connections=40 + index % 20,
        udp_connections=6,
        uptime_seconds=1_000_000 + index * 300,
    )


async def seed(data_dir: Path, server_id: int, days: float, interval_seconds: float) -> int:
    end_ms = now_ms() - 10 * 60_000
    step_ms = int(interval_seconds * 1000)
    count = int(days * 86_400 / interval_seconds)
    rows = [(server_id, synthetic(end_ms - (count - index) * step_ms, index)) for index in range(count)]
    async with open_database(f"sqlite:///{data_dir.resolve() / 'monitord.db'}") as storage:
        stored = 0
        for start in range(0, len(rows), 2000):
            stored += await storage.insert_samples(rows[start : start + 2000])
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("server_id", type=int)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--interval", type=float, default=300, help="seconds between samples")
    args = parser.parse_args()
    stored = trio.run(seed, args.data_dir, args.server_id, args.days, args.interval)
    print(f"seeded {stored} samples for server {args.server_id}")


if __name__ == "__main__":
    main()
