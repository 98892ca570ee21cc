"""Shared by the alert tests: a cache of fake servers whose metrics a test sets, a clock on trio's."""

from __future__ import annotations

import msgspec
import trio

from monitord.cache import LiveCache
from monitord.models import HostFacts, MetricsSample, ServerRecord, ms_to_datetime
from monitord.wire import ServerStatus

T0 = 1_790_000_000_000


def wall_ms() -> int:
    """Wall time that follows trio's (mock) clock."""
    return T0 + int(trio.current_time() * 1000)


def metrics(cpu: float = 10.0, at_ms: int | None = None) -> MetricsSample:
    return MetricsSample(
        time=ms_to_datetime(wall_ms() if at_ms is None else at_ms),
        cpu_usage_percent=cpu,
        memory_usage_bytes=2 * 1024**3,
        memory_total_bytes=8 * 1024**3,
        swap_usage_bytes=0,
        swap_total_bytes=0,
        disk_used_bytes=50 * 1024**3,
        disk_total_bytes=200 * 1024**3,
        disk_read_bps=0.0,
        disk_write_bps=0.0,
        network_rx_instant_bps=0.0,
        network_tx_instant_bps=0.0,
        network_rx_total_bytes=0,
        network_tx_total_bytes=0,
        load1=0.5,
        load5=0.5,
        load15=0.5,
        process_count=100,
        tcp_connections=1,
        udp_connections=1,
        uptime_seconds=100,
    )


def fake_cache(count: int) -> LiveCache:
    cache = LiveCache()
    for server_id in range(1, count + 1):
        cache.add(
            ServerRecord(
                id=server_id,
                name=f"web-{server_id}",
                agent_token_hash="x",
                facts=HostFacts(),
                last_seen_ms=None,
                created_at_ms=T0,
            )
        )
    return cache


def report(cache: LiveCache, server_id: int, cpu: float) -> None:
    """The server reports a sample now (and is online)."""
    cache.apply_sample(server_id, metrics(cpu))


def go_offline(cache: LiveCache, server_id: int) -> None:
    cache.set_status(server_id, ServerStatus.OFFLINE)


def rule_body(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "cpu high", "kind": "metric", "metric": "cpuUsagePercent", "critical": 90}
    base.update(fields)
    return base


def as_rule(rule_id: int = 1, **fields: object) -> object:
    from monitord.alerts.model import Rule

    return msgspec.convert({"id": rule_id, **rule_body(**fields)}, type=Rule)
