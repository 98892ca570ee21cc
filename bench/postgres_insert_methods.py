"""Which way of writing a batch of samples to PostgreSQL is fastest, through trio-asyncio.

Every method skips rows whose (server_id, time_ms) is already stored, in one transaction per
batch. unnest and COPY also learn how many rows were new, as `insert_samples` must; asyncpg's
executemany cannot report that, so its figure is an upper bound (the count would cost more).
Each method writes into its own fresh table in a scratch database that is dropped at the end.

    .venv/bin/python bench/postgres_insert_methods.py postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import trio
import trio_asyncio

# Run as a script (bench/x.py), the repository root is not on the path: bench.* needs it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch_postgres import scratch_database_url
from monitord.models import INTEGER_METRIC_FIELDS, METRIC_FIELDS

COLUMNS = ("server_id", "time_ms", *METRIC_FIELDS)
TYPES = ["bigint", "bigint", *("bigint" if f in INTEGER_METRIC_FIELDS else "float8" for f in METRIC_FIELDS)]
TABLE_DDL = (
    ", ".join(f"{c} {t} NOT NULL" for c, t in zip(COLUMNS, TYPES, strict=False)) + ", PRIMARY KEY (server_id, time_ms)"
)


def rows(batch_size: int, start_ms: int, servers: int) -> list[tuple[Any, ...]]:
    """`batch_size` samples spread over `servers` servers, one per server per second."""
    out = []
    for i in range(batch_size):
        values = tuple(float(i) if f not in INTEGER_METRIC_FIELDS else i * 1024 for f in METRIC_FIELDS)
        out.append((i % servers + 1, start_ms + (i // servers) * 1000, *values))
    return out


async def executemany(c: asyncpg.Connection, table: str, batch: list[tuple[Any, ...]]) -> int:
    placeholders = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
    async with c.transaction():
        await c.executemany(
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders}) ON CONFLICT DO NOTHING", batch
        )
    return len(batch)  # what it would have to count


async def unnest(c: asyncpg.Connection, table: str, batch: list[tuple[Any, ...]]) -> int:
    arrays = [list(column) for column in zip(*batch, strict=False)]
    params = ", ".join(f"${i}::{t}[]" for i, t in enumerate(TYPES, start=1))
    async with c.transaction():
        status = await c.execute(
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) SELECT * FROM unnest({params}) ON CONFLICT DO NOTHING",
            *arrays,
        )
    return int(status.rsplit(" ", 1)[1])


async def copy_via_temp(c: asyncpg.Connection, table: str, batch: list[tuple[Any, ...]]) -> int:
    async with c.transaction():
        await c.copy_records_to_table(f"incoming_{table}", records=batch, columns=COLUMNS)
        status = await c.execute(f"INSERT INTO {table} SELECT * FROM incoming_{table} ON CONFLICT DO NOTHING")
    return int(status.rsplit(" ", 1)[1])


METHODS: dict[str, Callable[[asyncpg.Connection, str, list[tuple[Any, ...]]], Awaitable[int]]] = {
    "executemany": executemany,
    "unnest": unnest,
    "copy_via_temp": copy_via_temp,
}


async def measure(url: str, batch_sizes: list[int], total: int, max_batches: int) -> None:
    async with trio_asyncio.open_loop() as loop, scratch_database_url(url, "bench_methods") as scratch:
        connection = await loop.run_aio_coroutine(asyncpg.connect(scratch))
        try:
            print(f"{'method':<14} {'batch':>6} {'rows/s':>10}")
            for size in batch_sizes:
                for name, method in METHODS.items():
                    table = f"m_{name}_{size}"
                    await loop.run_aio_coroutine(
                        connection.execute(
                            f"CREATE TABLE {table} ({TABLE_DDL}); "
                            f"CREATE TEMP TABLE incoming_{table} ({TABLE_DDL.rsplit(', PRIMARY', 1)[0]}) "
                            "ON COMMIT DELETE ROWS"
                        )
                    )
                    batches = max(1, min(total // size, max_batches))
                    prepared = [rows(size, 1_000_000 * b, min(size, 100)) for b in range(batches)]
                    started = time.perf_counter()
                    stored = 0
                    for batch in prepared:
                        stored += await loop.run_aio_coroutine(method(connection, table, batch))
                    elapsed = time.perf_counter() - started
                    assert stored == batches * size, (name, stored)
                    print(f"{name:<14} {size:>6} {stored / elapsed:>10,.0f}", flush=True)
        finally:
            await loop.run_aio_coroutine(connection.close())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a PostgreSQL URL whose user may CREATE DATABASE")
    parser.add_argument("--batch-sizes", default="10,100,1000,5000")
    parser.add_argument("--rows", type=int, default=50_000, help="rows per method and batch size")
    parser.add_argument("--max-batches", type=int, default=500, help="at most this many batches (commits) each")
    args = parser.parse_args()
    trio.run(measure, args.url, [int(s) for s in args.batch_sizes.split(",")], args.rows, args.max_batches)


if __name__ == "__main__":
    main()
