"""Figure 4: samples per second through real gRPC into the database, and sample-to-screen latency.

A fixture's agents (bench/agent_fleet.py, several processes) report every second; each step
of the ramp sends more samples per message, until the daemon uses about one core or stops
keeping up. One WebSocket client decodes every push to time each sample from the agent's
timestamp to its arrival (end to end, push interval included). Fleets are restarted per step.
After the ramp, the samples the database gained are counted back against every ack.

The backfill measurement: every agent reconnects after an outage with BACKLOG_SAMPLES buffered
(one a second, re-sent oldest first), then goes on live; it reports when the last agent was
caught up, and the live-view latency and live acks meanwhile.
"""

from __future__ import annotations

import math
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from bench.daemon import Daemon
from bench.fixtures import TOKENS_FILE, copy_fixture, fill_database, write_config
from bench.fleets import Fleet, measure_window
from bench.leg_push import INTERVAL_SECONDS, ws_fleets

AGENT_INTERVAL_SECONDS = 1.0
# The ramp stops at the first step where the daemon uses this much of a core or acks fall behind.
TARGET_CORE_SHARE = 0.9
KEEPING_UP = 0.97
# A 10-minute outage at a 1 s interval.
BACKLOG_SAMPLES = 600


@dataclass
class IngestStep:
    batch: int  # samples per message
    offered_per_second: float
    acked_per_second: float
    core_share: float
    generator_core_share: float  # all agent processes together
    generator_max_process_share: float
    ack_p50: float
    ack_p99: float
    e2e_p50: float
    e2e_p99: float

    @property
    def kept_up(self) -> bool:
        return self.acked_per_second >= KEEPING_UP * self.offered_per_second

    @property
    def per_core(self) -> float:
        """Stored samples per second per core of the daemon at this step."""
        return self.acked_per_second / self.core_share if self.core_share else math.nan


@dataclass
class IngestRun:
    backend: str
    agents: int
    steps: list[IngestStep]
    acked_total: int = 0  # samples acked over the whole ramp
    stored_total: int = 0  # rows the database gained meanwhile (counted after the daemon stopped)
    backfill: Backfill | None = None

    @property
    def counted_back(self) -> bool:
        """Every acked sample is in the database (re-sent ones once: each sample is distinct)."""
        return self.stored_total >= self.acked_total

    @property
    def sustained(self) -> IngestStep:
        """The busiest step that still kept up (acks within KEEPING_UP of the offer), else the first."""
        kept_up = [s for s in self.steps if s.kept_up] or self.steps[:1]
        return max(kept_up, key=lambda step: step.acked_per_second)


@dataclass
class Backfill:
    backlog: int  # samples each agent re-sent
    agents: int
    caught_up_agents: int
    catch_up_seconds: float  # first re-send to the last agent's backlog acked
    samples_per_second: float  # backlog and live samples stored per second meanwhile
    live_ack_p99: float
    e2e_p50: float  # sample-to-screen latency of the live view meanwhile
    e2e_p99: float
    core_share: float


def agent_fleets(
    daemon: Daemon, tokens: Path, agents: int, processes: int, batch: int, backlog: int = 0
) -> list[Fleet]:
    shares = [agents // processes + (index < agents % processes) for index in range(processes)]
    starts = [sum(shares[:index]) for index in range(processes)]
    return [
        Fleet(
            "bench.agent_fleet",
            "--address",
            daemon.grpc,
            "--tokens",
            tokens,
            "--first",
            first,
            "--agents",
            share,
            "--interval",
            AGENT_INTERVAL_SECONDS,
            "--batch",
            batch,
            "--backlog",
            backlog,
        )
        for first, share in zip(starts, shares, strict=False)
    ]


def ramp(
    backend: str,
    config: Path,
    tokens: Path,
    agents: int,
    *,
    processes: int,
    batches: list[int],
    settle: float,
    seconds: float,
    count: Callable[[], int],
    backfill_seconds: float = 0,
) -> IngestRun:
    """Run the daemon on `config` and step through `batches` (samples per message); then, with
    `backfill_seconds`, measure a backfill. `count` counts the stored samples."""
    steps = []
    acked_total = 0
    stored_before = count()
    caught_up = None
    with Daemon(config) as daemon:
        token = daemon.login()
        for batch in batches:
            generators = agent_fleets(daemon, tokens, agents, processes, batch)
            probe = ws_fleets(daemon, token, 1, probes=1)
            window = measure_window([*generators, *probe], [daemon.pid], settle=settle, seconds=seconds)
            reports = [fleet.report for fleet in generators]
            acked_total += sum(r["acked_total"] for r in reports)
            steps.append(
                IngestStep(
                    batch=batch,
                    offered_per_second=sum(r["sent_per_second"] for r in reports),
                    acked_per_second=sum(r["acked_per_second"] for r in reports),
                    core_share=window.share(daemon.pid),
                    generator_core_share=sum(window.share(fleet.pid) for fleet in generators),
                    generator_max_process_share=max(window.share(fleet.pid) for fleet in generators),
                    ack_p50=max(r["ack_p50"] for r in reports),
                    ack_p99=max(r["ack_p99"] for r in reports),
                    e2e_p50=probe[0].report["latency_p50"],
                    e2e_p99=probe[0].report["latency_p99"],
                )
            )
            if steps[-1].core_share >= TARGET_CORE_SHARE or not steps[-1].kept_up:
                break
        if backfill_seconds:
            caught_up = backfill(daemon, token, tokens, agents, processes=processes, seconds=backfill_seconds)
            acked_total += caught_up.acked_total
    run = IngestRun(
        backend, agents, steps, acked_total, count() - stored_before, caught_up.figures if caught_up else None
    )
    return run


@dataclass
class _BackfillRun:
    figures: Backfill
    acked_total: int


def backfill(daemon: Daemon, token: str, tokens: Path, agents: int, *, processes: int, seconds: float) -> _BackfillRun:
    """Every agent reconnects with BACKLOG_SAMPLES to re-send, then reports live at 1 s; one
    window of `seconds` from the first connection on (it must outlast the catch-up)."""
    generators = agent_fleets(daemon, tokens, agents, processes, 1, BACKLOG_SAMPLES)
    probe = ws_fleets(daemon, token, 1, probes=1)
    window = measure_window([*generators, *probe], [daemon.pid], settle=0, seconds=seconds)
    reports = [fleet.report for fleet in generators]
    started = min(r["backlog_started"] for r in reports)
    return _BackfillRun(
        Backfill(
            backlog=BACKLOG_SAMPLES,
            agents=sum(int(r["backlog_agents"]) for r in reports),
            caught_up_agents=sum(int(r["caught_up_agents"]) for r in reports),
            catch_up_seconds=max(r["last_caught_up"] for r in reports) - started,
            samples_per_second=agents * BACKLOG_SAMPLES / (max(r["last_caught_up"] for r in reports) - started),
            live_ack_p99=max(r["ack_p99"] for r in reports),
            e2e_p50=probe[0].report["latency_p50"],
            e2e_p99=probe[0].report["latency_p99"],
            core_share=window.share(daemon.pid),
        ),
        sum(r["acked_total"] for r in reports),
    )


def _sqlite_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM metrics").fetchone()[0])


def _postgres_count(url: str) -> int:
    command = ["psql", url, "-tAc", "SELECT count(*) FROM metrics"]
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def sqlite_ingest(workdir: Path, fixture: Path, agents: int, **options: object) -> IngestRun:
    data = copy_fixture(fixture, workdir / "ingest-sqlite")
    config = write_config(data, interval_seconds=INTERVAL_SECONDS)
    count = partial(_sqlite_count, data / "monitord.db")
    return ramp("SQLite", config, data / TOKENS_FILE, agents, count=count, **options)  # type: ignore[arg-type]


@contextmanager
def scratch_postgres(admin_url: str, name: str) -> Iterator[str]:
    """A fresh database `name` on the server of `admin_url`, dropped on exit; yields its URL."""

    def psql(sql: str) -> None:
        subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)

    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def postgres_ingest(workdir: Path, admin_url: str, agents: int, **options: object) -> IngestRun:
    with scratch_postgres(admin_url, "monitord_bench") as url:
        data = trio.run(fill_database, url, workdir / "ingest-postgres", agents)
        config = write_config(data, interval_seconds=INTERVAL_SECONDS, database_url=url)
        count = partial(_postgres_count, url)
        return ramp("PostgreSQL", config, data / TOKENS_FILE, agents, count=count, **options)  # type: ignore[arg-type]
