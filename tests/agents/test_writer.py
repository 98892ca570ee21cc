"""The sample writer's group commit and its live lane, against a storage that records each write.

The durable side (real databases, kill -9, outages) is proven in tests/faults and
tests/agents/test_ingest.py; these pin the writer's own choices: how much one write takes, in
which order, and what a call may be acked for when its batches are stored out of order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from monitord.cache import LiveCache
from monitord.ingest import writer as writer_module
from monitord.ingest.presence import AgentPresence
from monitord.ingest.stats import IngestStats
from monitord.ingest.writer import AckTracker, SampleWriter
from monitord.models import HostFacts, MetricsSample, datetime_to_ms, now_ms
from monitord.storage import StorageError
from tests.live_feed_helpers import sample


class GatedStorage:
    """Records the samples of every `insert_samples`; each write commits once `release`d."""

    def __init__(self) -> None:
        self.writes: list[list[tuple[int, MetricsSample]]] = []
        self.facts: list[tuple[int, HostFacts]] = []
        # Writes of more samples than this fail, as a slow database runs out of its deadline.
        self.fail_above: int | None = None
        self._permits = trio.Semaphore(0)

    def release(self, writes: int = 1) -> None:
        for _ in range(writes):
            self._permits.release()

    async def insert_samples(self, batch: Sequence[tuple[int, MetricsSample]], *, notify: Sequence[str] = ()) -> int:
        self.writes.append(list(batch))
        await self._permits.acquire()
        if self.fail_above is not None and len(batch) > self.fail_above:
            raise StorageError("no answer within 5 s (database.timeout_seconds)")
        return len(batch)

    async def update_host_facts(self, server_id: int, facts: HostFacts) -> None:
        self.facts.append((server_id, facts))


def make_writer(
    storage: GatedStorage, *, batch_samples: int = 10, buffer_samples: int = 100_000, delay_seconds: float = 0.01
) -> SampleWriter:
    return SampleWriter(
        storage,  # type: ignore[arg-type]  # only the two methods the writer calls
        LiveCache(),
        AgentPresence(),
        IngestStats(),
        batch_samples=batch_samples,
        delay_seconds=delay_seconds,
        buffer_samples=buffer_samples,
        retry_max_seconds=1.0,
    )


def samples(count: int, *, age_seconds: float) -> list[MetricsSample]:
    newest = now_ms() - int(age_seconds * 1000)
    return [sample(newest - (count - 1 - index) * 1000) for index in range(count)]


async def test_under_load_one_write_takes_the_whole_backlog(nursery: trio.Nursery) -> None:
    storage = GatedStorage()
    writer = make_writer(storage, batch_samples=10)
    await nursery.start(writer.run)
    calls = [AckTracker() for _ in range(50)]
    await writer.submit(0, samples(10, age_seconds=0), 10, calls[0])
    await trio.testing.wait_all_tasks_blocked()
    assert len(storage.writes) == 1  # the first write is under way (held)
    for server_id, acks in enumerate(calls[1:], start=1):
        await writer.submit(server_id, samples(10, age_seconds=0), 10, acks)
    storage.release(2)
    await trio.testing.wait_all_tasks_blocked()
    # Ten times batch_samples waited meanwhile: one commit took all of it.
    assert [len(write) for write in storage.writes] == [10, 490]
    assert all(acks.stored_seq == 10 and acks.settled for acks in calls)


async def test_live_samples_overtake_backfill_and_acks_wait_for_the_earlier_batch(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "GROUP_COMMIT_MAX_SAMPLES", 5)
    storage = GatedStorage()
    writer = make_writer(storage, batch_samples=1)
    await nursery.start(writer.run)
    other = AckTracker()
    await writer.submit(1, samples(1, age_seconds=0), 1, other)
    await trio.testing.wait_all_tasks_blocked()
    # While that write is held, an agent back from an outage sends its backlog, then a live sample.
    reconnected = AckTracker()
    backfill = samples(5, age_seconds=600)
    live = samples(1, age_seconds=0)
    await writer.submit(2, backfill, 5, reconnected)
    await writer.submit(2, live, 6, reconnected)
    storage.release()  # the first write commits; the next one takes the live sample first
    await trio.testing.wait_all_tasks_blocked()
    assert [[datetime_to_ms(s.time) for _, s in write] for write in storage.writes[1:]] == [
        [datetime_to_ms(live[0].time)]
    ]
    storage.release()
    await trio.testing.wait_all_tasks_blocked()
    # The live sample (seq 6) is committed, the backfill (seqs up to 5) is not: no ack yet.
    assert reconnected.stored_seq is None and not reconnected.settled
    assert len(storage.writes) == 3 and [s for _, s in storage.writes[2]] == backfill
    storage.release()
    await trio.testing.wait_all_tasks_blocked()
    assert reconnected.stored_seq == 6 and reconnected.settled
    assert other.stored_seq == 1


async def test_a_full_buffer_holds_backfill_but_admits_live_samples(nursery: trio.Nursery) -> None:
    storage = GatedStorage()
    writer = make_writer(storage, batch_samples=1, buffer_samples=100)
    await nursery.start(writer.run)
    await writer.submit(1, samples(1, age_seconds=0), 1, AckTracker())
    await trio.testing.wait_all_tasks_blocked()  # that write is held
    await writer.submit(2, samples(100, age_seconds=600), 100, AckTracker())  # the buffer is full
    backfill_admitted = trio.Event()

    async def more_backfill() -> None:
        await writer.submit(3, samples(1, age_seconds=600), 1, AckTracker())
        backfill_admitted.set()

    nursery.start_soon(more_backfill)
    await trio.testing.wait_all_tasks_blocked()
    assert not backfill_admitted.is_set()
    with trio.fail_after(1):  # a live sample finds room in the headroom at once
        await writer.submit(4, samples(1, age_seconds=0), 1, AckTracker())
    assert writer.buffered_samples == 102 and not backfill_admitted.is_set()
    storage.release(3)
    with trio.fail_after(1):
        await backfill_admitted.wait()


async def test_a_repeated_hello_is_stored_once(nursery: trio.Nursery) -> None:
    storage = GatedStorage()
    writer = make_writer(storage, delay_seconds=0)  # hellos alone are written at once
    await nursery.start(writer.run)
    first = HostFacts(hostname="web-1", cpu_cores=4)
    writer.note_facts(1, first)
    await trio.testing.wait_all_tasks_blocked()
    # A fleet reconnecting after an outage says hello again, unchanged: no transaction for it.
    writer.note_facts(1, HostFacts(hostname="web-1", cpu_cores=4))
    await trio.testing.wait_all_tasks_blocked()
    assert storage.facts == [(1, first)]
    changed = HostFacts(hostname="web-1", cpu_cores=8)
    writer.note_facts(1, changed)
    await trio.testing.wait_all_tasks_blocked()
    assert storage.facts == [(1, first), (1, changed)]


@pytest.mark.expect_error_logs
async def test_a_write_too_big_for_the_deadline_is_retried_smaller(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "GROUP_COMMIT_MAX_SAMPLES", 400)
    monkeypatch.setattr(writer_module, "FIRST_RETRY_SECONDS", 0)
    storage = GatedStorage()
    writer = make_writer(storage, batch_samples=10)
    await nursery.start(writer.run)
    calls = [AckTracker() for _ in range(41)]
    await writer.submit(0, samples(10, age_seconds=0), 10, calls[0])
    await trio.testing.wait_all_tasks_blocked()
    for server_id, acks in enumerate(calls[1:], start=1):
        await writer.submit(server_id, samples(10, age_seconds=0), 10, acks)
    storage.fail_above = 100
    storage.release(100)
    await trio.testing.wait_all_tasks_blocked()
    # 400 and 200 failed; 100 went through, and the limit grows back one success at a time.
    assert [len(write) for write in storage.writes][:5] == [10, 400, 200, 100, 200]
    assert all(acks.stored_seq == 10 for acks in calls)
    assert writer.buffered_samples == 0
