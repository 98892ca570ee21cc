"""What one push tick costs the daemon: CPU time per tick at N servers x M WebSocket clients.

    .venv/bin/python bench/push_cost.py                      # 1000 servers, 100 clients, 15 ticks
    .venv/bin/python bench/push_cost.py --servers 1000 --clients 100 --ticks 15 --malloc-tuned

The cells of `make bench` (bench/run.py) measure the same at fixed sizes; this script is for one
configuration at a time. It runs the real daemon (`python -m monitord`) as a child process on a
temporary data dir filled with N servers (host facts and one sample each, ~0.9 KB of snapshot per server), opens M real
WebSocket clients against /ws/servers (the real handshake with a session token; then they read
every byte and count frames by their headers, so this process stays cheap and keeps up), and
reads the daemon's CPU time (user + system) before and after the measured ticks. The daemon's
idle CPU over the same span, measured before any client connects, is subtracted.

`--malloc-tuned` starts the daemon with MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ raised
(STACK trap 11), to compare.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import trio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.fixtures import ADMIN, ADMIN_PASSWORD, fill  # noqa: E402
from bench.ws_fleet import FrameCounter  # noqa: E402
from monitord.config import Settings  # noqa: E402


async def client(host: str, port: int, token: str, counter: FrameCounter, ready: trio.Event) -> None:
    stream = await trio.open_tcp_stream(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    await stream.send_all(
        (
            f"GET /ws/servers HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: monitord.v1, bearer.{token}\r\n"
            # What browsers send; the daemon declines it (STACK trap 4).
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head.splitlines()[0]!r}")
    ready.set()
    async with stream:
        while data := await stream.receive_some(1 << 20):
            counter.feed(data)


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some(65536):
        pass


async def _measure(
    args: argparse.Namespace, host: str, port: int, token: str, process: psutil.Process, span: float
) -> tuple[float, float, float, float, int, int]:
    """Daemon CPU (all, kernel part) with the clients, idle CPU before them, wall time, frames
    and bytes received."""
    idle_before = cpu_seconds(process)
    await trio.sleep(span)
    idle = cpu_seconds(process) - idle_before

    counters = [FrameCounter() for _ in range(args.clients)]
    async with trio.open_nursery() as nursery:
        for counter in counters:
            ready = trio.Event()
            nursery.start_soon(client, host, port, token, counter, ready)
            await ready.wait()
        await trio.sleep(2 * args.interval)  # let every client settle into the cadence
        frames_before = sum(c.text_frames for c in counters)
        bytes_before = sum(c.bytes for c in counters)
        busy_before, kernel_before = cpu_seconds(process), system_seconds(process)
        wall_before = time.monotonic()
        await trio.sleep(span)
        busy = cpu_seconds(process) - busy_before
        kernel = system_seconds(process) - kernel_before
        wall = time.monotonic() - wall_before
        frames = sum(c.text_frames for c in counters) - frames_before
        received = sum(c.bytes for c in counters) - bytes_before
        nursery.cancel_scope.cancel()
    return busy, kernel, idle, wall, frames, received


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def system_seconds(process: psutil.Process) -> float:
    return process.cpu_times().system


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="monitord-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        config = Path(tmp) / "monitord.toml"
        config.write_text(
            f'data_dir = "{data}"\n[http]\nlisten = "127.0.0.1:0"\n'
            # Every client is the same user from the same address.
            "max_live_feeds_per_user = 100000\nmax_live_feeds_per_address = 100000\n"
            '[grpc]\nlisten = "127.0.0.1:0"\n'
            f"[push]\ninterval_seconds = {args.interval}\n"
        )
        settings = Settings(data_dir=str(data))
        print(f"filling {args.servers} servers ...", flush=True)
        await fill(settings, args.servers)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if args.malloc_tuned:
            env.update(MALLOC_MMAP_THRESHOLD_="67108864", MALLOC_TRIM_THRESHOLD_="268435456")
        daemon = await trio.lowlevel.open_process(
            [sys.executable, "-m", "monitord", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert daemon.stderr is not None
            log = b""
            while b" ready: " not in log:
                chunk = await daemon.stderr.receive_some(65536)
                if not chunk:
                    raise SystemExit("the daemon exited:\n" + log.decode(errors="replace"))
                log += chunk
            address = re.search(rb"dashboard and API on http://([\d.]+):(\d+)", log)
            assert address is not None
            host, port = address[1].decode(), int(address[2])
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
                login = {"username": ADMIN, "password": ADMIN_PASSWORD}
                token = (await http.post("/api/auth/login", json=login)).json()["token"]
            process = psutil.Process(daemon.pid)
            span = args.ticks * args.interval
            async with trio.open_nursery() as nursery:
                # Keep reading the daemon's log, so a full pipe can never stall it.
                nursery.start_soon(_drain, daemon.stderr)
                busy, kernel, idle, wall, frames, received = await _measure(args, host, port, token, process, span)
                nursery.cancel_scope.cancel()
        finally:
            daemon.terminate()
            await daemon.wait()
    ticks = wall / args.interval
    snapshot_kb = received / max(frames, 1) / 1000
    per_tick = (busy - idle * wall / span) / ticks
    print(
        f"servers={args.servers} clients={args.clients} interval={args.interval}s "
        f"malloc_tuned={args.malloc_tuned}\n"
        f"snapshot: {snapshot_kb:.0f} KB; frames received {frames} of {ticks * args.clients:.0f} expected "
        f"({frames / (ticks * args.clients):.0%})\n"
        f"daemon CPU: {busy:.2f} s ({kernel:.2f} s in the kernel) over {wall:.1f} s with clients, "
        f"{idle:.3f} s idle over {span:.1f} s\n"
        f"push cost: {per_tick * 1000:.0f} ms CPU per tick "
        f"({per_tick / args.clients * 1000:.2f} ms per client per tick; "
        f"{per_tick / args.interval:.0%} of one core at one tick per {args.interval} s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=15)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--malloc-tuned", action="store_true")
    trio.run(main, parser.parse_args())
