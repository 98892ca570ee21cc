"""The history maintenance task: passes that roll up, take backfills in and apply retention."""

from __future__ import annotations

import logging

import pytest
import trio

from monitord.config import RetentionSettings
from monitord.history.maintenance import (
    DELETE_BATCH_ROWS,
    ROLLUP_BATCH_SAMPLES,
    MaintenanceStatus,
    maintain_history,
    retention_cutoffs,
    run_pass,
)
from monitord.models import MetricsSample, datetime_to_ms
from monitord.storage import StorageError
from monitord.storage.base import HOUR_MS, MINUTE_MS, RetentionCutoffs, RollupProgress, Tier
from monitord.storage.transfer import TransferStorage
from tests.storage.test_contract import T0
from tests.storage.test_history_contract import assert_buckets, by_bucket, expected, history, point

H0 = T0 - T0 % HOUR_MS
DAY_MS = 24 * HOUR_MS
RETENTION = RetentionSettings(raw_hours=2, minute_days=1, hour_days=2)


def test_retention_cutoffs_are_whole_buckets_back_from_now() -> None:
    moment = H0 + 5 * HOUR_MS + 17 * MINUTE_MS + 42_123
    assert retention_cutoffs(RetentionSettings(), moment) == RetentionCutoffs(
        raw_before_ms=moment - 42_123 - 48 * HOUR_MS,
        minute_before_ms=H0 + 5 * HOUR_MS - 14 * DAY_MS,
        hour_before_ms=H0 + 5 * HOUR_MS - 400 * DAY_MS,
    )


async def test_a_pass_rolls_up_then_deletes_what_retention_says_is_due(storage: TransferStorage) -> None:
    server = await storage.create_server("s", "h", now_ms=T0)
    end = H0 + 3 * DAY_MS
    samples = [point(H0 + m * MINUTE_MS, cpu=float(m % 10)) for m in range(3 * 24 * 60)]  # one a minute
    await storage.insert_samples([(server.id, s) for s in samples])

    report = await run_pass(storage, RETENTION, end, pause_seconds=0)
    # Up to the minute that ended a minute ago: all but the newest sample.
    assert report.rolled_up_samples == len(samples) - 1
    assert report.deleted_rows == (len(samples) - 120) + 2 * 24 * 60 + 24  # raw, minutes, hours
    # Small transactions: the work was cut into batches of a bounded size.
    assert report.batches >= len(samples) // ROLLUP_BATCH_SAMPLES + report.deleted_rows // DELETE_BATCH_ROWS

    kept = await storage.query_samples(server.id, 0, end)
    assert [datetime_to_ms(s.time) for s in kept] == [H0 + m * MINUTE_MS for m in range(3 * 24 * 60 - 120, 3 * 24 * 60)]
    minutes = await history(storage, server.id, Tier.MINUTE, 0, end - 2 * MINUTE_MS, MINUTE_MS)
    assert [m.bucket_ms for m in minutes] == [end - DAY_MS + m * MINUTE_MS for m in range(24 * 60 - 2)]
    hours = await history(storage, server.id, Tier.HOUR, 0, end - HOUR_MS, HOUR_MS)
    assert_buckets(
        hours, [expected(b, g) for b, g in by_bucket(samples, HOUR_MS).items() if end - 2 * DAY_MS <= b < end - HOUR_MS]
    )

    again = await run_pass(storage, RETENTION, end, pause_seconds=0)
    assert (again.rolled_up_samples, again.late_minutes, again.deleted_rows) == (0, 0, 0)


async def test_passes_keep_up_as_time_passes_and_take_backfills_in(storage: TransferStorage) -> None:
    # An agent reports every 10 s for three hours and a pass runs every 20 s. The agent is cut
    # off for half an hour in the middle, then sends its buffer with the original times, as a
    # reconnecting agent does: by then those minutes and an hour are rolled up already.
    server = await storage.create_server("s", "h", now_ms=T0)
    sent: list[MetricsSample] = []
    buffer: list[MetricsSample] = []
    reports = []
    for tick in range(3 * 360):
        moment = H0 + tick * 10_000
        sample = point(moment, cpu=float(tick % 7), rx=tick)
        if 60 * 6 <= tick < 90 * 6:
            buffer.append(sample)
        else:
            await storage.insert_samples([(server.id, s) for s in [*buffer, sample]])
            sent += [*buffer, sample]
            buffer = []
        if tick % 2:
            reports.append(await run_pass(storage, RetentionSettings(), moment + 5_000, pause_seconds=0))
    # Caught up all along: at most a minute of samples per pass, but for the backfill.
    assert max(r.rolled_up_samples for r in reports) == 6
    # The buffer arrives at 1:30; the pass before had rolled up to 1:28: minutes 1:00-1:27 are late.
    assert sum(r.late_minutes for r in reports) == 28
    # Every sample once: by the watermark, or (28 minutes of the buffer) as a late sample. The
    # last two minutes are not due yet.
    assert sum(r.rolled_up_samples for r in reports) == 3 * 360 - 28 * 6 - 12
    assert_buckets(
        await history(storage, server.id, Tier.MINUTE, H0, H0 + 3 * HOUR_MS - 2 * MINUTE_MS, MINUTE_MS),
        [expected(b, g) for b, g in by_bucket(sent, MINUTE_MS).items() if b < H0 + 3 * HOUR_MS - 2 * MINUTE_MS],
    )
    assert_buckets(
        await history(storage, server.id, Tier.HOUR, H0, H0 + 2 * HOUR_MS, HOUR_MS),
        [expected(b, g) for b, g in by_bucket(sent, HOUR_MS).items() if b < H0 + 2 * HOUR_MS],
    )


class FakeStorage:
    """The storage calls maintenance makes, with nothing behind them: each pass finds two
    batches of rollup work. roll_up fails the first `failures` times with `error`."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error
        self.moments: list[int] = []
        self._behind = True

    async def roll_up(self, until_ms: int, *, max_samples: int) -> RollupProgress:
        if self.failures:
            self.failures -= 1
            assert self.error is not None
            raise self.error
        self.moments.append(until_ms)
        self._behind = not self._behind
        return RollupProgress(samples=max_samples if not self._behind else 7, caught_up=self._behind)

    async def roll_up_late(self, *, max_buckets: int) -> int:
        return 0

    async def delete_expired(self, cutoffs: RetentionCutoffs, *, max_rows: int) -> int:
        return 0

    async def reclaim_space(self, *, max_pages: int) -> int:
        return 0


async def test_the_task_runs_a_pass_at_once_and_then_every_interval(autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeStorage()
    status = MaintenanceStatus()
    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: maintain_history(
                fake,
                RETENTION,
                status=status,
                clock=lambda: H0 + round((trio.current_time() - started) * 1000),  # type: ignore[arg-type]
                interval_seconds=20,
                task_status=task_status,
            )
        )
        report = await status.wait_for_passes(4)
        nursery.cancel_scope.cancel()
    assert (report.rolled_up_samples, report.batches) == (ROLLUP_BATCH_SAMPLES + 7, 4)
    # Passes at 0, 20, 40 and 60 s, each rolling up to the last whole minute that had ended a
    # minute before its moment: until the 60 s pass that is the minute before H0.
    assert fake.moments[::2] == [H0 - MINUTE_MS, H0 - MINUTE_MS, H0 - MINUTE_MS, H0]


async def test_a_pass_the_database_fails_is_retried_on_schedule(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "monitord.history")
    fake = FakeStorage(failures=2, error=StorageError("PostgreSQL at db:5432: connection refused"))
    status = MaintenanceStatus()
    async with trio.open_nursery() as nursery:
        before = trio.current_time()
        await nursery.start(
            lambda task_status: maintain_history(
                fake,
                RETENTION,
                status=status,
                clock=lambda: H0,
                interval_seconds=20,  # type: ignore[arg-type]
                task_status=task_status,
            )
        )
        await status.wait_for_passes(1)
        assert trio.current_time() - before == pytest.approx(40, abs=1)  # two failed passes, 20 s apart
        nursery.cancel_scope.cancel()
    messages = [r.getMessage() for r in caplog.records if r.name == "monitord.history"]
    assert messages == [
        "history maintenance failed, retrying in 20 s: PostgreSQL at db:5432: connection refused",
        "history maintenance failed, retrying in 20 s: PostgreSQL at db:5432: connection refused",
        "history maintenance works again",
    ]


@pytest.mark.expect_error_logs
async def test_a_pass_that_hits_a_bug_is_logged_and_the_task_lives_on(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeStorage(failures=3, error=RuntimeError("a bug"))
    status = MaintenanceStatus()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: maintain_history(
                fake,
                RETENTION,
                status=status,
                clock=lambda: H0,
                interval_seconds=20,  # type: ignore[arg-type]
                task_status=task_status,
            )
        )
        await status.wait_for_passes(1)
        nursery.cancel_scope.cancel()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "history maintenance failed; retrying every 20 s",
        "history maintenance failed again; retrying in 20 s",
        "history maintenance failed again; retrying in 20 s",
    ]
    assert errors[0].exc_info is not None and errors[1].exc_info is None  # the traceback once
