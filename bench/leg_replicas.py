"""The replica figure (issue 19): N daemons on one PostgreSQL against one daemon, same run.

Agents (bench/agent_fleet.py) report every second, spread evenly over the daemons; each daemon
has its own dashboard clients (bench/ws_fleet.py), one of which decodes every push to time each
server's newest sample from the agent's timestamp to its arrival. A sample an agent sent to one
replica reaches the clients of the others through PostgreSQL's NOTIFY, so the probes of those
replicas time exactly that path. Measured over one window: the CPU of each daemon and of the
PostgreSQL backends serving the bench database, and the NOTIFY traffic (a LISTEN of our own).

    python -m bench.leg_replicas --postgres postgresql://postgres@127.0.0.1:5432/postgres \\
        [--replicas 3 --agents 3000 --clients 300 --seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import asyncpg
import trio

from bench.daemon import Daemon
from bench.fixtures import TOKENS_FILE, fill_database, write_config
from bench.fleets import Fleet
from bench.leg_ingest import scratch_postgres
from bench.leg_push import INTERVAL_SECONDS, ws_fleets
from bench.procfs import CpuWindow, cpu_seconds
from monitord.limits import raise_open_files_limit

DATABASE = "monitord_bench_replicas"


@dataclass
class ReplicaRun:
    replicas: int
    agents: int
    clients_per_replica: int
    daemon_cores: list[float]  # share of one core, per daemon
    postgres_core: float  # the backends of the bench database together
    acked_per_second: float
    notifies_per_second: float
    notify_kb_per_second: float
    latency_p50: list[float]  # per daemon's probe: agent timestamp -> client
    latency_p99: list[float]


class NotifyCounter:
    """LISTENs on monitord_live in a thread of its own and records (time, bytes) of every payload."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.events: list[tuple[float, int]] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        connection = await asyncpg.connect(self._url)
        await connection.add_listener(
            "monitord_live", lambda _c, _p, _ch, payload: self.events.append((time.time(), len(payload)))
        )
        self._ready.set()
        await self._stop.wait()
        await connection.close()

    def __enter__(self) -> NotifyCounter:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def rate(self, t0: float, t1: float) -> tuple[float, float]:
        """Payloads per second and KB per second within [t0, t1]."""
        window = [size for at, size in list(self.events) if t0 <= at <= t1]
        return len(window) / (t1 - t0), sum(window) / 1024 / (t1 - t0)


def _backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend connected to the bench database."""
    out = subprocess.run(
        ["psql", url, "-Atc", f"SELECT pid FROM pg_stat_activity WHERE datname = '{DATABASE}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cpu = {}
    for pid in map(int, out.split()):
        try:
            cpu[pid] = cpu_seconds(pid)
        except OSError:  # ended meanwhile
            pass
    return cpu


def _agent_fleets(daemons: list[Daemon], tokens: Path, agents: int, processes_per_daemon: int) -> list[Fleet]:
    """`agents` agents split evenly over `daemons`, each share over a few processes."""
    fleets = []
    parts = len(daemons) * processes_per_daemon
    shares = [agents // parts + (index < agents % parts) for index in range(parts)]
    for index, share in enumerate(shares):
        daemon = daemons[index // processes_per_daemon]
        fleets.append(
            Fleet(
                "bench.agent_fleet",
                "--address",
                daemon.grpc,
                "--tokens",
                tokens,
                "--first",
                sum(shares[:index]),
                "--agents",
                share,
                "--interval",
                1.0,
            )
        )
    return fleets


def replica_run(
    url: str, data: Path, replicas: int, agents: int, clients: int, *, settle: float, seconds: float
) -> ReplicaRun:
    with ExitStack() as stack:
        daemons = []
        for index in range(replicas):
            folder = data / f"replica-{replicas}-{index}"
            folder.mkdir()
            (folder / TOKENS_FILE).write_text((data / TOKENS_FILE).read_text())
            daemons.append(
                stack.enter_context(Daemon(write_config(folder, interval_seconds=INTERVAL_SECONDS, database_url=url)))
            )
        token = daemons[0].login()  # one key for all: valid on every replica
        generators = _agent_fleets(daemons, data / TOKENS_FILE, agents, processes_per_daemon=1 if replicas > 1 else 2)
        viewers = [ws_fleets(daemon, token, clients, probes=1) for daemon in daemons]
        fleets = [*generators, *(fleet for group in viewers for fleet in group)]
        counter = stack.enter_context(NotifyCounter(url))
        for fleet in fleets:
            stack.callback(fleet.kill)
            fleet.start()
        for fleet in fleets:
            fleet.wait_ready()
        time.sleep(settle)
        postgres_before = _backend_cpu(url)
        window = CpuWindow([daemon.pid for daemon in daemons]).start()
        t0 = time.time()
        time.sleep(seconds)
        t1 = time.time()
        window.stop()
        postgres_after = _backend_cpu(url)
        for fleet in fleets:
            fleet.finish(t0, t1)
        # A backend born within the window counts whole: all its CPU was spent in it.
        postgres = sum(after - postgres_before.get(pid, 0.0) for pid, after in postgres_after.items())
        notifies, kb = counter.rate(t0, t1)
        return ReplicaRun(
            replicas=replicas,
            agents=agents,
            clients_per_replica=clients,
            daemon_cores=[window.share(daemon.pid) for daemon in daemons],
            postgres_core=postgres / (t1 - t0),
            acked_per_second=sum(fleet.report["acked_per_second"] for fleet in generators),
            notifies_per_second=notifies,
            notify_kb_per_second=kb,
            latency_p50=[group[0].report["latency_p50"] for group in viewers],
            latency_p99=[group[0].report["latency_p99"] for group in viewers],
        )


def replica_figure(
    admin_url: str, workdir: Path, *, replicas: int, agents: int, clients: int, settle: float, seconds: float
) -> list[ReplicaRun]:
    """One daemon, then `replicas` daemons, on the same database, agents and clients per daemon."""
    with scratch_postgres(admin_url, DATABASE) as url:
        data = trio.run(fill_database, url, workdir / "replicas", agents)
        return [
            replica_run(url, data, count, agents, clients, settle=settle, seconds=seconds) for count in (1, replicas)
        ]


def markdown(runs: list[ReplicaRun], number: str, command: str) -> str:
    lines = [
        f"## {number} Replicas: several daemons on one PostgreSQL (issue 19)",
        "",
        f"Command: `{command}`. Agents report every second, split evenly over the daemons; each daemon "
        f"has its own dashboard clients (push every {INTERVAL_SECONDS:g} s). Latency = agent timestamp → a "
        "client's decoded snapshot, push interval included, one probe client per daemon. PostgreSQL CPU "
        "counts the backends of the bench database (not the WAL writer or checkpointer).",
        "",
        "| daemons | agents | clients per daemon | stored samples/s | CPU per daemon | PostgreSQL CPU | NOTIFY/s "
        "| NOTIFY KB/s | latency p50 per daemon | latency p99 per daemon |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.replicas} | {run.agents} | {run.clients_per_replica} | {run.acked_per_second:,.0f} | "
            + " / ".join(f"{share:.0%}" for share in run.daemon_cores)
            + f" | {run.postgres_core:.0%} | {run.notifies_per_second:.0f} | {run.notify_kb_per_second:.0f} | "
            + " / ".join(f"{p * 1000:.0f} ms" for p in run.latency_p50)
            + " | "
            + " / ".join(f"{p * 1000:.0f} ms" for p in run.latency_p99)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a server URL whose user may CREATE DATABASE")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--agents", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=300, help="dashboard clients per daemon")
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    raise_open_files_limit()
    command = (
        f"python -m bench.leg_replicas --postgres URL --replicas {args.replicas} --agents {args.agents} "
        f"--clients {args.clients} --settle {args.settle:g} --seconds {args.seconds:g}"
    )
    with TemporaryDirectory(prefix="monitord-bench-replicas-") as workdir:
        runs = replica_figure(
            args.postgres,
            Path(workdir),
            replicas=args.replicas,
            agents=args.agents,
            clients=args.clients,
            settle=args.settle,
            seconds=args.seconds,
        )
    print(markdown(runs, "7.", command))


if __name__ == "__main__":
    main()
