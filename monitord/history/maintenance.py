"""The history maintenance task: rollups, late samples, retention and vacuum, in small steps.

Every `interval_seconds` one pass runs, in this order:

1. roll raw samples up into 1-minute buckets (and completed hours into 1-hour buckets), up to
   the last whole minute that ended ROLLUP_DELAY_MS ago, so that samples still on their way
   (an agent sends each as it is taken) land before their minute is rolled up;
2. recompute the minutes (and hours) that got late samples: backfills after a reconnect;
3. delete what retention says is due, tier by tier, then (SQLite) give the freed pages back.

Each step is a loop of storage calls that are each one short transaction with a row budget
(see the *_BATCH_* constants), with a pause between them: SQLite has a single writer, and an
ingest batch waiting for it should never wait for more than one of these transactions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import msgspec
import trio

from monitord.config import RetentionSettings
from monitord.models import now_ms
from monitord.storage import Storage, StorageError
from monitord.storage.base import HOUR_MS, MINUTE_MS, RetentionCutoffs
from monitord.storage.rollup import floor_to

log = logging.getLogger("monitord.history")
T = TypeVar("T")

MAINTENANCE_INTERVAL_SECONDS = 20.0
# A minute is rolled up this long after it ended. Live samples arrive within a second or two;
# anything later is a late sample and costs a recomputation of its minute, so keep it rare.
ROLLUP_DELAY_MS = 60_000
# Budgets per transaction. bench/history_size.py measures what a batch costs: with these,
# every maintenance transaction stays well under the ~100 ms ingest may wait (see README).
ROLLUP_BATCH_SAMPLES = 3_000
LATE_BATCH_MINUTES = 50
DELETE_BATCH_ROWS = 5_000
VACUUM_BATCH_PAGES = 512  # 2 MiB at SQLite's default page size
# Between two transactions: lets waiting ingest batches and API reads go first.
PAUSE_SECONDS = 0.005

DAY_MS = 24 * HOUR_MS


class PassReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one maintenance pass did."""

    rolled_up_samples: int = 0
    late_minutes: int = 0
    deleted_rows: int = 0
    batches: int = 0
    longest_batch_seconds: float = 0.0


def retention_cutoffs(retention: RetentionSettings, moment_ms: int) -> RetentionCutoffs:
    """What is due for deletion at `moment_ms`: each tier's rows older than its retention.

    Aligned down to whole minutes (raw) and hours (rollups): cutting inside a bucket would
    leave half of it, which a late sample could then not be rolled up against.
    """
    return RetentionCutoffs(
        raw_before_ms=floor_to(moment_ms - retention.raw_hours * HOUR_MS, MINUTE_MS),
        minute_before_ms=floor_to(moment_ms - retention.minute_days * DAY_MS, HOUR_MS),
        hour_before_ms=floor_to(moment_ms - retention.hour_days * DAY_MS, HOUR_MS),
    )


class MaintenanceStatus:
    """What the maintenance task has done so far: tests wait on it, /metrics reads its totals."""

    def __init__(self) -> None:
        self.passes = 0
        self.failed_passes = 0
        self.rolled_up_samples = 0
        self.deleted_rows = 0
        self.last: PassReport | None = None
        self._changed = trio.Event()

    def record(self, report: PassReport) -> None:
        self.passes += 1
        self.rolled_up_samples += report.rolled_up_samples
        self.deleted_rows += report.deleted_rows
        self.last = report
        self._changed.set()
        self._changed = trio.Event()

    def record_failure(self) -> None:
        self.failed_passes += 1

    async def wait_for_passes(self, count: int) -> PassReport:
        """Wait until at least `count` passes have finished in all; returns the newest report."""
        while self.passes < count:
            await self._changed.wait()
        assert self.last is not None
        return self.last


async def run_pass(
    storage: Storage, retention: RetentionSettings, moment_ms: int, *, pause_seconds: float = PAUSE_SECONDS
) -> PassReport:
    """One pass at `moment_ms` (Unix ms): roll up, recompute late minutes, delete, vacuum, with
    a pause of `pause_seconds` between two transactions.

    Returns when there is nothing left to do for this moment. Raises StorageError when the
    database fails; whatever was committed before stays (every step is idempotent).
    """
    batches = 0
    longest = 0.0

    async def batch(call: Callable[[], Awaitable[T]]) -> T:
        nonlocal batches, longest
        if batches:
            await trio.sleep(pause_seconds)
        started = time.perf_counter()
        result = await call()
        longest = max(longest, time.perf_counter() - started)
        batches += 1
        return result

    rolled = 0
    until = floor_to(moment_ms - ROLLUP_DELAY_MS, MINUTE_MS)
    while True:
        progress = await batch(lambda: storage.roll_up(until, max_samples=ROLLUP_BATCH_SAMPLES))
        rolled += progress.samples
        if progress.caught_up:
            break
    late = 0
    while True:
        count = await batch(lambda: storage.roll_up_late(max_buckets=LATE_BATCH_MINUTES))
        late += count
        if count < LATE_BATCH_MINUTES:
            break
    cutoffs = retention_cutoffs(retention, moment_ms)
    deleted = 0
    while True:
        count = await batch(lambda: storage.delete_expired(cutoffs, max_rows=DELETE_BATCH_ROWS))
        deleted += count
        if count < DELETE_BATCH_ROWS:
            break
    if deleted:
        while await batch(lambda: storage.reclaim_space(max_pages=VACUUM_BATCH_PAGES)):
            pass
    return PassReport(
        rolled_up_samples=rolled,
        late_minutes=late,
        deleted_rows=deleted,
        batches=batches,
        longest_batch_seconds=longest,
    )


async def maintain_history(
    storage: Storage,
    retention: RetentionSettings,
    *,
    status: MaintenanceStatus | None = None,
    clock: Callable[[], int] = now_ms,
    interval_seconds: float = MAINTENANCE_INTERVAL_SECONDS,
    may_run: Callable[[], bool] = lambda: True,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Keep the metric history rolled up and within retention: a pass now, then one every
    `interval_seconds` (trio's clock) at the moment `clock` gives (Unix ms, wall clock).

    Owns nothing but its loop; each pass is recorded in `status`. A pass that fails (the
    database is unreachable, say) is logged and the next one runs on schedule; work already
    committed stays, and the next pass carries on from there. Runs until cancelled.

    A pass starts only while `may_run()` says so: with several replicas, only the holder of
    the maintenance lock runs them (monitord/replicas/).
    """
    status = status if status is not None else MaintenanceStatus()
    task_status.started()
    failing = False
    while True:
        if not may_run():
            await trio.sleep(interval_seconds)
            continue
        try:
            report = await run_pass(storage, retention, clock())
        except StorageError as exc:
            status.record_failure()
            # The next pass retries; ingest reports a failing database loudly enough.
            log.warning("history maintenance failed, retrying in %g s: %s", interval_seconds, exc)
            failing = True
        except Exception:
            status.record_failure()
            # A bug: the traceback once, then one line per failed pass, never a dead daemon.
            if failing:
                log.error("history maintenance failed again; retrying in %g s", interval_seconds)
            else:
                log.exception("history maintenance failed; retrying every %g s", interval_seconds)
            failing = True
        else:
            if failing:
                log.info("history maintenance works again")
            failing = False
            status.record(report)
            if report.deleted_rows or report.late_minutes:
                log.info(
                    "history: rolled up %d samples, recomputed %d late minutes, deleted %d expired rows "
                    "in %d batches (longest %.0f ms)",
                    report.rolled_up_samples,
                    report.late_minutes,
                    report.deleted_rows,
                    report.batches,
                    report.longest_batch_seconds * 1000,
                )
        await trio.sleep(interval_seconds)
