"""The agent's bounded buffer of samples the daemon has not acknowledged yet."""

from __future__ import annotations

from collections import deque

import trio

from monitord.models import METRIC_FIELDS, MetricsSample, datetime_to_ms
from monitord.proto import monitord_pb2 as pb


def to_wire(seq: int, sample: MetricsSample) -> pb.Sample:
    """The protocol form of `sample`; its timestamp is kept as taken, also when re-sent."""
    return pb.Sample(
        seq=seq, timestamp_ms=datetime_to_ms(sample.time), **{name: getattr(sample, name) for name in METRIC_FIELDS}
    )


class SampleBuffer:
    """Unacknowledged samples, oldest first, at most `capacity`; when full the oldest is dropped.

    Sequence numbers start at 1 and increase by one per sample for the life of the process.
    Samples stay until an ack covers them, so whatever a lost connection swallowed is sent
    again on the next one.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._samples: deque[pb.Sample] = deque()
        self._next_seq = 1
        self._grew = trio.Event()
        # Samples lost because the buffer was full (the daemon was away too long).
        self.overflowed = 0

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def add(self, sample: MetricsSample) -> int:
        """Append `sample`; returns its seq."""
        seq = self._next_seq
        self._next_seq += 1
        if len(self._samples) >= self.capacity:
            self._samples.popleft()
            self.overflowed += 1
        self._samples.append(to_wire(seq, sample))
        self._grew.set()
        self._grew = trio.Event()
        return seq

    def acked(self, seq: int) -> int:
        """Forget every sample up to `seq`; returns how many were forgotten."""
        count = 0
        while self._samples and self._samples[0].seq <= seq:
            self._samples.popleft()
            count += 1
        return count

    def after(self, seq: int, limit: int) -> list[pb.Sample]:
        """Up to `limit` buffered samples with a seq above `seq`, oldest first."""
        if not self._samples or self._samples[-1].seq <= seq:
            return []
        # Seqs are consecutive inside the buffer, so the start is an index, not a search.
        start = max(0, seq + 1 - self._samples[0].seq)
        return [self._samples[i] for i in range(start, min(len(self._samples), start + limit))]

    async def wait_for_more(self) -> None:
        """Return once a sample has been added after this call."""
        await self._grew.wait()
