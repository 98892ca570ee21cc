"""`db copy`: users, servers, metric history, groups and alerting from one database to another.

The copy is resumable. Users and servers are upserted by id (ids are kept, and each id
sequence of the target is moved past the highest id the source ever handed out, so a deleted
server's id is never reused). Samples, then 1-minute and 1-hour buckets (the history older
than raw retention lives only there), are copied server by server, oldest first, in batches
that each commit on their own; last each server's rollup state (watermark, late minutes), so
the target's rollups carry on where the source's stood. A re-run finds, per server, how far an earlier run got and
continues from there; `insert_samples` skips anything already stored, so nothing is stored
twice even when a guess is wrong. At the end every count is compared between both sides.

The target must be empty or hold an earlier copy of the same source: a user or server there
that the source does not have (say, the `admin` a daemon creates on its first start) stops the
copy before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
import trio

from monitord.models import MetricsSample, ServerRecord, StatusPageRecord, Tag, User, datetime_to_ms
from monitord.storage.alert_tables import ALERT_COPY_TABLES
from monitord.storage.base import Storage, StorageError, Tier

DEFAULT_BATCH_SIZE = 5000
PROGRESS_INTERVAL_SECONDS = 1.0


class TableCounts(msgspec.Struct, frozen=True, kw_only=True):
    users: int
    servers: int
    samples: int
    minute_buckets: int = 0
    hour_buckets: int = 0


class RollupState(msgspec.Struct, frozen=True, kw_only=True):
    """How far a server's rollups stand (see monitord/storage/rollup.py)."""

    rolled_up_to_ms: int
    raw_deleted_before_ms: int
    late_minutes: tuple[int, ...] = ()


# A bucket row as `buckets_after` gives it: bucket_ms, then rollup.BUCKET_VALUE_COLUMNS.
BucketRow = tuple[int | float, ...]
ROLLUP_TIERS = (Tier.MINUTE, Tier.HOUR)


class SampleStats(msgspec.Struct, frozen=True, kw_only=True):
    """How many samples one server has, and the first and last moment (ms) among them."""

    count: int
    first_ms: int | None
    last_ms: int | None


class IdHighWater(msgspec.Struct, frozen=True, kw_only=True):
    """The highest ids ever handed out, deleted rows included."""

    users: int
    servers: int
    status_pages: int = 0
    # Per alerting table with an id sequence (alerts_sql.ALERT_ID_TABLES), when above 0.
    alerts: dict[str, int] = msgspec.field(default_factory=dict)


class TransferStorage(Storage, Protocol):
    """What a backend offers `db copy` besides the daemon's Storage operations."""

    async def table_counts(self) -> TableCounts: ...

    async def sample_stats(self, server_id: int, until_ms: int | None = None) -> SampleStats: ...

    async def samples_after(self, server_id: int, after_ms: int | None, limit: int) -> list[MetricsSample]: ...

    async def id_high_water(self) -> IdHighWater: ...

    async def import_users(self, users: Sequence[User]) -> None: ...

    async def import_servers(self, servers: Sequence[ServerRecord]) -> None: ...

    async def import_tags(self, tags: Sequence[Tag]) -> None: ...

    async def import_status_pages(self, pages: Sequence[StatusPageRecord]) -> None: ...

    async def advance_ids(self, high_water: IdHighWater) -> None: ...

    async def alert_rows_after(
        self, table: str, after: tuple[object, ...] | None, limit: int
    ) -> list[tuple[object, ...]]:
        """Up to `limit` rows of an alerting table after the key `after`, in key order."""
        ...

    async def import_alert_rows(self, table: str, rows: Sequence[tuple[object, ...]]) -> None: ...

    async def alert_row_counts(self) -> dict[str, int]: ...

    async def bucket_stats(self, tier: Tier, server_id: int, until_ms: int | None = None) -> SampleStats:
        """Count and range of one server's buckets of a rollup tier (those starting at or before `until_ms`)."""
        ...

    async def buckets_after(self, tier: Tier, server_id: int, after_ms: int | None, limit: int) -> list[BucketRow]:
        """Up to `limit` buckets of one server starting after `after_ms` (all when None), oldest first."""
        ...

    async def import_buckets(self, tier: Tier, server_id: int, rows: Sequence[BucketRow]) -> None:
        """Insert buckets, or replace the ones at the same start; one transaction."""
        ...

    async def rollup_state(self, server_id: int) -> RollupState | None: ...

    async def import_rollup_state(self, server_id: int, state: RollupState) -> None:
        """Set the server's rollup state (replacing it), and note its late minutes."""
        ...


class CopyError(StorageError):
    """The copy cannot start or did not verify; the message is one line for the operator."""


class CopyReport(msgspec.Struct, frozen=True, kw_only=True):
    verified: TableCounts
    # Samples an earlier, interrupted run had already copied, and samples this run copied.
    already_there: int
    copied: int


def _check_target_holds_only_the_source(
    kind: str, source: Sequence[User] | Sequence[ServerRecord], target: Sequence[User] | Sequence[ServerRecord]
) -> None:
    # A row is "the same" when it has the same id and the same creation time (and, for users,
    # the same name, which cannot change); everything else may have changed since a first run.
    def identity(row: User | ServerRecord) -> tuple[object, ...]:
        return (row.created_at_ms, row.username) if isinstance(row, User) else (row.created_at_ms,)

    originals = {row.id: row for row in source}
    for row in target:
        original = originals.get(row.id)
        if original is None or identity(original) != identity(row):
            name = row.username if isinstance(row, User) else row.name
            raise CopyError(
                f"the target already holds {kind} {row.id} ({name!r}), which did not come from the source; "
                "copy into an empty database (one that no daemon has started on) or into an earlier copy"
            )


class _Progress:
    def __init__(self, report: Callable[[str], None], total: int) -> None:
        self._report = report
        self._total = total
        self._last = trio.current_time()
        self._reported = -1
        self.done = 0

    def advance(self, count: int, *, final: bool = False) -> None:
        self.done += count
        now = trio.current_time()
        if (final and self.done != self._reported) or now - self._last >= PROGRESS_INTERVAL_SECONDS:
            self._last = now
            self._reported = self.done
            percent = 100 * self.done // self._total if self._total else 100
            self._report(f"samples: {self.done:,} of {self._total:,} ({percent}%)")


async def copy_database(
    source: TransferStorage,
    target: TransferStorage,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str], None] = lambda line: None,
) -> CopyReport:
    """Copy everything from `source` into `target`, verify the counts and return them.

    `progress` receives one-line updates (at most about once a second while samples are
    copied). Raises CopyError when the target holds foreign data or the result does not
    verify, StorageError when either database fails. Cancelling it is safe: every finished
    batch is committed, and a later call continues where this one stopped.
    """
    users = await source.list_users()
    servers = await source.list_servers()
    _check_target_holds_only_the_source("user", users, await target.list_users())
    _check_target_holds_only_the_source("server", servers, await target.list_servers())
    await target.import_users(users)
    await target.import_servers(servers)
    await _copy_groups(source, target)
    await _copy_alerts(source, target, batch_size)
    await target.advance_ids(await source.id_high_water())
    progress(f"users: {len(users)} copied; servers: {len(servers)} copied")

    counter = _Progress(progress, (await source.table_counts()).samples)
    already_there = 0
    for server in servers:
        stored = await target.sample_stats(server.id)
        after_ms: int | None = None
        if stored.count:
            # An earlier run copied this server's samples oldest first, so what the target holds
            # should be exactly the source's samples up to the newest one there. If so, continue
            # after it; if not, go through them all again (duplicates are skipped).
            prefix = await source.sample_stats(server.id, until_ms=stored.last_ms)
            if prefix.count == stored.count:
                after_ms = stored.last_ms
                already_there += stored.count
                counter.advance(stored.count)
        while chunk := await source.samples_after(server.id, after_ms, batch_size):
            await target.insert_samples([(server.id, sample) for sample in chunk])
            after_ms = datetime_to_ms(chunk[-1].time)
            counter.advance(len(chunk))
        for tier in ROLLUP_TIERS:
            await _copy_buckets(source, target, tier, server.id, batch_size)
        state = await source.rollup_state(server.id)
        if state is not None:
            await target.import_rollup_state(server.id, state)
    counter.advance(0, final=True)
    # Sample inserts advance last-seen times; put back the source's exact values.
    await target.import_servers(servers)

    verified = await _verify(source, target)
    return CopyReport(verified=verified, already_there=already_there, copied=counter.done - already_there)


async def _copy_buckets(
    source: TransferStorage, target: TransferStorage, tier: Tier, server_id: int, batch_size: int
) -> None:
    """One server's buckets of one rollup tier, oldest first, resuming like the samples do."""
    stored = await target.bucket_stats(tier, server_id)
    after_ms: int | None = None
    if stored.count and stored.last_ms is not None:
        prefix = await source.bucket_stats(tier, server_id, until_ms=stored.last_ms)
        if prefix.count == stored.count:
            after_ms = stored.last_ms
    while chunk := await source.buckets_after(tier, server_id, after_ms, batch_size):
        await target.import_buckets(tier, server_id, chunk)
        after_ms = int(chunk[-1][0])


async def _copy_groups(source: TransferStorage, target: TransferStorage) -> None:
    """Tags (with their colours), each server's tags, grants and status pages (issue 16)."""
    await target.import_tags(await source.list_tags())
    for server_id, tags in (await source.server_tags()).items():
        await target.set_server_tags(server_id, tags)
    for user_id, grant in (await source.list_grants()).items():
        await target.set_grant(user_id, grant)
    await target.import_status_pages(await source.list_status_pages())


async def _copy_alerts(source: TransferStorage, target: TransferStorage, batch_size: int) -> None:
    """Alerting's channels, rules, silences, pair states, history and outbox (issue 15), rows
    with their ids (history and deliveries name them), in batches; a re-run replaces them."""
    for table, (key, _) in ALERT_COPY_TABLES.items():
        after: tuple[object, ...] | None = None
        while rows := await source.alert_rows_after(table, after, batch_size):
            await target.import_alert_rows(table, rows)
            after = rows[-1][: len(key)]


async def _verify(source: TransferStorage, target: TransferStorage) -> TableCounts:
    """Compare both databases; returns the counts, which are equal. Raises CopyError otherwise."""
    counts = await source.table_counts()
    copied = await target.table_counts()
    for name in ("users", "servers", "samples", "minute_buckets", "hour_buckets"):
        if getattr(counts, name) != getattr(copied, name):
            raise CopyError(
                f"verification failed: {getattr(counts, name):,} {name} in the source, "
                f"{getattr(copied, name):,} in the target (was either database written to during the copy?)"
            )
    if await source.list_users() != await target.list_users():
        raise CopyError("verification failed: the users differ between source and target")
    servers = await source.list_servers()
    if servers != await target.list_servers():
        raise CopyError("verification failed: the servers differ between source and target")
    source_alerts, target_alerts = await source.alert_row_counts(), await target.alert_row_counts()
    for table, count in source_alerts.items():
        if target_alerts.get(table) != count:
            raise CopyError(
                f"verification failed: {count:,} rows of {table} in the source, {target_alerts.get(table, 0):,} in the target"
            )
    for table in ("alert_channels", "alert_rules", "alert_silences", "alert_states"):
        if await source.alert_rows_after(table, None, 1_000_000) != await target.alert_rows_after(
            table, None, 1_000_000
        ):
            raise CopyError(f"verification failed: the {table.replace('_', ' ')} differ")
    for what in ("list_tags", "server_tags", "list_grants", "list_status_pages"):
        if await getattr(source, what)() != await getattr(target, what)():
            raise CopyError(f"verification failed: the {what.removeprefix('list_').replace('_', ' ')} differ")
    for server in servers:
        if await source.sample_stats(server.id) != await target.sample_stats(server.id):
            raise CopyError(f"verification failed: the samples of server {server.id} differ")
        for tier in ROLLUP_TIERS:
            if await source.bucket_stats(tier, server.id) != await target.bucket_stats(tier, server.id):
                raise CopyError(f"verification failed: the {tier} buckets of server {server.id} differ")
    return counts
