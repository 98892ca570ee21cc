"""Alert evaluation cost (issue 15): CPU per second, added memory, notification latency.

    python -m bench.alerts_eval [--servers 10000] [--rules 20] [--seconds 60] [--latency-trials 10]

In one process: a live cache of `--servers` servers, each with a new sample every second;
`--rules` rules, half over 5-minute windows (avg / max / all), half on the latest value, over
several metrics, all scoped to every server. Phase 1 times `evaluate` alone for `--seconds`
ticks (CPU seconds per wall second of agent time, i.e. the share of one core) and the RSS the
engine adds. Phase 2 runs the real evaluator and delivery tasks with SQLite and a loopback
webhook receiver: one server at a time crosses a `forSeconds`=5 rule, and the latency is from
the moment the condition had held 5 s to the webhook's arrival.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import msgspec
import psutil
import trio

from monitord.alerts.engine import AlertEngine
from monitord.alerts.model import Channel, Rule
from monitord.alerts.secrets import SecretBox
from monitord.alerts.service import AlertService
from monitord.cache import LiveCache
from monitord.models import HostFacts, MetricsSample, ServerRecord, ms_to_datetime, now_ms
from monitord.storage.sqlite import open_sqlite_storage
from tests.alerts.receiver import Receiver, start_receiver

METRICS = ["cpuUsagePercent", "memoryUsagePercent", "load1", "diskUsagePercent", "swapUsagePercent"]
FOR_SECONDS = 5


def make_rules(count: int) -> list[Rule]:
    rules = []
    for number in range(count):
        windowed = number % 2 == 1
        rules.append(
            msgspec.convert(
                {
                    "id": number + 1,
                    "name": f"rule {number + 1}",
                    "kind": "metric",
                    "metric": METRICS[number % len(METRICS)],
                    "warning": 97.0,
                    "critical": 99.0,
                    "aggregate": ["avg", "max", "all"][number % 3] if windowed else "avg",
                    "windowSeconds": 300 if windowed else 0,
                    "forSeconds": 60,
                },
                type=Rule,
            )
        )
    return rules


def make_cache(servers: int) -> LiveCache:
    cache = LiveCache()
    for server_id in range(1, servers + 1):
        cache.add(
            ServerRecord(
                id=server_id,
                name=f"s{server_id}",
                agent_token_hash="x",
                facts=HostFacts(),
                last_seen_ms=None,
                created_at_ms=0,
            )
        )
    return cache


def sample(cpu: float, at_ms: int) -> MetricsSample:
    return MetricsSample(
        time=ms_to_datetime(at_ms), cpu_usage_percent=cpu, memory_usage_bytes=3 << 30, memory_total_bytes=8 << 30,
        swap_usage_bytes=0, swap_total_bytes=1 << 30, disk_used_bytes=100 << 30, disk_total_bytes=500 << 30,
        disk_read_bps=0.0, disk_write_bps=0.0, network_rx_instant_bps=0.0, network_tx_instant_bps=0.0,
        network_rx_total_bytes=0, network_tx_total_bytes=0, load1=0.5, load5=0.5, load15=0.5, process_count=100,
        tcp_connections=1, udp_connections=1, uptime_seconds=1,
    )  # fmt: skip


def feed(cache: LiveCache, tick: int, hot: dict[int, float] | None = None) -> None:
    at = now_ms()
    for server_id in range(1, len(cache) + 1):
        cpu = (hot or {}).get(server_id, 20.0 + (server_id * 7 + tick) % 50)
        cache.apply_sample(server_id, sample(cpu, at))


def evaluation_cost(servers: int, rules: int, seconds: int) -> dict[str, float]:
    cache = make_cache(servers)
    feed(cache, 0)
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    clock_ms = [now_ms()]
    engine = AlertEngine(lambda: clock_ms[0], offline_grace_seconds=0)
    engine.set_rules(make_rules(rules))
    cpu_seconds = []
    for tick in range(1, seconds + 1):
        feed(cache, tick)  # the agents' side: not the engine's cost
        clock_ms[0] += 1000
        started = time.process_time()
        engine.evaluate(cache.servers())
        cpu_seconds.append(time.process_time() - started)
    gc.collect()
    added = psutil.Process().memory_info().rss - rss_before
    return {
        "eval_cpu_share_of_core_mean": statistics.fmean(cpu_seconds),
        "eval_cpu_seconds_p99": _p99(sorted(cpu_seconds)),
        "added_rss_mb": added / 2**20,
    }


async def notification_latency(servers: int, rules: int, trials: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        async with open_sqlite_storage(Path(scratch) / "bench.db") as storage, trio.open_nursery() as nursery:
            receiver = await start_receiver(nursery, Receiver())
            cache = make_cache(servers)
            service = AlertService(
                storage, cache, SecretBox.load_or_create(Path(scratch)), offline_grace_seconds=0,
                max_window_seconds=7200, history_days=1,
            )  # fmt: skip
            await service.load()
            channel = await service.create_channel(Channel(name="bench", kind="webhook", url=receiver.url))
            for rule in make_rules(rules - 1):  # plus the latency rules below
                await service.create_rule(rule)
            # One latency rule per trial server: five servers firing one rule within 30 s would
            # be grouped into one message on purpose, which is not the latency measured here.
            for trial in range(trials):
                latency_rule = msgspec.convert(
                    {"name": f"latency {trial}", "kind": "metric", "metric": "cpuUsagePercent", "critical": 99.5,
                     "notifyResolved": False, "forSeconds": FOR_SECONDS, "serverIds": [trial + 1],
                     "channelIds": [channel.id]},
                    type=Rule,
                )  # fmt: skip
                await service.create_rule(latency_rule)
            hot: dict[int, float] = {}

            async def agents() -> None:
                tick = 0
                while True:
                    tick += 1
                    feed(cache, tick, hot)
                    await trio.sleep(1)

            nursery.start_soon(agents)
            await nursery.start(service.run_evaluator)
            await nursery.start(service.run_deliveries)
            latencies = []
            for trial in range(trials):
                server_id = trial + 1
                crossed = trio.current_time()
                hot[server_id] = 100.0
                await receiver.wait_for(trial + 1)
                latencies.append(trio.current_time() - crossed - FOR_SECONDS)
                hot.pop(server_id)
            nursery.cancel_scope.cancel()
    latencies.sort()
    return {
        "latency_after_for_seconds_p50": statistics.median(latencies),
        "latency_after_for_seconds_p99": _p99(latencies),
        "latency_after_for_seconds_max": latencies[-1],
    }


def _p99(values: list[float]) -> float:
    """The 99th percentile of sorted `values` (the maximum below 100 values)."""
    return values[min(len(values) - 1, int(len(values) * 0.99))]


@dataclass
class AlertsRun:
    """Figure 9: what `servers` servers under `rules` rules cost the alert engine."""

    servers: int
    rules: int
    ticks: int
    trials: int
    eval_cpu_share_of_core_mean: float
    eval_cpu_seconds_p99: float
    added_rss_mb: float
    latency_after_for_seconds_p50: float
    latency_after_for_seconds_p99: float
    latency_after_for_seconds_max: float
    for_seconds: int = FOR_SECONDS


def alerts_figure(servers: int, rules: int, seconds: int, trials: int) -> AlertsRun:
    """Both phases of this module, as bench/run.py reports them."""
    cost = evaluation_cost(servers, rules, seconds)
    latency = trio.run(notification_latency, servers, rules, trials)
    return AlertsRun(servers=servers, rules=rules, ticks=seconds, trials=trials, **cost, **latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--latency-trials", type=int, default=10, help="at least 1")
    args = parser.parse_args()
    run = alerts_figure(args.servers, args.rules, args.seconds, args.latency_trials)
    print(json.dumps(asdict(run), indent=2))


if __name__ == "__main__":
    main()
