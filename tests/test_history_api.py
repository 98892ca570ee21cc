"""GET /api/servers/{id}/metrics on the real daemon, SQLite and PostgreSQL: the tier it picks,
downsampling, gaps, the parameters and their errors.

The history is stored through the storage API into the daemon's own database, before the
daemon starts (then rolled up and thinned by its first maintenance pass) and while it runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest

from monitord.config import Settings
from monitord.history.maintenance import MaintenanceStatus
from monitord.models import MetricsSample, datetime_to_ms, ms_to_datetime, now_ms
from monitord.storage import open_storage
from monitord.storage.base import HOUR_MS, MINUTE_MS
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.storage.conftest import backend  # noqa: F401  (fixture: sqlite, postgresql)
from tests.storage.test_contract import sample

DAY_MS = 24 * HOUR_MS
RETENTION = {"raw_hours": 2, "minute_days": 1, "hour_days": 3}
POINT_KEYS = {name for name in msgspec.json.decode(msgspec.json.encode(sample(0)))}


@pytest.fixture
async def settings(backend: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Settings]:  # noqa: F811
    _name, database = backend
    if database is None:
        yield make_settings(tmp_path / "data", retention=RETENTION)
        return
    from tests.postgres import scratch_schema_url

    async with scratch_schema_url(database, "t") as url:
        yield make_settings(tmp_path / "data", retention=RETENTION, database={"url": url})


def minute_sample(at_ms: int) -> MetricsSample:
    """Values that tell buckets apart: cpu cycles 0..9 by minute, rx counts minutes."""
    minute = at_ms // MINUTE_MS
    return msgspec.structs.replace(
        sample(at_ms),
        cpu_usage_percent=float(minute % 10),
        memory_usage_bytes=1000 + minute % 3,
        network_rx_total_bytes=minute,
    )


def buckets_of(samples: Sequence[MetricsSample], step_ms: int, lo: int, hi: int) -> dict[int, list[MetricsSample]]:
    grouped: dict[int, list[MetricsSample]] = {}
    for s in samples:
        moment = datetime_to_ms(s.time)
        if lo <= moment < hi:
            grouped.setdefault(moment - moment % step_ms, []).append(s)
    return dict(sorted(grouped.items()))


def check_points(
    points: list[dict[str, object]], wanted: dict[int, list[MetricsSample]], *, peak: bool = False
) -> None:
    assert [p["time"] for p in points] == [ms_to_datetime(t).isoformat().replace("+00:00", "Z") for t in wanted]
    for point, group in zip(points, wanted.values(), strict=True):
        assert set(point) == POINT_KEYS
        cpu = [s.cpu_usage_percent for s in group]
        assert point["cpuUsagePercent"] == pytest.approx(max(cpu) if peak else sum(cpu) / len(cpu), rel=1e-12)
        memory = [s.memory_usage_bytes for s in group]
        assert point["memoryUsageBytes"] == (max(memory) if peak else round(sum(memory) / len(memory)))
        assert point["networkRxTotalBytes"] == max(group, key=lambda s: s.time).network_rx_total_bytes


class History:
    """A server with 2.5 days of history at one sample a minute, offline for 3 hours 10 h ago."""

    def __init__(self, running: RunningDaemon, token: str, server_id: int, now: int, samples: list[MetricsSample]):
        self.running, self.token, self.server_id, self.now, self.samples = running, token, server_id, now, samples

    async def get(self, **params: object) -> httpx.Response:
        async with self.running.client(self.token) as client:
            return await client.get(f"/api/servers/{self.server_id}/metrics", params=params)


@pytest.fixture
async def history(settings: Settings, daemons: DaemonStarter) -> History:
    now = now_ms() // MINUTE_MS * MINUTE_MS
    offline = range(now - 10 * HOUR_MS, now - 7 * HOUR_MS)
    samples = [minute_sample(moment) for moment in range(now - 60 * HOUR_MS, now, MINUTE_MS) if moment not in offline]
    async with open_storage(settings) as storage:
        server = await storage.create_server("history", "h", now_ms=now)
        await storage.insert_samples([(server.id, s) for s in samples])
    maintenance = MaintenanceStatus()
    running = await daemons(settings, maintenance=maintenance)
    report = await maintenance.wait_for_passes(1)
    assert report.deleted_rows > 0  # retention had work: raw beyond 2 h and minutes beyond 1 day
    return History(running, await running.login(), server.id, now, samples)


async def test_a_recent_range_is_read_from_raw_samples_downsampled_to_the_step(history: History) -> None:
    lo, hi = history.now - HOUR_MS, history.now
    response = await history.get(**{"from": lo, "to": hi, "step": 150})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tier"], body["step"]) == ("raw", 150)
    check_points(body["points"], buckets_of(history.samples, 150_000, lo, hi))
    assert len(body["points"]) in (24, 25)  # buckets aligned to the epoch, not to `from`

    peak = (await history.get(**{"from": lo, "to": hi, "step": 150, "agg": "max"})).json()
    check_points(peak["points"], buckets_of(history.samples, 150_000, lo, hi), peak=True)

    # Whole minutes: the minute rollups serve the same points (the newest minutes, not rolled
    # up yet, from the raw samples).
    minutes = (await history.get(**{"from": lo, "to": hi, "step": 600})).json()
    assert (minutes["tier"], minutes["step"]) == ("1m", 600)
    check_points(minutes["points"], buckets_of(history.samples, 600_000, lo, hi))


async def test_an_older_range_is_read_from_minutes_with_gaps_where_the_agent_was_offline(history: History) -> None:
    lo, hi = history.now - 12 * HOUR_MS, history.now
    iso = lambda ms: ms_to_datetime(ms).isoformat().replace("+00:00", "Z")  # noqa: E731
    body = (await history.get(**{"from": iso(lo), "to": iso(hi), "step": 1800})).json()
    assert (body["tier"], body["step"]) == ("1m", 1800)
    wanted = buckets_of(history.samples, 1_800_000, lo, hi)
    check_points(body["points"], wanted)
    # Half hours without a sample are absent, not zero and not interpolated.
    times = {datetime.fromisoformat(p["time"]) for p in body["points"]}
    for moment in range(history.now - 9 * HOUR_MS, history.now - 7 * HOUR_MS, 1_800_000):
        assert ms_to_datetime(moment - moment % 1_800_000) not in times
    assert len(body["points"]) == len(wanted) < 25


async def test_a_range_beyond_the_minutes_is_read_from_hours(history: History) -> None:
    # From a whole hour: an hourly row counts whole where it starts, so one starting before
    # `from` would be left out, while the raw samples after `from` would count.
    lo, hi = history.now - history.now % HOUR_MS - 59 * HOUR_MS, history.now
    body = (await history.get(**{"from": lo, "to": hi})).json()  # default step
    assert (body["tier"], body["step"]) == ("1h", 3600)
    # The last hours are not rolled up yet: read from minutes and raw samples, same figures.
    check_points(body["points"], buckets_of(history.samples, HOUR_MS, lo, hi))
    # Finer steps cannot be cut from hourly buckets: rounded up.
    assert (await history.get(**{"from": lo, "to": hi, "step": 60})).json()["step"] == 3600


async def test_samples_stored_while_the_daemon_runs_show_up_at_once(history: History, settings: Settings) -> None:
    fresh = [minute_sample(history.now + s * 1000) for s in range(0, 30, 2)]
    async with open_storage(settings) as storage:
        await storage.insert_samples([(history.server_id, s) for s in fresh])
    body = (await history.get(**{"from": history.now, "to": history.now + MINUTE_MS, "step": 2})).json()
    assert [p["time"] for p in body["points"]] == [
        s.time.astimezone(UTC).isoformat().replace("+00:00", "Z") for s in fresh
    ]


BAD_PARAMETERS = [
    ({"from": "2", "to": "1"}, "`from` must be before `to`"),
    ({"from": "yesterday"}, "`from`: expected an RFC 3339 time with a zone"),
    ({"to": "2026-01-31T12:00:00"}, "`to`: expected an RFC 3339 time with a zone"),
    ({"step": "0.5"}, "`step`: expected whole seconds"),
    ({"agg": "median"}, '`agg`: expected "avg" or "max"'),
    ({"from": "0", "step": "60"}, "more than 10000; use a step of at least"),
]


async def test_bad_parameters_get_a_clear_400(history: History) -> None:
    for params, message in BAD_PARAMETERS:
        response = await history.get(**params)
        assert response.status_code == 400, params
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and message in error["message"], params


async def test_an_unknown_server_is_404(history: History) -> None:
    async with history.running.client(history.token) as client:
        for path in ("/api/servers/999999/metrics", f"/api/servers/{2**64}/metrics"):
            response = await client.get(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
