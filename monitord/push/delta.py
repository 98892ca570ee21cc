"""`monitord.v2`: one snapshot, then one compact delta per tick, built once for every client.

    {"type":"snapshot","epoch":E,"seq":N,"fields":[…],"servers":[…]}
    {"type":"delta","epoch":E,"seq":N+1,"baseSeq":N,"rows":[[id,tMs,…]],"upserts":[…],"removed":[…]}

A row replaces a server's `latestMetrics` with `{"time": tMs, fields[i]: row[i + 2]}` and sets
its `lastSeenAt` to the same time: that is all a new agent sample changes. Any other change
(a rename, a status, new host facts, a new server, or any field ServerWithDetails gains later)
sends the whole server as an upsert, so nothing needs listing here. `epoch` is new for every
daemon run; a client whose `baseSeq` or `epoch` does not match what it holds reconnects.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec

from monitord.models import MetricsSample, datetime_to_ms
from monitord.push.frames import OutgoingMessage
from monitord.wire import ServerWithDetails

SUBPROTOCOL = "monitord.v2"

_METRIC_FIELDS = [field for field in msgspec.structs.fields(MetricsSample) if field.name != "time"]
# The wire names of the row values after id and tMs, in order (the snapshot's `fields`).
ROW_FIELDS: tuple[str, ...] = tuple(field.encode_name for field in _METRIC_FIELDS)
_metric_values = attrgetter(*(field.name for field in _METRIC_FIELDS))
# Everything about a server that a row cannot carry: compared to decide between row and upsert.
_ROW_CARRIED = {"latest_metrics", "last_seen_at"}
_static_values = attrgetter(*(name for name in ServerWithDetails.__struct_fields__ if name not in _ROW_CARRIED))


class V2Snapshot(msgspec.Struct, rename="camel", tag="snapshot", tag_field="type", kw_only=True):
    epoch: int
    seq: int
    fields: tuple[str, ...]
    servers: list[ServerWithDetails]


class V2Delta(msgspec.Struct, rename="camel", tag="delta", tag_field="type", kw_only=True):
    epoch: int
    seq: int
    base_seq: int
    rows: list[tuple[Any, ...]]
    upserts: list[ServerWithDetails]
    removed: list[int]


_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One encoded v2 message and the sequence number a client holds once it applied it."""

    seq: int
    snapshot: bool
    message: OutgoingMessage


def _row(server: ServerWithDetails, old: ServerWithDetails | None) -> tuple[Any, ...] | None:
    """The row saying what changed from `old` to `server`, or None if a row cannot say it."""
    metrics = server.latest_metrics
    if old is None or metrics is None or server.last_seen_at != metrics.time:
        return None
    if metrics.time.microsecond % 1000 or _static_values(server) != _static_values(old):
        return None  # a row's time is whole milliseconds
    return (server.id, datetime_to_ms(metrics.time), *_metric_values(metrics))


class DeltaStream:
    """The state every v2 client holds at `seq`, and the messages that move it forward."""

    def __init__(self, epoch: int | None = None) -> None:
        # Below 2**31: a plain number in every JSON reader.
        self.epoch = epoch if epoch is not None else secrets.randbelow(2**31)
        self.seq = 0
        self.cache_version: int | None = None
        self._views: dict[int, ServerWithDetails] = {}
        self._snapshot: StreamMessage | None = None

    def reset(self, servers: list[ServerWithDetails], cache_version: int) -> None:
        """Jump to `servers` as the next seq without a delta (no client holds the old state)."""
        self.seq += 1
        self._views = {server.id: server for server in servers}
        self.cache_version = cache_version
        self._snapshot = None

    def advance(self, servers: list[ServerWithDetails], cache_version: int) -> StreamMessage:
        """Move to `servers` (ordered by id) and return the delta from the previous seq."""
        old_views = self._views
        views = {server.id: server for server in servers}
        rows: list[tuple[Any, ...]] = []
        upserts: list[ServerWithDetails] = []
        for server in servers:
            old = old_views.get(server.id)
            if server is old:
                continue
            if (
                old is not None
                and server.latest_metrics == old.latest_metrics
                and server.last_seen_at == old.last_seen_at
                and _static_values(server) == _static_values(old)
            ):
                continue  # replaced by an equal view
            row = _row(server, old)
            if row is None:
                upserts.append(server)
            else:
                rows.append(row)
        removed = [server_id for server_id in old_views if server_id not in views]
        self.seq += 1
        self._views = views
        self.cache_version = cache_version
        self._snapshot = None
        delta = V2Delta(
            epoch=self.epoch, seq=self.seq, base_seq=self.seq - 1, rows=rows, upserts=upserts, removed=removed
        )
        return StreamMessage(self.seq, False, OutgoingMessage(_encoder.encode(delta)))

    def snapshot(self) -> StreamMessage:
        """The whole state at the current seq, encoded at most once per seq."""
        if self._snapshot is None:
            message = V2Snapshot(epoch=self.epoch, seq=self.seq, fields=ROW_FIELDS, servers=list(self._views.values()))
            self._snapshot = StreamMessage(self.seq, True, OutgoingMessage(_encoder.encode(message)))
        return self._snapshot
