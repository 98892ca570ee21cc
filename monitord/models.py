"""Domain records shared by storage, the live cache and the wire.

`MetricsSample` is the single definition of the metric fields: the agent protocol, the database
columns, the REST history points and the WebSocket push all derive from it.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

import msgspec


class Role(enum.StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    role: Role
    password_hash: str
    # Bumped by a password change; tokens carrying an older version are rejected.
    token_version: int
    created_at_ms: int


class HostFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an agent's `hello` says about its host."""

    hostname: str = ""
    os_type: str = ""
    os_version: str = ""
    kernel_version: str = ""
    arch: str = ""
    cpu_model: str = ""
    cpu_cores: int = 0
    agent_version: str = ""
    ip_address: str = ""


class ServerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A monitored server as stored: identity, agent token hash and the latest host facts."""

    id: int
    name: str
    agent_token_hash: str
    facts: HostFacts
    last_seen_ms: int | None
    created_at_ms: int


class MetricsSample(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One agent sample: the `latestMetrics` / `MetricPoint` shape of CONTRACT §4."""

    time: datetime
    cpu_usage_percent: float
    memory_usage_bytes: int
    memory_total_bytes: int
    swap_usage_bytes: int
    swap_total_bytes: int
    disk_used_bytes: int
    disk_total_bytes: int
    disk_read_bps: float
    disk_write_bps: float
    network_rx_instant_bps: float
    network_tx_instant_bps: float
    network_rx_total_bytes: int
    network_tx_total_bytes: int
    load1: float
    load5: float
    load15: float
    process_count: int
    tcp_connections: int
    udp_connections: int
    uptime_seconds: int


METRIC_FIELDS: tuple[str, ...] = tuple(name for name in MetricsSample.__struct_fields__ if name != "time")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_to_datetime(ms: int) -> datetime:
    """Exact conversion (no float rounding) from Unix milliseconds to an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(moment: datetime) -> int:
    """Exact conversion from an aware datetime to Unix milliseconds (sub-ms truncated)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def now_ms() -> int:
    return datetime_to_ms(datetime.now(UTC))


# Counts and byte totals are integers; percentages, rates and loads are floats.
INTEGER_METRIC_FIELDS: frozenset[str] = frozenset(
    field.name for field in msgspec.structs.fields(MetricsSample) if field.type is int
)


# How each field rolls up into 1-minute and 1-hour history buckets.
#
# Counters only ever grow (until the host reboots or the counter wraps): the network byte
# totals count every byte since boot, and uptime counts seconds since boot. Their average or
# maximum over a bucket means nothing; the value at the end of the bucket does, and
# consecutive ends give the bytes moved (or the reboot) in between. So they keep the last value.
# Everything else is a gauge, a level measured at that moment (percentages, bytes in use,
# capacities, instantaneous rates, loads, counts of processes and connections): its average
# says how busy the bucket was and its maximum keeps the spikes the average hides.
COUNTER_METRIC_FIELDS: tuple[str, ...] = ("network_rx_total_bytes", "network_tx_total_bytes", "uptime_seconds")
GAUGE_METRIC_FIELDS: tuple[str, ...] = tuple(name for name in METRIC_FIELDS if name not in COUNTER_METRIC_FIELDS)


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    """A server tag: a short name, an optional colour ("" or #rrggbb) and how many servers carry it."""

    name: str
    color: str
    count: int


class Grant(msgspec.Struct, frozen=True, kw_only=True):
    """Which servers a viewer sees: every one (`all`), or those carrying one of `tags` or whose
    id is in `server_ids`. Admins see every server whatever their grant says."""

    all: bool = True
    tags: frozenset[str] = frozenset()
    server_ids: frozenset[int] = frozenset()

    def allows(self, server_id: int, tags: tuple[str, ...]) -> bool:
        """Whether a server with this id and these tags is visible under the grant."""
        return self.all or server_id in self.server_ids or not self.tags.isdisjoint(tags)

    @property
    def key(self) -> str:
        """A canonical name of the visibility set: equal grants have equal keys."""
        if self.all:
            return "all"
        return "tags=" + ",".join(sorted(self.tags)) + ";ids=" + ",".join(map(str, sorted(self.server_ids)))


EVERYTHING = Grant()


class StatusPageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A public status page as stored: its slug, its settings (JSON, see monitord/statuspages)
    and the hash of its password ("" when it has none)."""

    id: int
    slug: str
    config: str
    password_hash: str
    created_at_ms: int
