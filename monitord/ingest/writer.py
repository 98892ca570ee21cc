"""The one task that stores agent samples: every agent's batches wait in one bounded buffer.

    agent call ── submit ──► live cache + presence (at once: the dashboard never waits on the DB)
                         └─► buffer: live lane, then backfill lane ── run ──► insert_samples ──► acks

Group commit: a write takes everything waiting (live batches first), up to
`GROUP_COMMIT_MAX_SAMPLES`, so the size of each commit follows the backlog: one commit per
`batch_samples` when idle, a few large ones per second under load. Batches whose samples are all
recent (`LIVE_SECONDS`) are live: they wait in their own lane, written ahead of backfill (samples
an agent buffered through an outage), and may use `LIVE_HEADROOM` beyond the buffer's capacity,
so a reconnecting fleet's backlog never delays the live samples of the agents that are current.

An ack still means "committed": each call's `AckTracker` learns which of its batches the
database holds, and which were dropped on overflow (the call is then ended, so its agent
re-sends from its own buffer). While the database fails, the writer keeps the samples and
retries with capped exponential backoff; `/api/health` and `/metrics` read its state
(`monitord.health.DatabaseHealth`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import trio

from monitord.cache import LiveCache
from monitord.health import DatabaseState
from monitord.ingest.presence import AgentPresence
from monitord.ingest.stats import IngestStats
from monitord.models import HostFacts, MetricsSample, datetime_to_ms, now_ms
from monitord.storage import Storage, StorageError, StorageFull

log = logging.getLogger("monitord.agents")

FIRST_RETRY_SECONDS = 0.1
# One write (one transaction) stores at most this many samples: large enough that per-commit
# costs vanish under load, small enough that a commit stays well under a second (and holds the
# locks on its servers' rows, which history maintenance also takes, only that long). A failed
# write halves the next one's limit (down to `batch_samples`), each success doubles it back, so
# a write that fails by running out of `database.timeout_seconds` on a slow machine is retried
# smaller instead of ever larger.
GROUP_COMMIT_MAX_SAMPLES = 10_000
# A batch whose oldest sample is at most this old is live (not backfill).
LIVE_SECONDS = 10.0
# Live batches may fill the buffer this far beyond its capacity (a fraction of it).
LIVE_HEADROOM = 0.1


@dataclass(eq=False)
class _Pending:
    """One batch of a call (or a run of invalid samples) until it settles."""

    seq: int
    done: bool = False


class AckTracker:
    """What one agent call may acknowledge, fed by the writer as the call's batches settle.

    A call's batches may be stored out of order (a live batch overtakes backfill), so the tracker
    keeps them in submit order and acks a seq only once every batch up to it is stored. A batch
    dropped on overflow makes `lost` true for good.
    """

    def __init__(self) -> None:
        # The highest seq the agent may be acked for (every sample up to it is committed).
        self.stored_seq: int | None = None
        # Samples of this call were dropped on overflow: no further ack can be truthful.
        self.lost = False
        # This call's batches not settled yet (in the buffer or being written), in seq order.
        self._pending: deque[_Pending] = deque()
        self._changed = trio.Event()
        # The call submits nothing more (its agent ended its side, or the call ended).
        self.closed = False

    @property
    def settled(self) -> bool:
        """True when none of this call's batches waits for the database."""
        return not self._pending

    def nothing_to_store(self, seq: int) -> None:
        """Every sample up to `seq` was invalid (dropped and counted): ackable once the earlier
        batches are stored."""
        self._pending.append(_Pending(seq, done=True))
        self._settle()

    def close(self) -> None:
        """The call will submit nothing more."""
        self.closed = True
        self._notify()

    def _queued(self, seq: int) -> _Pending:
        pending = _Pending(seq)
        self._pending.append(pending)
        return pending

    def _stored(self, pending: _Pending) -> None:
        pending.done = True
        self._settle()

    def _dropped(self, pending: _Pending | None) -> None:
        """Samples of the call were dropped; `pending` is their batch if all of it went."""
        if pending is not None:
            pending.done = True
        self.lost = True
        self._settle()

    def _settle(self) -> None:
        seq = None
        while self._pending and self._pending[0].done:
            seq = self._pending.popleft().seq
        if seq is not None:
            self.stored_seq = seq if self.stored_seq is None else max(self.stored_seq, seq)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Return at the next change of `stored_seq`, `lost`, `settled` or `closed`."""
        await self._changed.wait()


@dataclass(eq=False)
class _Batch:
    server_id: int
    samples: Sequence[MetricsSample]
    acks: AckTracker
    pending: _Pending
    live: bool


class SampleWriter:
    """Buffers the samples of all agents and stores them in few `insert_samples` calls.

    `submit` puts a validated batch into the live cache at once and into the buffer; `run`
    (started in the daemon's nursery) writes when `batch_samples` are waiting or `delay_seconds`
    after the first arrived, taking whatever waits then (live first; see the module docstring).
    While the database works, a full buffer makes `submit` wait (backpressure through gRPC flow
    control); while it fails, the oldest waiting samples (backfill first) are dropped
    instead, so the live view never stalls. Host facts from agents' hellos are stored by the same
    task, so a hello never waits on the database either.
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
        buffer_samples: int,
        retry_max_seconds: float,
        observe_write_seconds: Callable[[float], object] = lambda _seconds: None,
        announce: Callable[[Sequence[tuple[int, MetricsSample]]], Sequence[str]] | None = None,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._presence = presence
        self._stats = stats
        self._batch_samples = batch_samples
        self._delay_seconds = delay_seconds
        self._capacity = buffer_samples
        self._retry_max_seconds = retry_max_seconds
        self._observe_write_seconds = observe_write_seconds
        self._group_limit = max(batch_samples, GROUP_COMMIT_MAX_SAMPLES)
        # Oldest first in each lane; a write empties the live lane before it takes backfill.
        self._live: deque[_Batch] = deque()
        self._backfill: deque[_Batch] = deque()
        # Replicas (issue 19): the live payloads sent with each stored batch, in its transaction.
        self._announce = announce
        self._facts: dict[int, HostFacts] = {}
        # What this writer stored per server: an agent repeats its hello on every reconnect, and a
        # fleet reconnecting after an outage would otherwise cost one transaction per agent.
        self._stored_facts: dict[int, HostFacts] = {}
        self._writing_facts: dict[int, HostFacts] = {}  # the facts of the write under way
        # Samples in the two lanes, and in the batches being written right now.
        self._waiting_samples = 0
        self._writing_samples = 0
        self._arrived = trio.Event()
        self._room = trio.Event()
        self.state = DatabaseState.OK
        # Why the last write failed ("" while they work), safe to show (no SQL, no secrets).
        self.reason = ""
        self._healthy = trio.Event()
        self._healthy.set()
        self._failing_since: float | None = None

    @property
    def buffered_samples(self) -> int:
        """Accepted samples not stored yet: waiting, or in the write under way."""
        return self._waiting_samples + self._writing_samples

    @property
    def overflowed_samples(self) -> int:
        """Accepted samples dropped from the full buffer since the daemon started."""
        return self._stats.overflowed_samples

    async def submit(self, server_id: int, samples: Sequence[MetricsSample], seq: int, acks: AckTracker) -> None:
        """Show `samples` (validated, not empty) of `server_id` live, and queue them for the
        database; `acks` learns when they are stored through `seq`. Waits while the buffer is
        full and the database works."""
        newest = max(samples, key=lambda sample: sample.time)
        if self._cache.apply_sample(server_id, newest) is not None:
            self._presence.reported(server_id)
        oldest = min(samples, key=lambda sample: sample.time)
        live = datetime_to_ms(oldest.time) >= now_ms() - LIVE_SECONDS * 1000
        capacity = self._capacity + (int(self._capacity * LIVE_HEADROOM) if live else 0)
        # Drop only while the database fails; while it works, wait for room (a batch bigger
        # than the whole buffer goes in alone, so the buffer may hold one batch more).
        while (
            self._waiting_samples and self._waiting_samples + len(samples) > capacity and self.state is DatabaseState.OK
        ):
            self._room = self._room if not self._room.is_set() else trio.Event()
            await self._room.wait()
        (self._live if live else self._backfill).append(_Batch(server_id, samples, acks, acks._queued(seq), live))
        self._waiting_samples += len(samples)
        self._drop_overflow()
        self._arrived.set()

    def note_facts(self, server_id: int, facts: HostFacts) -> None:
        """Store `facts` (from a hello; already in the cache) with the next write, unless they are
        what this writer stored last for `server_id` (server ids are never reused)."""
        if self._writing_facts.get(server_id, self._stored_facts.get(server_id)) == facts:
            self._facts.pop(server_id, None)  # an older, different hello need not be stored now
            return
        self._facts[server_id] = facts
        self._arrived.set()

    async def wait_until_healthy(self) -> None:
        """Return once the last write succeeded (at once if it did)."""
        await self._healthy.wait()

    def _drop_overflow(self) -> None:
        """While writes fail, drop the oldest waiting samples beyond capacity; their calls can no
        longer be acked. (While writes work, `submit` waits for room instead.)"""
        excess = self._waiting_samples - self._capacity
        if excess <= 0 or self.state is DatabaseState.OK:
            return
        self._stats.overflowed_samples += excess
        self._waiting_samples -= excess
        while excess:
            lane = self._backfill or self._live  # backfill is the oldest data
            oldest = lane[0]
            if len(oldest.samples) <= excess:
                lane.popleft()
                excess -= len(oldest.samples)
                oldest.acks._dropped(oldest.pending)
            else:  # keep its newest samples: still worth storing, though never acked
                oldest.samples = oldest.samples[excess:]
                excess = 0
                oldest.acks._dropped(None)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write buffered samples and facts until cancelled. A failed write keeps them buffered
        and is retried with capped exponential backoff; state changes are logged once each."""
        task_status.started()
        failures = 0
        while True:
            await self._wait_for_work()
            if await self._write_some():
                failures = 0
            else:
                await trio.sleep(min(self._retry_max_seconds, FIRST_RETRY_SECONDS * 2 ** min(failures, 30)))
                failures += 1

    async def flush(self) -> bool:
        """Write everything buffered now, without waiting between batches; stops at the first
        failure. Returns True when the buffer is empty (the daemon calls this when stopping)."""
        while self._waiting_samples or self._facts:
            if not await self._write_some():
                return False
        return True

    async def _wait_for_work(self) -> None:
        while not self._waiting_samples and not self._facts:
            await self._next_arrival()
        with trio.move_on_after(self._delay_seconds):
            while self._waiting_samples < self._batch_samples:
                await self._next_arrival()

    async def _next_arrival(self) -> None:
        # The writer is the only waiter: a fresh event per wait cannot miss a set.
        self._arrived = trio.Event()
        await self._arrived.wait()

    async def _write_some(self) -> bool:
        """One write: pending facts, then whatever waits (live lane first, then backfill), up to
        the group limit (see GROUP_COMMIT_MAX_SAMPLES). Returns False (everything taken is back in the buffer) when
        the database failed."""
        facts, self._facts = self._facts, {}
        self._writing_facts = facts
        taken: list[_Batch] = []
        count = 0
        limit = self._group_limit
        for lane in (self._live, self._backfill):
            while lane and (not taken or count + len(lane[0].samples) <= limit):
                batch = lane.popleft()
                taken.append(batch)
                count += len(batch.samples)
        self._waiting_samples -= count
        self._writing_samples = count
        rows = [(batch.server_id, sample) for batch in taken for sample in batch.samples]
        started = time.perf_counter()
        try:
            for server_id, server_facts in facts.items():
                await self._storage.update_host_facts(server_id, server_facts)
            inserted = await self._storage.insert_samples(rows, notify=self._live_payloads(rows)) if rows else 0
        except StorageError as exc:
            self._writing_samples, self._writing_facts = 0, {}  # before _put_back counts them as waiting again
            self._put_back(taken, facts)
            self._failed(exc)
            self._drop_overflow()
            self._group_limit = max(self._batch_samples, self._group_limit // 2)
            return False
        except trio.Cancelled:
            # Cancelled mid-write (the daemon stops): maybe committed, maybe not; the final
            # flush writes them again, and re-written samples are stored once.
            self._writing_samples, self._writing_facts = 0, {}
            self._put_back(taken, facts)
            raise
        self._writing_samples, self._writing_facts = 0, {}
        self._stored_facts.update(facts)
        self._group_limit = min(max(self._batch_samples, GROUP_COMMIT_MAX_SAMPLES), self._group_limit * 2)
        if rows:
            self._observe_write_seconds(time.perf_counter() - started)
        self._stats.stored_samples += inserted
        self._stats.duplicate_samples += len(rows) - inserted
        for batch in taken:
            batch.acks._stored(batch.pending)
        self._room.set()
        self._recovered()
        return True

    def _live_payloads(self, rows: Sequence[tuple[int, MetricsSample]]) -> Sequence[str]:
        """The one hook of replicas in the write path: what `insert_samples` notifies."""
        return self._announce(rows) if self._announce is not None else ()

    def _put_back(self, taken: list[_Batch], facts: dict[int, HostFacts]) -> None:
        # Older than anything that arrived meanwhile: back to the front of their lanes.
        for batch in reversed(taken):
            (self._live if batch.live else self._backfill).appendleft(batch)
        self._waiting_samples += sum(len(batch.samples) for batch in taken)
        for server_id, server_facts in facts.items():
            self._facts.setdefault(server_id, server_facts)  # a newer hello wins

    def _failed(self, exc: StorageError) -> None:
        self._stats.failed_writes += 1
        state = DatabaseState.FULL if isinstance(exc, StorageFull) else DatabaseState.UNAVAILABLE
        self.reason = str(exc)
        if state is self.state:
            return  # one line per state change, not per retry
        if self.state is DatabaseState.OK:
            self._failing_since = trio.current_time()
            self._healthy = trio.Event()
            self._room.set()  # submitters waiting for room drop the oldest samples instead
        self.state = state
        if state is DatabaseState.FULL:
            log.error(
                "the database is full (%s): free disk space; meanwhile agent samples wait in memory "
                "(%d of %d), retried every %g s at most, the oldest dropped beyond that",
                exc,
                self.buffered_samples,
                self._capacity,
                self._retry_max_seconds,
            )
        else:
            log.error(
                "cannot store agent samples (%s); they wait in memory (%d of %d), retried every %g s at "
                "most, the oldest dropped beyond that",
                exc,
                self.buffered_samples,
                self._capacity,
                self._retry_max_seconds,
            )

    def _recovered(self) -> None:
        if self.state is DatabaseState.OK:
            return
        assert self._failing_since is not None
        log.info(
            "the database accepts writes again after %.1f s; %d samples dropped on overflow so far, %d still buffered",
            trio.current_time() - self._failing_since,
            self._stats.overflowed_samples,
            self.buffered_samples,
        )
        self.state = DatabaseState.OK
        self.reason = ""
        self._failing_since = None
        self._healthy.set()
