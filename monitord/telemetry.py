"""The daemon's own metrics and every server's latest gauges, in Prometheus text format.

One `Telemetry` object per daemon owns its registry (nothing process-global), is passed to the
parts that count, and is read by `GET /metrics`. Per-server gauges are not stored twice: they
are read from the live cache at scrape time.

A scrape reads the daemon's live state on the trio thread, where it is mutated, and copies
only: the cache's list of (frozen) server views, and a few counters. It builds and formats the
text in a worker thread. At 10,000 servers that is 220,000 lines, which on the event loop would
stop every other task for seconds (bench/metrics_scrape.py). The registry's own metrics
(histograms, process figures) are thread-safe, and read in that thread too.

It reads the agent side through protocols (`IngestCounters`, `DatabaseHealth`), so importing it
(as the HTTP side does) does not import the agent side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from functools import partial
from operator import attrgetter
from typing import Protocol, cast

import trio
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from monitord.cache import LiveCache
from monitord.health import DatabaseHealth, DatabaseState
from monitord.history.maintenance import MaintenanceStatus
from monitord.models import METRIC_FIELDS
from monitord.push.hub import SnapshotHub
from monitord.wire import ServerStatus, ServerWithDetails

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Each sample field's gauge, named by Prometheus conventions (unit suffixes; no "_total",
# which is reserved for counters, on the agents' cumulative byte counts).
SERVER_GAUGE_NAMES = {
    "cpu_usage_percent": "monitord_server_cpu_usage_percent",
    "memory_usage_bytes": "monitord_server_memory_used_bytes",
    "memory_total_bytes": "monitord_server_memory_size_bytes",
    "swap_usage_bytes": "monitord_server_swap_used_bytes",
    "swap_total_bytes": "monitord_server_swap_size_bytes",
    "disk_used_bytes": "monitord_server_disk_used_bytes",
    "disk_total_bytes": "monitord_server_disk_size_bytes",
    "disk_read_bps": "monitord_server_disk_read_bytes_per_second",
    "disk_write_bps": "monitord_server_disk_write_bytes_per_second",
    "network_rx_instant_bps": "monitord_server_network_receive_bytes_per_second",
    "network_tx_instant_bps": "monitord_server_network_transmit_bytes_per_second",
    "network_rx_total_bytes": "monitord_server_network_received_bytes",
    "network_tx_total_bytes": "monitord_server_network_transmitted_bytes",
    "load1": "monitord_server_load1",
    "load5": "monitord_server_load5",
    "load15": "monitord_server_load15",
    "process_count": "monitord_server_processes",
    "tcp_connections": "monitord_server_tcp_connections",
    "udp_connections": "monitord_server_udp_connections",
    "uptime_seconds": "monitord_server_uptime_seconds",
}
assert set(SERVER_GAUGE_NAMES) == set(METRIC_FIELDS), "every sample field has a gauge"

# A value as prometheus_client writes it (Go's float format); the library leaves it unannotated.
_go_float = cast(Callable[[float], str], floatToGoString)


class IngestCounters(Protocol):
    """What the agent side counts anyway (monotonic since start): `monitord.ingest.stats.IngestStats`."""

    @property
    def accepted_samples(self) -> int: ...
    @property
    def stored_samples(self) -> int: ...
    @property
    def dropped_samples(self) -> Mapping[str, int]: ...
    @property
    def ended_calls(self) -> Mapping[str, int]: ...
    @property
    def failed_writes(self) -> int: ...
    @property
    def overflowed_samples(self) -> int: ...


def _label_value(text: str) -> str:
    """A label value escaped for the text format (backslash, newline, double quote)."""
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _gauge(name: str, documentation: str, lines: Iterable[str]) -> bytes:
    """One gauge family in the text format, its sample lines given."""
    return f"# HELP {name} {documentation}\n# TYPE {name} gauge\n{''.join(lines)}".encode()


def _server_gauges(servers: Sequence[ServerWithDetails]) -> Iterator[bytes]:
    """Each server's status and latest metrics, labelled by id and name: 22 lines per server.

    Written as text directly: prometheus_client's families would allocate a few objects per
    line, hundreds of thousands per scrape, and the garbage collections they set off stop every
    thread, the event loop's too. (tests/test_metrics.py checks the output parses back.)
    """
    # Label names sorted, as prometheus_client writes them.
    labels = [f'{{name="{_label_value(server.name)}",server_id="{server.id}"}}' for server in servers]
    reporting = [
        (label, server.latest_metrics)
        for label, server in zip(labels, servers, strict=True)
        if server.latest_metrics is not None
    ]
    name = "monitord_server_up"
    yield _gauge(
        name,
        "1 while the server's agent reports, 0 when offline or pending",
        (
            f"{name}{label} {'1.0' if server.status is ServerStatus.ONLINE else '0.0'}\n"
            for label, server in zip(labels, servers, strict=True)
        ),
    )
    name = "monitord_server_last_seen_timestamp_seconds"
    yield _gauge(
        name,
        "When the latest sample was taken",
        (f"{name}{label} {_go_float(latest.time.timestamp())}\n" for label, latest in reporting),
    )
    for field, name in SERVER_GAUGE_NAMES.items():
        read = attrgetter(field)
        yield _gauge(
            name,
            f"Latest {field.replace('_', ' ')} reported by the agent",
            (f"{name}{label} {_go_float(read(latest))}\n" for label, latest in reporting),
        )


class FeedCounts(Protocol):
    """What the live-feed figures read: a hub, or every audience's hubs together."""

    def __len__(self) -> int: ...

    @property
    def snapshots_dropped(self) -> int: ...


def _hub_families(hub: FeedCounts) -> list[Metric]:
    """Live-feed figures the hub keeps anyway."""
    return [
        GaugeMetricFamily("monitord_websocket_clients", "Dashboard WebSockets open now", value=len(hub)),
        CounterMetricFamily(
            "monitord_snapshots_dropped",
            "Snapshots replaced before a slow client took them",
            value=hub.snapshots_dropped,
        ),
    ]


def _ingest_families(stats: IngestCounters, sessions: Sized, database: DatabaseHealth) -> list[Metric]:
    """What the agent servicer and the sample writer count anyway."""
    rejected = CounterMetricFamily(
        "monitord_samples_rejected", "Agent samples dropped by validation, by reason", labels=["reason"]
    )
    for reason, count in sorted(stats.dropped_samples.items()):
        rejected.add_metric([reason], count)
    ended = CounterMetricFamily(
        "monitord_agent_calls_ended", "Agent calls the daemon ended, by reason", labels=["reason"]
    )
    for reason, count in sorted(stats.ended_calls.items()):
        ended.add_metric([reason], count)
    return [
        GaugeMetricFamily("monitord_agents_connected", "Agent streams open now", value=len(sessions)),
        GaugeMetricFamily(
            "monitord_ingest_buffer_samples",
            "Accepted samples waiting to be stored",
            value=database.buffered_samples,
        ),
        CounterMetricFamily(
            "monitord_ingest_buffer_overflowed_samples",
            "Accepted samples dropped from the full buffer while the database failed (not acked: agents re-send)",
            value=stats.overflowed_samples,
        ),
        GaugeMetricFamily(
            "monitord_database_writable",
            "1 while the last database write succeeded, 0 while writes fail",
            value=1.0 if database.state is DatabaseState.OK else 0.0,
        ),
        CounterMetricFamily(
            "monitord_samples_accepted", "Agent samples that passed validation", value=stats.accepted_samples
        ),
        CounterMetricFamily(
            "monitord_samples_stored", "Agent samples stored (re-sent ones not counted)", value=stats.stored_samples
        ),
        rejected,
        ended,
        CounterMetricFamily(
            "monitord_sample_writes_failed",
            "Sample writes the database refused (then retried)",
            value=stats.failed_writes,
        ),
    ]


def _maintenance_families(status: MaintenanceStatus) -> list[Metric]:
    """What history maintenance has done since start."""
    longest = status.last.longest_batch_seconds if status.last is not None else 0.0
    return [
        CounterMetricFamily("monitord_history_passes", "History maintenance passes completed", value=status.passes),
        CounterMetricFamily(
            "monitord_history_passes_failed", "History maintenance passes that failed", value=status.failed_passes
        ),
        CounterMetricFamily(
            "monitord_history_rolled_up_samples",
            "Raw samples rolled up into minute buckets",
            value=status.rolled_up_samples,
        ),
        CounterMetricFamily(
            "monitord_history_deleted_rows", "Rows deleted as past their retention", value=status.deleted_rows
        ),
        GaugeMetricFamily(
            "monitord_history_longest_batch_seconds",
            "Longest single transaction of the last maintenance pass",
            value=longest,
        ),
    ]


class Scrape(Collector):
    """One scrape's input: what was read on the trio thread, and the registry's own metrics.

    Formatting it touches nothing the trio thread mutates, so it may run in another thread.
    """

    def __init__(
        self, registry: CollectorRegistry, families: list[Metric], servers: Sequence[ServerWithDetails]
    ) -> None:
        self._registry = registry
        self._families = families
        self._servers = servers

    def collect(self) -> Iterator[Metric]:
        """The daemon's own metrics (the per-server gauges are formatted apart: see `format`)."""
        yield from self._registry.collect()
        yield from self._families

    def format(self) -> bytes:
        """Everything in Prometheus text format 0.0.4."""
        return generate_latest(self) + b"".join(_server_gauges(self._servers))


class Telemetry:
    """Counters, gauges and histograms the daemon's parts update, and their exposition."""

    def __init__(self, cache: LiveCache, hub: SnapshotHub) -> None:
        # Holds only what is safe to read from another thread (prometheus_client locks its values).
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        ProcessCollector(registry=registry)
        self.push_duration = Histogram(
            "monitord_push_duration_seconds",
            "Time to build, encode and publish one snapshot",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=registry,
        )
        self.db_write_duration = Histogram(
            "monitord_db_write_duration_seconds",
            "Time to store one batch of samples",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        self._cache = cache
        # Read on the trio thread at each scrape; each returns a handful of families.
        self._readers: list[Callable[[], list[Metric]]] = [partial(_hub_families, hub)]
        # One scrape formats at a time: a second scraper waits instead of taking another core.
        self._formatting = trio.CapacityLimiter(1)

    def register_ingest(self, stats: IngestCounters, sessions: Sized, database: DatabaseHealth) -> None:
        """Export the agent side's own counters, read at scrape time."""
        self._readers.append(partial(_ingest_families, stats, sessions, database))

    def register_feeds(self, feeds: FeedCounts) -> None:
        """Read the live-feed figures from `feeds` (every audience, issue 16) instead of the hub."""
        self._readers[0] = partial(_hub_families, feeds)

    def register_maintenance(self, status: MaintenanceStatus) -> None:
        """Export history maintenance's totals, read at scrape time."""
        self._readers.append(partial(_maintenance_families, status))

    def snapshot(self) -> Scrape:
        """Copy what a scrape reads of the live state; run on the trio thread, it costs a list copy."""
        families = [family for read in self._readers for family in read()]
        return Scrape(self.registry, families, self._cache.servers())

    async def exposition(self) -> bytes:
        """Everything in Prometheus text format 0.0.4, formatted in a worker thread."""
        scrape = self.snapshot()
        return await trio.to_thread.run_sync(scrape.format, limiter=self._formatting)
