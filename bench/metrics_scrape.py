"""How long one `GET /metrics` scrape blocks the daemon's event loop at N servers.

    .venv/bin/python bench/metrics_scrape.py                 # 10,000 servers, 20 scrapes
    .venv/bin/python bench/metrics_scrape.py --servers 1000 --scrapes 50

Fills a live cache with N online servers, each with a plausible latest sample (22 lines per
server in the exposition), and scrapes the daemon's `Telemetry` as the route does, in-process.
Three figures per scrape:

- *on-loop*: the wall time of the scrape's synchronous part, the code that runs on the trio
  thread without yielding (what every other task of the daemon waits for): `Telemetry.snapshot`,
  which copies what the scrape reads;
- *longest stall*: the longest gap a concurrent trio task that only yields saw between two of
  its turns while the scrape ran (the on-loop part, plus waits for the GIL a formatting thread
  holds);
- *whole scrape*: the wall time from the start of the scrape to its bytes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import plausible_sample
from monitord.cache import LiveCache
from monitord.models import HostFacts, ServerRecord, now_ms
from monitord.push.hub import SnapshotHub
from monitord.telemetry import Telemetry


def filled_cache(servers: int) -> LiveCache:
    """`servers` servers, every one online with a latest sample."""
    now = now_ms()
    facts = HostFacts()
    cache = LiveCache.load(
        [
            ServerRecord(
                id=index + 1,
                name=f"web-{index:05d}.prod",
                agent_token_hash="!",
                facts=facts,
                last_seen_ms=now,
                created_at_ms=now,
            )
            for index in range(servers)
        ],
        {},
    )
    for index in range(servers):
        cache.apply_sample(index + 1, plausible_sample(now - 1000, index))
    return cache


async def scrape_once(telemetry: Telemetry) -> tuple[float, float, float, int]:
    """(on-loop seconds, longest stall seconds, whole scrape seconds, bytes) of one scrape."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await trio.lowlevel.checkpoint()
            moment = time.perf_counter()
            longest = max(longest, moment - last)
            last = moment

    started = time.perf_counter()
    telemetry.snapshot()
    on_loop = time.perf_counter() - started
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0.01)  # the ticker runs
        started = time.perf_counter()
        body = await telemetry.exposition()
        whole = time.perf_counter() - started
        done = True
    return on_loop, longest, whole, len(body)


async def measure(args: argparse.Namespace) -> None:
    cache = filled_cache(args.servers)
    telemetry = Telemetry(cache, SnapshotHub())
    await scrape_once(telemetry)  # warm-up
    runs = [await scrape_once(telemetry) for _ in range(args.scrapes)]
    on_loop = [run[0] * 1000 for run in runs]
    stalls = [run[1] * 1000 for run in runs]
    whole = [run[2] * 1000 for run in runs]
    print(f"{args.servers} servers, {runs[0][3] / 1e6:.1f} MB per scrape, {args.scrapes} scrapes")
    print(f"on-loop ms:       median {statistics.median(on_loop):.2f}  max {max(on_loop):.2f}")
    print(f"longest stall ms: median {statistics.median(stalls):.2f}  max {max(stalls):.2f}")
    print(f"whole scrape ms:  median {statistics.median(whole):.2f}  max {max(whole):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=20)
    trio.run(measure, parser.parse_args())


if __name__ == "__main__":
    main()
