"""The `monitord_live` payloads: the newest sample of each server in a stored batch.

One payload is a JSON array, positional to stay small:

    [replica, batch, chunk, [[server_id, time_ms, <METRIC_FIELDS in order>...], ...]]

`replica` (random per daemon start) and `batch` (counting up) make every payload unique:
PostgreSQL merges identical payloads sent in one transaction. Each chunk stands alone and stays
under MAX_PAYLOAD_BYTES (PostgreSQL refuses 8000 bytes): a batch of 2,000 servers takes about
70 chunks of ~7.4 KB.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence

import msgspec

from monitord.models import METRIC_FIELDS, MetricsSample, datetime_to_ms, ms_to_datetime
from monitord.storage.replication import MAX_PAYLOAD_BYTES

_encoder = msgspec.json.Encoder()


class LivePayload(msgspec.Struct, frozen=True, array_like=True):
    replica: str
    batch: int
    chunk: int
    rows: list[list[float | int]]


_decoder = msgspec.json.Decoder(LivePayload)


def new_replica_id() -> str:
    """A random id for this daemon's run: its own payloads are recognised and skipped."""
    return secrets.token_hex(4)


class LiveAnnouncer:
    """Turns stored batches into payloads; one per daemon (the sample writer calls it)."""

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self.batches = 0
        self.payloads = 0
        self.payload_bytes = 0

    def __call__(self, batch: Sequence[tuple[int, MetricsSample]]) -> list[str]:
        """The payloads announcing the newest sample of each server in `batch`."""
        newest: dict[int, MetricsSample] = {}
        for server_id, sample in batch:
            held = newest.get(server_id)
            if held is None or sample.time > held.time:
                newest[server_id] = sample
        self.batches += 1
        payloads = list(self._chunks(newest))
        self.payloads += len(payloads)
        self.payload_bytes += sum(len(p) for p in payloads)
        return payloads

    def _chunks(self, newest: dict[int, MetricsSample]) -> Iterator[str]:
        rows = [
            _encoder.encode([server_id, datetime_to_ms(sample.time), *msgspec.structs.astuple(sample)[1:]])
            for server_id, sample in newest.items()
        ]
        chunk = 0
        start = 0
        while start < len(rows):
            head = _encoder.encode([self.replica, self.batches, chunk]).decode()[:-1]
            size = len(head) + len(",[]]")
            end = start
            while end < len(rows) and (end == start or size + len(rows[end]) + 1 <= MAX_PAYLOAD_BYTES):
                size += len(rows[end]) + 1
                end += 1
            if size > MAX_PAYLOAD_BYTES:
                raise ValueError(f"one sample encodes to {len(rows[start])} bytes, beyond a NOTIFY payload")
            yield f"{head},[{b','.join(rows[start:end]).decode()}]]"
            chunk += 1
            start = end


def decode_live(payload: str) -> LivePayload:
    """Parse one payload; raises msgspec.ValidationError (or DecodeError) when it is not one."""
    return _decoder.decode(payload)


def samples_of(payload: LivePayload) -> Iterator[tuple[int, MetricsSample]]:
    """(server_id, sample) of every row; raises ValueError/TypeError on a malformed row."""
    width = 2 + len(METRIC_FIELDS)
    for row in payload.rows:
        if len(row) != width:
            raise ValueError(f"a live row has {len(row)} values, expected {width}")
        yield (
            int(row[0]),
            MetricsSample(time=ms_to_datetime(int(row[1])), **dict(zip(METRIC_FIELDS, row[2:], strict=True))),  # type: ignore[arg-type]
        )
