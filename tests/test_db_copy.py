"""`db copy`: SQLite → PostgreSQL → SQLite with every row kept, resuming, refusing, and its command line."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import trio

from monitord.models import HostFacts, Role
from monitord.storage import open_database
from monitord.storage.alert_tables import ALERT_COPY_TABLES
from monitord.storage.base import AlertEventRow, AlertTable, RetentionCutoffs, Tier
from monitord.storage.transfer import ROLLUP_TIERS, CopyError, TransferStorage, copy_database
from tests.processes import run_monitord
from tests.storage.test_contract import T0, sample

BATCH = 250
# Samples per server id (server 3 is deleted, server 4 never reported).
SAMPLES = {1: 700, 2: 1, 5: 1300}


async def populate(storage: Any) -> None:
    """Users and servers with gaps in their ids, host facts, tokens, and samples."""
    await storage.create_user("ann", "hash-ann", Role.ADMIN, now_ms=T0)
    bob = await storage.create_user("bob", "hash-bob", Role.VIEWER, now_ms=T0 + 1)
    carl = await storage.create_user("carl", "hash-carl", Role.VIEWER, now_ms=T0 + 2)
    await storage.set_password(bob.id, "hash-bob-2")  # token_version 1
    await storage.delete_user(carl.id)
    for number in range(1, 7):
        await storage.create_server(f"srv-{number} ☃", f"token-{number}", now_ms=T0 + number)
    await storage.delete_server(3)
    await storage.delete_server(6)  # the highest id ever handed out is gone: ids continue at 7
    await storage.update_host_facts(
        5, HostFacts(hostname="db.local", os_type="linux", cpu_cores=16, ip_address="10.0.0.5")
    )
    for server_id, count in SAMPLES.items():
        await storage.insert_samples(
            [(server_id, sample(T0 + 1000 * i + server_id, cpu=(i * 7 % 1000) / 10)) for i in range(count)]
        )
    # History beyond the raw samples: 1-minute and 1-hour buckets, and each server's watermark.
    while not (await storage.roll_up(T0 + 3 * 3_600_000, max_samples=10_000)).caught_up:
        pass
    await populate_alerts(storage)


async def populate_alerts(storage: Any) -> None:
    """Alerting: a channel, rules (the newest deleted), a silence, pair states, more history
    than one batch, and deliveries pending and finished."""
    channel = await storage.create_alert_config(AlertTable.CHANNELS, '{"name":"hook","url":"gAAAA-encrypted"}')
    for name in ("cpu", "down", "gone"):
        await storage.create_alert_config(AlertTable.RULES, f'{{"name":"{name}"}}')
    await storage.delete_alert_config(AlertTable.RULES, 3)  # the next rule id is 4 on every copy
    await storage.create_alert_config(AlertTable.SILENCES, '{"comment":"backups"}')
    events = [
        AlertEventRow(
            time_ms=T0 + i // 2,
            kind="transition",
            rule_id=1 + i % 2,
            server_id=(1, 2, 5)[i % 3],
            from_phase="pending",
            to_phase="firing",
            level="critical" if i % 2 else None,
            value=i / 3 if i % 5 else None,
        )
        for i in range(BATCH + 50)
    ]
    states = [(1, 1, '{"phase":"firing"}'), (1, 5, '{"phase":"pending"}'), (2, 2, '{"phase":"resolving"}')]
    deliveries = [(channel, T0 + 5000, '{"kind":"firing"}'), (channel, T0, '{"kind":"resolved"}')]
    await storage.save_alert_changes(states, events, deliveries, now_ms=T0)
    (due,) = await storage.due_alert_deliveries(T0, 1)
    attempt = AlertEventRow(
        time_ms=T0 + 1, kind="delivery", rule_id=1, server_id=0, from_phase="", to_phase="", level=None, value=None
    )
    await storage.finish_alert_delivery(due.id, status="failed", attempts=4, due_ms=T0, error="HTTP 500", event=attempt)


async def assert_same(source: TransferStorage, target: TransferStorage) -> None:
    assert await target.table_counts() == await source.table_counts()
    assert await target.list_users() == await source.list_users()
    assert await target.list_servers() == await source.list_servers()
    assert await target.id_high_water() == await source.id_high_water()
    assert await target.latest_samples() == await source.latest_samples()
    assert await target.alert_row_counts() == await source.alert_row_counts()
    for table in ALERT_COPY_TABLES:
        assert await target.alert_rows_after(table, None, 10**6) == await source.alert_rows_after(table, None, 10**6)
    for server in await source.list_servers():
        assert await target.query_samples(server.id, 0, 2**62) == await source.query_samples(server.id, 0, 2**62)
        assert await target.rollup_state(server.id) == await source.rollup_state(server.id)
        for tier in ROLLUP_TIERS:
            buckets = await source.buckets_after(tier, server.id, None, 10**6)
            assert await target.buckets_after(tier, server.id, None, 10**6) == buckets


async def round_trip(tmp_path: Path, middle_url: str) -> None:
    source_url, back_url = f"sqlite://{tmp_path / 'source.db'}", f"sqlite://{tmp_path / 'back.db'}"
    async with open_database(source_url) as source:
        await populate(source)
    lines: list[str] = []
    async with open_database(source_url) as source, open_database(middle_url) as middle:
        report = await copy_database(source, middle, batch_size=BATCH, progress=lines.append)  # type: ignore[arg-type]
        assert (report.verified.users, report.verified.servers, report.verified.samples) == (2, 4, 2001)
        assert (report.already_there, report.copied) == (0, 2001)
        await assert_same(source, middle)  # type: ignore[arg-type]
    assert lines[0] == "users: 2 copied; servers: 4 copied"
    assert lines[-1] == "samples: 2,001 of 2,001 (100%)"
    async with open_database(middle_url) as middle, open_database(back_url) as back:
        await copy_database(middle, back, batch_size=BATCH)  # type: ignore[arg-type]
        await assert_same(middle, back)  # type: ignore[arg-type]
        # A deleted server's id is never handed out again on either side.
        assert (await middle.create_server("new", "h", now_ms=T0)).id == 7
        assert (await back.create_server("new", "h", now_ms=T0)).id == 7
        for copy in (middle, back):
            assert await copy.create_alert_config(AlertTable.RULES, "{}") == 4
            assert len(await copy.alert_events(0, 2**62, limit=10_000)) == BATCH + 51


async def test_sqlite_to_sqlite_and_back_keeps_every_row(tmp_path: Path) -> None:
    await round_trip(tmp_path, f"sqlite://{tmp_path / 'middle.db'}")


async def test_sqlite_to_postgresql_and_back_keeps_every_row(tmp_path: Path, postgres_url: str) -> None:
    await round_trip(tmp_path, postgres_url)


async def test_the_history_older_than_raw_retention_and_pending_late_minutes_are_copied(
    tmp_path: Path, postgres_url: str
) -> None:
    async with open_database(f"sqlite://{tmp_path / 'source.db'}") as source, open_database(postgres_url) as target:
        await populate(source)
        counts = await source.table_counts()  # type: ignore[attr-defined]
        assert counts.minute_buckets > 20 and counts.hour_buckets >= 2
        late = T0 + 900_500
        await source.insert_samples([(5, sample(late, cpu=99.0))])  # late: noted, not rolled up yet
        state = await source.rollup_state(5)  # type: ignore[attr-defined]
        assert state is not None and state.late_minutes == (late - late % 60_000,)
        # Retention leaves only rollups of what came before: the copy must not lose them.
        cutoffs = RetentionCutoffs(raw_before_ms=T0 + 600_000, minute_before_ms=0, hour_before_ms=0)
        assert await source.delete_expired(cutoffs, max_rows=10_000) > 0  # type: ignore[attr-defined]
        report = await copy_database(source, target, batch_size=7)  # type: ignore[arg-type]
        assert (report.verified.minute_buckets, report.verified.hour_buckets) == (
            counts.minute_buckets,
            counts.hour_buckets,
        )
        await assert_same(source, target)  # type: ignore[arg-type]
        # The target carries on: the late minute is recomputed there as it would have been here.
        assert await target.roll_up_late(max_buckets=10) == 1
        (minute,) = await target.history(5, Tier.MINUTE, late - late % 60_000, late, 60_000, maximum=True)
        assert minute.gauges[0] == 99.0


class Interrupted(Exception):
    pass


class StopsAfter:
    """A target whose process "dies" after `batches` sample batches were committed."""

    def __init__(self, target: Any, batches: int) -> None:
        self._target = target
        self._batches = batches

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    async def insert_samples(self, batch: Any) -> int:
        if self._batches == 0:
            raise Interrupted
        self._batches -= 1
        inserted: int = await self._target.insert_samples(batch)
        return inserted


async def test_an_interrupted_copy_continues_where_it_stopped(tmp_path: Path, postgres_url: str) -> None:
    async with open_database(f"sqlite://{tmp_path / 'source.db'}") as source, open_database(postgres_url) as target:
        await populate(source)
        with pytest.raises(Interrupted):
            await copy_database(source, StopsAfter(target, 2), batch_size=BATCH)  # type: ignore[arg-type]
        assert (await target.table_counts()).samples == 2 * BATCH  # type: ignore[attr-defined]
        report = await copy_database(source, target, batch_size=BATCH)  # type: ignore[arg-type]
        assert (report.already_there, report.copied) == (2 * BATCH, 2001 - 2 * BATCH)
        await assert_same(source, target)  # type: ignore[arg-type]


async def test_a_target_that_is_not_a_prefix_of_the_source_is_gone_through_again(tmp_path: Path) -> None:
    async with (
        open_database(f"sqlite://{tmp_path / 's.db'}") as source,
        open_database(f"sqlite://{tmp_path / 't.db'}") as target,
    ):
        await populate(source)
        await target.import_servers(await source.list_servers())  # type: ignore[attr-defined]
        every_other = (await source.query_samples(1, 0, 2**62))[::2]
        await target.insert_samples([(1, s) for s in every_other])
        report = await copy_database(source, target, batch_size=BATCH)  # type: ignore[arg-type]
        assert report.already_there == 0  # the guess "a prefix is there" did not hold for server 1
        await assert_same(source, target)  # type: ignore[arg-type]


async def test_a_target_holding_other_data_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    async with (
        open_database(f"sqlite://{tmp_path / 's.db'}") as source,
        open_database(f"sqlite://{tmp_path / 't.db'}") as target,
    ):
        await populate(source)
        await target.create_user("admin", "h", Role.ADMIN, now_ms=T0 + 99)  # a daemon's first start
        with pytest.raises(
            CopyError, match=r"the target already holds user 1 \('admin'\), which did not come from the source"
        ):
            await copy_database(source, target)  # type: ignore[arg-type]
        assert await target.list_servers() == []


async def test_a_target_written_to_meanwhile_fails_verification(tmp_path: Path) -> None:
    async with (
        open_database(f"sqlite://{tmp_path / 's.db'}") as source,
        open_database(f"sqlite://{tmp_path / 't.db'}") as target,
    ):
        await populate(source)
        await copy_database(source, target, batch_size=BATCH)  # type: ignore[arg-type]
        await target.insert_samples([(5, sample(T0 * 2))])  # say, a daemon already running on it
        with pytest.raises(CopyError, match="verification failed: 2,001 samples in the source, 2,002 in the target"):
            await copy_database(source, target, batch_size=BATCH)  # type: ignore[arg-type]


# --- the command line --------------------------------------------------------------------------
async def test_the_command_copies_shows_progress_and_reruns_as_a_no_op(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "source.db"
    async with open_database(f"sqlite://{source}") as storage:
        await populate(storage)
    command = ("db", "copy", "--from", f"sqlite://{source}", "--to", postgres_url, "--batch-size", "500")
    first = await trio.to_thread.run_sync(lambda: run_monitord(*command))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "verified: 2 users, 4 servers and 2,001 samples in both databases\n"
    assert "users: 2 copied; servers: 4 copied" in first.stderr
    assert "samples: 2,001 of 2,001 (100%)" in first.stderr
    again = await trio.to_thread.run_sync(lambda: run_monitord(*command))
    assert again.returncode == 0, again.stderr
    assert again.stdout == (
        "verified: 2 users, 4 servers and 2,001 samples in both databases "
        "(2,001 samples were already there from an earlier run)\n"
    )
    back = tmp_path / "back.db"
    home = await trio.to_thread.run_sync(
        lambda: run_monitord("db", "copy", "--from", postgres_url, "--to", f"sqlite://{back}")
    )
    assert home.returncode == 0, home.stderr
    async with open_database(f"sqlite://{source}") as original, open_database(f"sqlite://{back}") as copied:
        await assert_same(original, copied)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source,target,expected",
    [
        ("mysql://root@db/x", "sqlite:///tmp/t.db", '--from: expected "sqlite:///abs/path.db" or "postgresql://'),
        (
            "sqlite:///nonexistent/monitord.db",
            "sqlite:///tmp/t.db",
            "--from: no SQLite database at /nonexistent/monitord.db",
        ),
        ("SOURCE", "postgresql://u:hunter2@db:port/x", "--to: the port of the PostgreSQL URL must be a number"),
        ("SOURCE", "SOURCE", "--from and --to name the same database"),
    ],
)
def test_a_bad_command_line_is_one_line_and_status_2(tmp_path: Path, source: str, target: str, expected: str) -> None:
    existing = tmp_path / "source.db"
    existing.write_bytes(b"")
    source, target = (f"sqlite://{existing}" if url == "SOURCE" else url for url in (source, target))
    result = run_monitord("db", "copy", "--from", source, "--to", target)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and expected in result.stderr, result.stderr
    assert "hunter2" not in result.stderr


def test_an_unreachable_target_is_one_line_and_status_1(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    trio.run(_empty_database, source)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        result = run_monitord(
            "db",
            "copy",
            "--from",
            f"sqlite://{source}",
            "--to",
            f"postgresql://monitor:hunter2@127.0.0.1:{port}/fleet",
            "--connect-timeout-seconds",
            "0.5",
        )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"cannot connect to PostgreSQL at 127.0.0.1:{port}" in errors[0], result.stderr
    assert "connection refused" in errors[0]
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr


async def _empty_database(path: Path) -> None:
    async with open_database(f"sqlite://{path}"):
        pass
