"""The daemon's own metrics and every server's latest gauges, in Prometheus text format.

One `Telemetry` object per daemon owns its registry (nothing process-global), is passed to the
parts that count, and is read by `GET /metrics`. Per-server gauges are not stored twice: a
collector reads them from the live cache at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from monitord.cache import LiveCache
from monitord.history.maintenance import MaintenanceStatus
from monitord.ingest.sessions import AgentSessions
from monitord.ingest.stats import IngestStats
from monitord.ingest.writer import DatabaseState, SampleWriter
from monitord.models import METRIC_FIELDS
from monitord.push.hub import SnapshotHub
from monitord.wire import ServerStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Each sample field's gauge, named by Prometheus conventions (unit suffixes; no "_total",
# which is reserved for counters, on the agents' cumulative byte counts).
_SERVER_GAUGE_NAMES = {
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
assert set(_SERVER_GAUGE_NAMES) == set(METRIC_FIELDS), "every sample field has a gauge"


class _ServerCollector(Collector):
    """Each server's status and latest metrics, labelled by id and name, read at scrape time."""

    def __init__(self, cache: LiveCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[GaugeMetricFamily]:
        servers = self._cache.servers()
        up = GaugeMetricFamily(
            "monitord_server_up", "1 while the server's agent reports, 0 when offline or pending",
            labels=["server_id", "name"],
        )
        gauges = {
            field: GaugeMetricFamily(name, f"Latest {field.replace('_', ' ')} reported by the agent",
                                     labels=["server_id", "name"])
            for field, name in _SERVER_GAUGE_NAMES.items()
        }
        last_seen = GaugeMetricFamily(
            "monitord_server_last_seen_timestamp_seconds", "When the latest sample was taken",
            labels=["server_id", "name"],
        )
        for server in servers:
            labels = [str(server.id), server.name]
            up.add_metric(labels, 1.0 if server.status is ServerStatus.ONLINE else 0.0)
            latest = server.latest_metrics
            if latest is None:
                continue
            last_seen.add_metric(labels, latest.time.timestamp())
            for field, gauge in gauges.items():
                gauge.add_metric(labels, float(getattr(latest, field)))
        yield up
        yield last_seen
        yield from gauges.values()


class _HubCollector(Collector):
    """Live-feed figures the hub keeps anyway, read at scrape time."""

    def __init__(self, hub: SnapshotHub) -> None:
        self._hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily("monitord_websocket_clients", "Dashboard WebSockets open now", value=len(self._hub))
        yield CounterMetricFamily(
            "monitord_snapshots_dropped", "Snapshots replaced before a slow client took them",
            value=self._hub.snapshots_dropped,
        )


class _IngestCollector(Collector):
    """What the agent servicer and the sample writer count anyway, read at scrape time."""

    def __init__(self, stats: IngestStats, sessions: AgentSessions, writer: SampleWriter) -> None:
        self._stats = stats
        self._sessions = sessions
        self._writer = writer

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self._stats
        yield GaugeMetricFamily("monitord_agents_connected", "Agent streams open now", value=len(self._sessions))
        yield GaugeMetricFamily(
            "monitord_ingest_buffer_samples", "Accepted samples waiting to be stored",
            value=self._writer.buffered_samples,
        )
        yield CounterMetricFamily(
            "monitord_ingest_buffer_overflowed_samples",
            "Accepted samples dropped from the full buffer while the database failed (not acked: agents re-send)",
            value=stats.overflowed_samples,
        )
        yield GaugeMetricFamily(
            "monitord_database_writable", "1 while the last database write succeeded, 0 while writes fail",
            value=1.0 if self._writer.state is DatabaseState.OK else 0.0,
        )
        yield CounterMetricFamily("monitord_samples_accepted", "Agent samples that passed validation",
                                  value=stats.accepted_samples)
        yield CounterMetricFamily("monitord_samples_stored", "Agent samples stored (re-sent ones not counted)",
                                  value=stats.stored_samples)
        rejected = CounterMetricFamily("monitord_samples_rejected", "Agent samples dropped by validation, by reason",
                                       labels=["reason"])
        for reason, count in sorted(stats.dropped_samples.items()):
            rejected.add_metric([reason], count)
        yield rejected
        ended = CounterMetricFamily("monitord_agent_calls_ended", "Agent calls the daemon ended, by reason",
                                    labels=["reason"])
        for reason, count in sorted(stats.ended_calls.items()):
            ended.add_metric([reason], count)
        yield ended
        yield CounterMetricFamily("monitord_sample_writes_failed", "Sample writes the database refused (then retried)",
                                  value=stats.failed_writes)


class _MaintenanceCollector(Collector):
    """What history maintenance has done since start, read at scrape time."""

    def __init__(self, status: MaintenanceStatus) -> None:
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = self._status
        yield CounterMetricFamily("monitord_history_passes", "History maintenance passes completed",
                                  value=status.passes)
        yield CounterMetricFamily("monitord_history_passes_failed", "History maintenance passes that failed",
                                  value=status.failed_passes)
        yield CounterMetricFamily("monitord_history_rolled_up_samples", "Raw samples rolled up into minute buckets",
                                  value=status.rolled_up_samples)
        yield CounterMetricFamily("monitord_history_deleted_rows", "Rows deleted as past their retention",
                                  value=status.deleted_rows)
        longest = status.last.longest_batch_seconds if status.last is not None else 0.0
        yield GaugeMetricFamily("monitord_history_longest_batch_seconds",
                                "Longest single transaction of the last maintenance pass", value=longest)


class Telemetry:
    """Counters, gauges and histograms the daemon's parts update, and their exposition."""

    def __init__(self, cache: LiveCache, hub: SnapshotHub) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        ProcessCollector(registry=registry)
        self.push_duration = Histogram(
            "monitord_push_duration_seconds", "Time to build, encode and publish one snapshot",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=registry,
        )
        self.db_write_duration = Histogram(
            "monitord_db_write_duration_seconds", "Time to store one batch of samples",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        registry.register(_ServerCollector(cache))
        registry.register(_HubCollector(hub))

    def register_ingest(self, stats: IngestStats, sessions: AgentSessions, writer: SampleWriter) -> None:
        """Export the agent side's own counters, read at scrape time."""
        self.registry.register(_IngestCollector(stats, sessions, writer))

    def register_maintenance(self, status: MaintenanceStatus) -> None:
        """Export history maintenance's totals, read at scrape time."""
        self.registry.register(_MaintenanceCollector(status))

    def exposition(self) -> bytes:
        """Everything in Prometheus text format 0.0.4."""
        return generate_latest(self.registry)
