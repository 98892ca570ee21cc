"""Ingest rate: samples per second into SQLite through real gRPC.

    .venv/bin/python bench/ingest.py [--agents 50] [--batch 100] [--seconds 10] [--window 4] [--clients 1]

Registers `--agents` servers in a fresh data dir, starts the real daemon as a separate process
(`python -m monitord`, default SQLite, synchronous=FULL), then streams from `--clients` client
processes that share the agents: each agent call sends batches of `--batch` samples with
distinct timestamps, keeping at most `--window` batches unacknowledged. A sample counts once the
daemon acked it, i.e. once it is durably in the database; the row count is checked against the acks at the end. The per-agent sample cap is
lifted for the run (agents.max_samples_per_second), since the point is the daemon's capacity.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from purerpc.grpclib.events import MessageReceived, ResponseEnded

from bench.agent_fleet import sample
from monitord.config import load_settings
from monitord.grpc_transport import open_channel
from monitord.models import now_ms
from monitord.proto import monitord_grpc
from monitord.proto import monitord_pb2 as pb
from monitord.servers import ServerRegistry
from monitord.storage import open_storage


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _register(config: Path, count: int) -> list[str]:
    tokens = []
    async with open_storage(load_settings(config)) as storage:
        registry = ServerRegistry(storage)
        for index in range(count):
            tokens.append((await registry.register(f"bench-{index}")).agent_token)
    return tokens


async def _agent(port: int, token: str, batch: int, window: int, until: float, acked: list[int], base_ms: int) -> None:
    async with open_channel("127.0.0.1", port) as channel:
        stream = await monitord_grpc.AgentServiceStub(channel).Connect(metadata=(("authorization", f"Bearer {token}"),))
        try:
            await stream.send_message(pb.AgentMessage(hello=pb.Hello(hostname="bench")))
            in_flight = trio.Semaphore(window)
            done = trio.Event()

            async def receive() -> None:
                # One ack covers every sample up to its seq, so it may settle several batches.
                acked_seq = 0
                while True:
                    event = await stream.receive_event()
                    if isinstance(event, ResponseEnded):
                        raise RuntimeError(f"call ended: {event.status}")
                    if isinstance(event, MessageReceived) and event.data.WhichOneof("payload") == "ack":
                        seq = event.data.ack.seq
                        acked[0] += seq - acked_seq
                        for _ in range(seq // batch - acked_seq // batch):
                            in_flight.release()
                        acked_seq = seq
                        if done.is_set() and in_flight.value == window:
                            return

            async with trio.open_nursery() as nursery:
                nursery.start_soon(receive)
                seq = 0
                while trio.current_time() < until:
                    await in_flight.acquire()
                    samples = [sample(seq + i + 1, base_ms + seq + i) for i in range(batch)]
                    seq += batch
                    await stream.send_message(pb.AgentMessage(metrics=pb.MetricsBatch(samples=samples)))
                done.set()
                if in_flight.value == window:
                    nursery.cancel_scope.cancel()
        finally:
            stream.release()


async def _clients(args: argparse.Namespace) -> None:
    """One client process: its share of the agents; prints how many samples were acked."""
    tokens = Path(args.tokens).read_text().split()[args.index :: args.clients]
    acked = [0]
    until = trio.current_time() + args.seconds
    async with trio.open_nursery() as nursery:
        for token in tokens:
            # Distinct timestamps per agent, in the past (within the accepted age).
            nursery.start_soon(_agent, args.port, token, args.batch, args.window, until, acked, args.base_ms)
    print(acked[0])


def _run(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="monitord-bench-"))
    grpc_port = _free_port()
    config = data / "monitord.toml"
    config.write_text(
        f'data_dir = "{data}"\n[http]\nlisten = "127.0.0.1:{_free_port()}"\n[grpc]\nlisten = "127.0.0.1:{grpc_port}"\n'
        "[agents]\nmax_samples_per_second = 1000000.0\n"
    )
    tokens_file = data / "tokens"
    tokens_file.write_text("\n".join(trio.run(_register, config, args.agents)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # MONITORD_BENCH_PROFILE=FILE runs the daemon under cProfile and writes its profile there.
    profile = os.environ.get("MONITORD_BENCH_PROFILE")
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    daemon = subprocess.Popen(
        [sys.executable, *profiler, "-m", "monitord", "--config", str(config)],
        env=env,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", grpc_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base_ms = now_ms() - 12 * 3_600_000  # within agents.max_sample_age_seconds (a day)
        started = time.perf_counter()
        cpu_before = _cpu_seconds(daemon.pid)
        clients = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--client",
                    str(index),
                    "--clients",
                    str(args.clients),
                    "--tokens",
                    str(tokens_file),
                    "--port",
                    str(grpc_port),
                    "--batch",
                    str(args.batch),
                    "--window",
                    str(args.window),
                    "--seconds",
                    str(args.seconds),
                    "--base-ms",
                    str(base_ms),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(args.clients)
        ]
        acked = sum(int(client.communicate()[0]) for client in clients)
        elapsed = time.perf_counter() - started
        daemon_cpu = _cpu_seconds(daemon.pid) - cpu_before
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the clients (waited for above)
        clients_cpu = children.ru_utime + children.ru_stime
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    import sqlite3

    rows = sqlite3.connect(data / "monitord.db").execute("SELECT count(*) FROM metrics").fetchone()[0]
    print(f"agents={args.agents} batch={args.batch} window={args.window} clients={args.clients} seconds={elapsed:.1f}")
    print(f"acked samples: {acked}  rows in SQLite: {rows}")
    print(
        f"ingest rate: {acked / elapsed:,.0f} samples/s  (daemon CPU {100 * daemon_cpu / elapsed:.0f}% of a core, "
        f"clients {100 * clients_cpu / elapsed:.0f}%, {os.cpu_count()} CPUs)"
    )
    if rows != acked:
        raise SystemExit("mismatch between acked samples and stored rows")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--clients", type=int, default=1, help="client processes sharing the agents")
    parser.add_argument("--client", dest="index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-ms", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.index is None:
        _run(args)
    else:
        trio.run(_clients, args)


if __name__ == "__main__":
    main()
