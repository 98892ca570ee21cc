"""GET /metrics: off by default, its own bearer token, valid Prometheus text."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from monitord.history.maintenance import MaintenanceStatus, PassReport
from monitord.models import HostFacts, MetricsSample, ServerRecord, now_ms
from monitord.telemetry import SERVER_GAUGE_NAMES
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import feed, sample

METRICS_TOKEN = "scrape-token-0123456789"
PROMTOOL = shutil.which("promtool")


def _promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """promtool's verdict on a scrape (run in a thread: the test's daemon shares the event loop)."""
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False)


@pytest.fixture
async def metrics_daemon(tmp_path: Path, daemons: DaemonStarter) -> RunningDaemon:
    settings = make_settings(tmp_path / "data", metrics={"bearer_token": METRICS_TOKEN}, push={"interval_seconds": 0.2})
    running = await daemons(settings)
    admin = await running.login()
    async with running.client(admin) as client:
        assert (await client.post("/api/servers", json={"name": 'web "one"\\'})).status_code == 201
    return running


async def test_metrics_are_off_unless_a_token_is_configured(running: RunningDaemon) -> None:
    async with running.client() as client:
        response = await client.get("/metrics", headers={"Authorization": "Bearer anything-at-all-here"})
    assert response.status_code == 404
    assert "metrics.bearer_token" in response.json()["error"]["message"]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {METRICS_TOKEN}"])
async def test_metrics_need_the_bearer_token(metrics_daemon: RunningDaemon, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async with metrics_daemon.client() as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == 401


async def _scrape(running: RunningDaemon) -> str:
    async with running.client(METRICS_TOKEN) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_metrics_expose_self_metrics_and_servers(metrics_daemon: RunningDaemon) -> None:
    families = {family.name: family for family in text_string_to_metric_families(await _scrape(metrics_daemon))}
    for name in (
        "monitord_agents_connected",
        "monitord_websocket_clients",
        "monitord_push_duration_seconds",
        "monitord_snapshots_dropped",
        "monitord_samples_accepted",
        "monitord_samples_rejected",
        "monitord_db_write_duration_seconds",
        "monitord_ingest_buffer_samples",
        "monitord_server_up",
        "monitord_history_passes",
        "monitord_history_deleted_rows",
    ):
        assert name in families, name
    (up,) = families["monitord_server_up"].samples
    assert up.labels == {"server_id": "1", "name": 'web "one"\\'} and up.value == 0.0  # pending


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus): format not linted")
async def test_promtool_accepts_the_output(metrics_daemon: RunningDaemon) -> None:
    text = await _scrape(metrics_daemon)
    result = await trio.to_thread.run_sync(_promtool_check, text)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_live_feed_figures_follow_the_websocket_clients(metrics_daemon: RunningDaemon) -> None:
    def value(text: str, name: str) -> float:
        families = {family.name: family for family in text_string_to_metric_families(text)}
        return sum(sample.value for sample in families[name].samples if sample.name.endswith(("_count", name)))

    assert value(await _scrape(metrics_daemon), "monitord_websocket_clients") == 0
    token = await metrics_daemon.login()
    async with feed(metrics_daemon, token) as client:
        await client.get_message()  # the first snapshot, sent on connect
        await client.get_message()  # one tick of the push task
        scraped = await _scrape(metrics_daemon)
    assert value(scraped, "monitord_websocket_clients") == 1
    assert value(scraped, "monitord_push_duration_seconds") >= 1


async def test_history_maintenance_totals_are_exported(tmp_path: Path, daemons: DaemonStarter) -> None:
    status = MaintenanceStatus()
    settings = make_settings(tmp_path / "data", metrics={"bearer_token": METRICS_TOKEN})
    running = await daemons(settings, maintenance=status)
    await status.wait_for_passes(1)
    status.record(PassReport(rolled_up_samples=7, deleted_rows=3, longest_batch_seconds=0.25))
    status.record_failure()
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(await _scrape(running))
        for sample in family.samples
    }
    assert samples["monitord_history_passes_total"] == status.passes >= 2
    assert samples["monitord_history_passes_failed_total"] == 1
    assert samples["monitord_history_rolled_up_samples_total"] == status.rolled_up_samples >= 7
    assert samples["monitord_history_deleted_rows_total"] == status.deleted_rows >= 3
    assert samples["monitord_history_longest_batch_seconds"] == 0.25


def _add_reporting_servers(running: RunningDaemon, names: dict[int, str]) -> MetricsSample:
    """Servers (straight into the live cache, not the database), each with the same latest sample."""
    cache = running.endpoints.cache
    assert cache is not None
    now = now_ms()
    latest = sample(now - 1000)
    facts = HostFacts()
    for server_id, name in names.items():
        cache.add(
            ServerRecord(
                id=server_id, name=name, agent_token_hash="!", facts=facts, last_seen_ms=None, created_at_ms=now
            )
        )
        cache.apply_sample(server_id, latest)
    return latest


async def test_server_gauges_parse_back_exactly(metrics_daemon: RunningDaemon) -> None:
    """The per-server gauges are written as text by hand: labels escaped, every value exact."""
    names = {10: 'quote " here', 11: "back\\slash", 12: "new\nline", 13: "ünïcödé ☃", 14: '{name="x"}'}
    latest = _add_reporting_servers(metrics_daemon, names)
    text = await _scrape(metrics_daemon)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    up = {sample.labels["server_id"]: sample for sample in families["monitord_server_up"].samples}
    assert up["1"].labels["name"] == 'web "one"\\' and up["1"].value == 0.0
    for server_id, name in names.items():
        assert up[str(server_id)].labels == {"server_id": str(server_id), "name": name}
        assert up[str(server_id)].value == 1.0
    gauges = {**SERVER_GAUGE_NAMES, "time": "monitord_server_last_seen_timestamp_seconds"}
    for field, family in gauges.items():
        values = {sample.labels["server_id"]: sample.value for sample in families[family].samples}
        expected = latest.time.timestamp() if field == "time" else float(getattr(latest, field))
        assert values == {str(server_id): expected for server_id in names}, family
    if PROMTOOL is not None:
        result = await trio.to_thread.run_sync(_promtool_check, text)
        assert result.returncode == 0, result.stdout + result.stderr


async def test_a_large_scrape_is_formatted_off_the_event_loop(metrics_daemon: RunningDaemon) -> None:
    """Formatting 10,000 servers' gauges (220,000 lines) must not stop the daemon's other tasks.

    A task that only yields measures the longest gap between two of its turns while the scrape
    runs. Formatting on the loop makes that gap the whole formatting time; formatted in a
    thread, the loop only waits for the GIL now and then (about a tenth of the scrape here).
    """
    _add_reporting_servers(metrics_daemon, {server_id: f"web-{server_id}" for server_id in range(1000, 11000)})
    longest_gap = 0.0
    scraping = True

    async def yield_and_time() -> None:
        nonlocal longest_gap
        last = time.perf_counter()
        while scraping:
            await trio.lowlevel.checkpoint()
            moment = time.perf_counter()
            longest_gap, last = max(longest_gap, moment - last), moment

    async with trio.open_nursery() as nursery:
        nursery.start_soon(yield_and_time)
        started = time.perf_counter()
        text = await _scrape(metrics_daemon)
        took = time.perf_counter() - started
        scraping = False
    assert text.count("\nmonitord_server_up{") == 10001
    assert longest_gap < took / 2, f"the loop stood still for {longest_gap:.3f} s of a {took:.3f} s scrape"
