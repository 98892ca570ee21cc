"""`make bench`: every figure from the real daemon, written to bench/RESULTS.md.

    .venv/bin/python -m bench.run [--postgres URL] [--no-tools] [--no-profile] [--no-browser] [--smoke] [--output FILE]

Builds one fixture per size, then runs the legs in turn: the push cost matrix, push / polling /
per-client encoding side by side (browser-like clients), ingest into SQLite (and PostgreSQL with
--postgres), replicas, the agent beside Glances and node_exporter, the fleet-scale push cells of
issue 17 (py-spy on the heaviest), alert evaluation (issue 15), per-grant and public page pushes
(issue 16), and the dashboard in Chromium (issue 17). Prints each figure's elapsed time and a
short table, and exits 1 when a target of bench/targets.toml is missed. `--smoke` runs tiny sizes
without the external tools and Chromium and does not enforce the targets
(tests/test_bench_run.py); the full run takes about 25 minutes on two cores.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from bench import leg_browser, leg_footprint, leg_ingest, leg_install, leg_push, leg_replicas, profiling
from bench.alerts_eval import alerts_figure
from bench.daemon import Daemon
from bench.fixtures import build_sqlite_fixture, copy_fixture, write_config
from bench.grants_push_cost import grants_figure
from bench.leg_fleet_scale import BROWSER_LIKE, V1_DEFLATE, V2, fleet_scale
from bench.procfs import machine_info
from bench.report import Results, checks, markdown, short_table
from monitord.limits import raise_open_files_limit

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sizes:
    servers: tuple[int, ...]
    clients: tuple[int, ...]
    settle: float  # seconds after every client connected, before a window opens
    push_seconds: float
    side_servers: int
    side_clients: int
    side_seconds: float
    agents: int
    agent_processes: int
    batches: tuple[int, ...]
    ingest_settle: float  # agents' hellos (one database write each) must be through first
    ingest_seconds: float
    backfill_seconds: float  # the window for the catch-up after an outage (must outlast it)
    footprint_seconds: float
    footprint_warm_up: float
    # Figure 7 (issue 19): this many daemons on one PostgreSQL, agents over all, clients per daemon.
    replicas: int = 3
    replica_agents: int = 3000
    replica_clients: int = 300
    replica_settle: float = 8.0
    replica_seconds: float = 10.0
    # Figure 1 cells left out because figure 8 measures the same sizes (issue 17's fleet scale).
    matrix_skip: frozenset[tuple[int, int]] = frozenset({(1000, 1000), (10_000, 1000)})
    # Figure 8 (issue 17): fleet-scale push cells.
    fleet_small: int = 1000
    fleet_large: int = 10_000
    fleet_clients: int = 1000
    fleet_settle: float = 6.0
    fleet_seconds: float = 20.0
    fleet_cells: tuple[str, ...] = ()  # all of bench/leg_fleet_scale.py's CELLS when empty
    # Figure 9 (issue 15): alert evaluation.
    alerts_servers: int = 10_000
    alerts_rules: int = 20
    alerts_ticks: int = 300  # simulated seconds: the 5-minute windows fill (~0.15 s CPU per tick)
    alerts_trials: int = 10
    # Figure 10 (issue 16): per-grant and public page pushes.
    grants_servers: int = 1000
    grants_clients: int = 1000
    grants: int = 10
    grants_ticks: int = 6
    grants_interval: float = 2.0
    grants_public_interval: float = 5.0
    # Figure 11 (issue 17): the list page in Chromium over monitord.v2.
    browser_servers: int = 10_000
    browser_pushes: int = 30


FULL = Sizes(
    servers=(100, 1000, 10_000),
    clients=(1, 100, 1000),
    settle=4.0,
    push_seconds=10.0,
    side_servers=1000,
    side_clients=100,
    side_seconds=20.0,
    agents=1000,
    agent_processes=2,
    batches=(1, 2, 4, 8, 16, 32),
    ingest_settle=8.0,
    ingest_seconds=8.0,
    backfill_seconds=90.0,
    footprint_seconds=60.0,
    footprint_warm_up=5.0,
)
SMOKE = Sizes(
    servers=(20,),
    clients=(3,),
    settle=1.0,
    push_seconds=2.5,
    side_servers=20,
    side_clients=2,
    side_seconds=2.5,
    agents=6,
    agent_processes=2,
    batches=(1,),
    ingest_settle=1.0,
    ingest_seconds=3.0,
    backfill_seconds=4.0,
    footprint_seconds=2.0,
    footprint_warm_up=2.0,
    replica_agents=6,
    replica_clients=2,
    replica_settle=1.0,
    replica_seconds=2.0,
    fleet_small=20,
    fleet_large=40,
    fleet_clients=3,
    fleet_settle=0.5,
    fleet_seconds=2.5,
    fleet_cells=(BROWSER_LIKE, V2),  # the cells with targets; the other two differ only in options
    alerts_servers=50,
    alerts_rules=4,
    alerts_ticks=3,
    alerts_trials=1,
    grants_servers=20,
    grants_clients=4,
    grants=2,
    grants_ticks=1,
    grants_interval=1.0,
    grants_public_interval=1.0,
    browser_servers=20,
    browser_pushes=3,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Timer:
    """Each figure's wall time, logged when the next one starts and kept for RESULTS.md."""

    def __init__(self, results: Results) -> None:
        self.results = results
        self.current = ""
        self.started = time.monotonic()

    def figure(self, name: str) -> None:
        self.done()
        self.current, self.started = name, time.monotonic()
        log(name)

    def done(self) -> None:
        if self.current:
            elapsed = time.monotonic() - self.started
            self.results.figure_seconds[self.current] = self.results.figure_seconds.get(self.current, 0.0) + elapsed
            log(f"  ... took {elapsed:.0f} s")
        self.current = ""


def run(args: argparse.Namespace, sizes: Sizes, workdir: Path, results: Results) -> None:
    """Every leg in turn, filling `results`."""
    timer = Timer(results)
    try:
        _run(args, sizes, workdir, results, timer)
    finally:
        timer.done()


def _run(args: argparse.Namespace, sizes: Sizes, workdir: Path, results: Results, timer: Timer) -> None:
    timer.figure("fixtures")
    fixtures = {}
    sizes_needed = {*sizes.servers, sizes.side_servers, sizes.agents, 1, sizes.fleet_small, sizes.fleet_large}
    for servers in sorted(sizes_needed):
        log(f"fixture: {servers} servers")
        fixtures[servers] = trio.run(
            partial(
                build_sqlite_fixture, workdir / f"fixture-{servers}", servers, with_tokens=servers in (sizes.agents, 1)
            )
        )
    profile = workdir / "daemon-profile.txt" if args.profile and profiling.available() else None
    if args.profile and profile is None:
        results.skipped.append("profile: py-spy not installed (make bench installs it)")
    timer.figure("figure 1: push cost matrix")
    for servers in sizes.servers:
        for clients in sizes.clients:
            if (servers, clients) in sizes.matrix_skip:
                continue
            log(f"figure 1: push, {servers} servers x {clients} clients")
            results.matrix.append(
                leg_push.push_cell(
                    workdir, fixtures[servers], servers, clients, settle=sizes.settle, seconds=sizes.push_seconds
                )
            )
    timer.figure(
        f"figures 2 and 3: push / poll / per-client encode, {sizes.side_servers} servers x {sizes.side_clients} "
        "browser-like clients"
    )
    results.side = leg_push.side_by_side(
        workdir,
        fixtures[sizes.side_servers],
        sizes.side_servers,
        sizes.side_clients,
        settle=sizes.settle,
        seconds=sizes.side_seconds,
        deflate="all",  # issue 17: browser-like clients on both sides (pollers accept gzip)
    )
    ramp = dict(
        processes=sizes.agent_processes,
        batches=list(sizes.batches),
        settle=sizes.ingest_settle,
        seconds=sizes.ingest_seconds,
        backfill_seconds=sizes.backfill_seconds,
    )
    timer.figure(f"figure 4: ingest into SQLite, {sizes.agents} agents")
    results.ingest.append(leg_ingest.sqlite_ingest(workdir, fixtures[sizes.agents], sizes.agents, **ramp))
    if args.postgres:
        timer.figure(f"figure 4: ingest into PostgreSQL, {sizes.agents} agents")
        results.ingest.append(leg_ingest.postgres_ingest(workdir, args.postgres, sizes.agents, **ramp))
    else:
        results.skipped.append("ingest into PostgreSQL: no --postgres URL given")
    if args.postgres:
        timer.figure(f"figure 7: {sizes.replicas} replicas on one PostgreSQL, {sizes.replica_agents} agents")
        results.replicas = leg_replicas.replica_figure(
            args.postgres,
            workdir,
            replicas=sizes.replicas,
            agents=sizes.replica_agents,
            clients=sizes.replica_clients,
            settle=sizes.replica_settle,
            seconds=sizes.replica_seconds,
        )
    else:
        results.skipped.append("replicas on one PostgreSQL: no --postgres URL given")
    missing = leg_footprint.tools_available()
    with_tools = args.tools and not missing
    if args.tools and missing:
        results.skipped.append(f"Glances / node_exporter: {missing}")
    elif not args.tools:
        results.skipped.append("Glances / node_exporter: --no-tools")
    timer.figure("figure 5: agent footprint" + (" beside Glances and node_exporter" if with_tools else ""))
    results.footprints = leg_footprint.footprints(
        workdir, fixtures[1], seconds=sizes.footprint_seconds, with_tools=with_tools, warm_up=sizes.footprint_warm_up
    )
    timer.figure("figure 5b: the agent-only install beside the full install")
    venv = leg_install.agent_venv(workdir)
    results.install_sizes = leg_install.install_sizes(venv)
    results.install_footprints = leg_install.agent_footprints(
        workdir, fixtures[sizes.agents], venv, seconds=sizes.footprint_seconds, warm_up=sizes.footprint_warm_up
    )
    timer.figure(
        f"figure 8: fleet-scale push, {sizes.fleet_small} / {sizes.fleet_large} servers x {sizes.fleet_clients} clients"
    )
    results.fleet = fleet_scale(
        workdir,
        fixtures,
        small=sizes.fleet_small,
        large=sizes.fleet_large,
        clients=sizes.fleet_clients,
        settle=sizes.fleet_settle,
        seconds=sizes.fleet_seconds,
        profile_cell=V1_DEFLATE,
        profile_to=profile,
        only=list(sizes.fleet_cells),
    )
    if profile is not None and profile.exists():
        total, own, inclusive = profiling.summarize(profile)
        what = (
            f"the daemon during the {sizes.fleet_large:,} servers x {sizes.fleet_clients:,} clients "
            f"`{V1_DEFLATE}` cell of figure 8 (clients connecting, then the window)"
        )
        results.profile = (what, total, own, inclusive)
    timer.figure(f"figure 9: alert evaluation, {sizes.alerts_servers} servers x {sizes.alerts_rules} rules")
    results.alerts = alerts_figure(sizes.alerts_servers, sizes.alerts_rules, sizes.alerts_ticks, sizes.alerts_trials)
    timer.figure(
        f"figure 10: per-grant and public page push, {sizes.grants_servers} servers x {sizes.grants_clients} clients"
    )
    results.grants = grants_figure(
        workdir,
        servers=sizes.grants_servers,
        clients=sizes.grants_clients,
        grants=sizes.grants,
        ticks=sizes.grants_ticks,
        interval=sizes.grants_interval,
        public_interval=sizes.grants_public_interval,
    )
    browser_missing = "--no-browser" if not args.browser else leg_browser.missing()
    if browser_missing:
        results.skipped.append(f"Chromium list render and first load: {browser_missing}")
        return
    timer.figure(f"figure 11: the dashboard in Chromium, {sizes.browser_servers} servers over monitord.v2")
    leg_browser.ensure_build()
    results.browser_render = leg_browser.render(sizes.browser_servers, "v2", sizes.browser_pushes)
    data = copy_fixture(fixtures[sizes.fleet_small], workdir / "first-load")
    with Daemon(write_config(data)) as daemon:
        results.first_load = {**leg_browser.first_load(daemon.http), "servers": sizes.fleet_small}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default="",
        metavar="URL",
        help="a server where the bench may create and drop the database monitord_bench",
    )
    parser.add_argument("--no-tools", dest="tools", action="store_false", help="skip Glances and node_exporter")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip py-spy")
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="skip the Chromium figures")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, no external tools or Chromium (for the test suite)"
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--targets", type=Path, default=HERE / "targets.toml")
    args = parser.parse_args(argv)
    if args.smoke:
        args.tools = args.profile = args.browser = False
    raise_open_files_limit()  # 1000 WebSocket clients need more than the usual 1024
    results = Results(
        command=shlex.join(["python", "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])]),
        machine=machine_info(),
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="monitord-bench-") as workdir:
        run(args, SMOKE if args.smoke else FULL, Path(workdir), results)
    results.elapsed_seconds = time.monotonic() - started
    found = checks(results, args.targets)
    args.output.write_text(markdown(results, found))
    print(short_table(results, found))
    print(f"\nwritten: {args.output}")
    if args.smoke:
        return 0  # tiny sizes say nothing about the targets; the smoke run proves the harness works
    return 0 if all(check.met for check in found) else 1


if __name__ == "__main__":
    sys.exit(main())
