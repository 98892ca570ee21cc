"""The one task that stores agent samples: every agent's batches go through it, grouped."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from monitord.cache import LiveCache
from monitord.ingest.presence import AgentPresence
from monitord.ingest.stats import IngestStats
from monitord.models import MetricsSample
from monitord.storage import Storage, StorageError

log = logging.getLogger("monitord.agents")

# Batches waiting for the writer; a full queue makes agents' calls wait (backpressure), and
# their gRPC flow control then slows the agents down.
QUEUE_BATCHES = 1024


@dataclass(eq=False)
class WriteTicket:
    """Completion of one submitted batch: `done` is set once the writer's flush returned."""

    done: trio.Event = field(default_factory=trio.Event)
    stored: bool = False

    def settle(self, stored: bool) -> None:
        self.stored = stored
        self.done.set()


def settled_ticket() -> WriteTicket:
    """A ticket for a batch with nothing to store (every sample was dropped)."""
    ticket = WriteTicket()
    ticket.settle(True)
    return ticket


@dataclass(eq=False)
class _Batch:
    server_id: int
    samples: Sequence[MetricsSample]
    ticket: WriteTicket


class SampleWriter:
    """Groups the samples of all agents into few `insert_samples` calls.

    `submit` queues one agent batch and returns its ticket; `run` (started in the daemon's
    nursery) flushes when `batch_samples` are waiting or `delay_seconds` after the first one
    arrived. Only once `insert_samples` has returned (durable) does the ticket settle, so an ack
    never promises more than the database holds. After a flush the cache gets each server's
    newest sample and the presence tracker its report time.
    """

    def __init__(
        self,
        storage: Storage,
        cache: LiveCache,
        presence: AgentPresence,
        stats: IngestStats,
        *,
        batch_samples: int,
        delay_seconds: float,
        observe_write_seconds: Callable[[float], object] = lambda _seconds: None,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._presence = presence
        self._stats = stats
        self._batch_samples = batch_samples
        self._delay_seconds = delay_seconds
        self._observe_write_seconds = observe_write_seconds
        # Samples submitted and not yet stored or failed (telemetry).
        self.queued_samples = 0
        self._send, self._receive = trio.open_memory_channel[_Batch](QUEUE_BATCHES)

    async def submit(self, server_id: int, samples: Sequence[MetricsSample]) -> WriteTicket:
        """Queue `samples` of `server_id`; waits while the queue is full."""
        ticket = WriteTicket()
        await self._send.send(_Batch(server_id, samples, ticket))
        self.queued_samples += len(samples)
        return ticket

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Flush queued batches until cancelled. A failed flush is logged and counted, its
        tickets settle as not stored (the agents re-send), and the writer carries on."""
        task_status.started()
        while True:
            first = await self._receive.receive()
            pending = [first]
            count = len(first.samples)
            with trio.move_on_after(self._delay_seconds):
                while count < self._batch_samples:
                    batch = await self._receive.receive()
                    pending.append(batch)
                    count += len(batch.samples)
            while count < self._batch_samples:  # whatever is already queued goes along
                try:
                    batch = self._receive.receive_nowait()
                except trio.WouldBlock:
                    break
                pending.append(batch)
                count += len(batch.samples)
            await self._flush(pending)

    async def _flush(self, pending: list[_Batch]) -> None:
        rows = [(batch.server_id, sample) for batch in pending for sample in batch.samples]
        self.queued_samples -= len(rows)
        started = time.perf_counter()
        try:
            inserted = await self._storage.insert_samples(rows)
            self._observe_write_seconds(time.perf_counter() - started)
        except StorageError as exc:
            self._fail(pending, f"cannot store {len(rows)} agent samples: {exc}")
            return
        except Exception:
            log.exception("storing %d agent samples failed", len(rows))
            self._fail(pending, None)
            return
        self._stats.stored_samples += inserted
        self._stats.duplicate_samples += len(rows) - inserted
        newest: dict[int, MetricsSample] = {}
        for server_id, sample in rows:
            current = newest.get(server_id)
            if current is None or sample.time > current.time:
                newest[server_id] = sample
        for server_id, sample in newest.items():
            if self._cache.apply_sample(server_id, sample) is not None:
                self._presence.reported(server_id)
        for batch in pending:
            batch.ticket.settle(True)

    def _fail(self, pending: list[_Batch], message: str | None) -> None:
        if message is not None:
            log.error("%s", message)
        self._stats.failed_writes += 1
        for batch in pending:
            batch.ticket.settle(False)
