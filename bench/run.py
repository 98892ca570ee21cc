"""`make bench`: figures 1-6 of issue 9 from the real daemon, written to bench/RESULTS.md.

    .venv/bin/python -m bench.run [--postgres URL] [--no-tools] [--no-profile] [--smoke] [--output FILE]

Builds one fixture per size, then runs the legs in turn: the push cost matrix (py-spy on its
heaviest cell), push / polling / per-client encoding side by side, ingest into SQLite (and
PostgreSQL with --postgres), the agent beside Glances and node_exporter. Prints a short table
and exits 1 when a target of bench/targets.toml is missed. `--smoke` runs tiny sizes without the
external tools and does not enforce the targets (tests/test_bench_run.py); the full run takes
about 12 minutes on two cores.
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

from bench import leg_footprint, leg_ingest, leg_install, leg_push, leg_replicas, profiling
from bench.fixtures import build_sqlite_fixture
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
    push_seconds=4.5,
    side_servers=20,
    side_clients=2,
    side_seconds=4.5,
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
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args: argparse.Namespace, sizes: Sizes, workdir: Path, results: Results) -> None:
    """Every leg in turn, filling `results`."""
    fixtures = {}
    for servers in sorted({*sizes.servers, sizes.side_servers, sizes.agents, 1}):
        log(f"fixture: {servers} servers")
        fixtures[servers] = trio.run(
            partial(
                build_sqlite_fixture, workdir / f"fixture-{servers}", servers, with_tokens=servers in (sizes.agents, 1)
            )
        )
    heaviest = (max(sizes.servers), max(sizes.clients))
    profile = workdir / "daemon-profile.txt" if args.profile and profiling.available() else None
    if args.profile and profile is None:
        results.skipped.append("profile: py-spy not installed (make bench installs it)")
    for servers in sizes.servers:
        for clients in sizes.clients:
            log(f"figure 1: push, {servers} servers x {clients} clients")
            record = profile if (servers, clients) == heaviest else None
            results.matrix.append(
                leg_push.push_cell(
                    workdir,
                    fixtures[servers],
                    servers,
                    clients,
                    settle=sizes.settle,
                    seconds=sizes.push_seconds,
                    profile_to=record,
                )
            )
            if record is not None and record.exists():
                total, own, inclusive = profiling.summarize(record)
                what = f"the daemon during the {servers:,} servers x {clients:,} clients push cell (clients connecting, then the window)"
                results.profile = (what, total, own, inclusive)
    log(
        f"figures 2 and 3: push / poll / per-client encode, {sizes.side_servers} servers x {sizes.side_clients} clients"
    )
    results.side = leg_push.side_by_side(
        workdir,
        fixtures[sizes.side_servers],
        sizes.side_servers,
        sizes.side_clients,
        settle=sizes.settle,
        seconds=sizes.side_seconds,
    )
    ramp = dict(
        processes=sizes.agent_processes,
        batches=list(sizes.batches),
        settle=sizes.ingest_settle,
        seconds=sizes.ingest_seconds,
        backfill_seconds=sizes.backfill_seconds,
    )
    log(f"figure 4: ingest into SQLite, {sizes.agents} agents")
    results.ingest.append(leg_ingest.sqlite_ingest(workdir, fixtures[sizes.agents], sizes.agents, **ramp))
    if args.postgres:
        log(f"figure 4: ingest into PostgreSQL, {sizes.agents} agents")
        results.ingest.append(leg_ingest.postgres_ingest(workdir, args.postgres, sizes.agents, **ramp))
    else:
        results.skipped.append("ingest into PostgreSQL: no --postgres URL given")
    if args.postgres:
        log(f"figure 7: {sizes.replicas} replicas on one PostgreSQL, {sizes.replica_agents} agents")
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
    log("figure 5: agent footprint" + (" beside Glances and node_exporter" if with_tools else ""))
    results.footprints = leg_footprint.footprints(
        workdir, fixtures[1], seconds=sizes.footprint_seconds, with_tools=with_tools, warm_up=sizes.footprint_warm_up
    )
    log("figure 5b: the agent-only install beside the full install")
    venv = leg_install.agent_venv(workdir)
    results.install_sizes = leg_install.install_sizes(venv)
    results.install_footprints = leg_install.agent_footprints(
        workdir, fixtures[sizes.agents], venv, seconds=sizes.footprint_seconds, warm_up=sizes.footprint_warm_up
    )


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
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no external tools (for the test suite)")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--targets", type=Path, default=HERE / "targets.toml")
    args = parser.parse_args(argv)
    if args.smoke:
        args.tools = args.profile = False
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
