"""What per-grant and public status page pushes cost (issue 16), against the real daemon.

    .venv/bin/python bench/grants_push_cost.py                              # full size
    .venv/bin/python bench/grants_push_cost.py --servers 100 --clients 20 --grants 4 --ticks 3

Three runs of the real daemon (`python -m monitord`, as bench/push_cost.py runs it), on a data dir
of N servers (host facts and one sample each) tagged round robin with G tags:
- single:  M clients as the admin, so one encoding per tick (today's push);
- grants:  M clients spread over G viewers, viewer i granted every tag but tag i (~(G-1)/G of
           the servers each, so snapshots as big as in `single`): G encodings per tick;
- public:  M anonymous clients on /ws/public/status/{slug} of one public page showing every
           server with every field, pushed every `--public-interval` seconds.
Each reports the daemon's CPU per tick (idle CPU subtracted), frames and bytes received.
Before the runs, the in-process cost of one tick's builds is timed too: 1 encoding of N servers,
G encodings of what G grants see, and what one encoding per client would cost.
bench/run.py reports it as figure 10.
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import trio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # also runs as a script: `python bench/grants_push_cost.py`

from bench.fixtures import ADMIN, ADMIN_PASSWORD, fill  # noqa: E402
from bench.push_cost import cpu_seconds  # noqa: E402
from bench.ws_fleet import FrameCounter  # noqa: E402
from monitord.config import Settings  # noqa: E402
from monitord.models import Grant  # noqa: E402
from monitord.push.audiences import VisibleServers  # noqa: E402
from monitord.push.snapshot import build_snapshot  # noqa: E402
from monitord.storage import open_storage  # noqa: E402

MODES = ("single", "grants", "public")


@dataclass
class ModeCost:
    """One daemon run: `clients` subscribers of one kind (see the module docstring)."""

    mode: str
    cpu_per_tick: float  # seconds, the daemon's idle CPU subtracted
    clients: int
    kb_per_frame: float
    frames: int
    expected_frames: float

    @property
    def ms_per_client(self) -> float:
        return self.cpu_per_tick / self.clients * 1000

    def line(self) -> str:
        return (
            f"{self.mode:>7}: {self.cpu_per_tick * 1000:6.0f} ms CPU per tick ({self.ms_per_client:.2f} ms per "
            f"client); {self.kb_per_frame:.0f} KB per frame; frames {self.frames} of {self.expected_frames:.0f} expected"
        )


@dataclass
class GrantsRun:
    """Figure 10: per-grant encoding and the public page's push, at `servers` x `clients`."""

    servers: int
    clients: int
    grants: int
    interval: float
    public_interval: float
    build_ms: dict[str, float] = field(default_factory=dict)  # single / per grant / per client, in-process
    modes: dict[str, ModeCost] = field(default_factory=dict)


def tag_of(index: int) -> str:
    return f"t{index}"


def grant_of(viewer: int, grants: int) -> Grant:
    return Grant(all=False, tags=frozenset(tag_of(i) for i in range(grants) if i != viewer))


async def client(host: str, port: int, path: str, protocols: str, counter: FrameCounter, ready: trio.Event) -> None:
    stream = await trio.open_tcp_stream(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    await stream.send_all(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocols}\r\n\r\n"
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


async def in_process_figures(settings: Settings, grants: int, clients: int) -> dict[str, float]:
    """One tick's builds timed in this process, from the filled database's servers."""
    from monitord.daemon import load_cache

    async with open_storage(settings) as storage:
        cache = await load_cache(storage)

    def timed(builds: list[Grant], repeat: int = 5) -> float:
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            for grant in builds:
                build_snapshot(VisibleServers(cache, grant))
            best = min(best, time.perf_counter() - started)
        return best * 1000

    one = timed([Grant()])
    per_grant = timed([grant_of(i, grants) for i in range(grants)])
    per_client_estimate = (
        timed([grant_of(i % grants, grants) for i in range(min(clients, 100))], 1) * clients / min(clients, 100)
    )
    return {"single": one, "per grant": per_grant, "per client": per_client_estimate}


async def run_daemon(args: argparse.Namespace, data: Path, mode: str) -> ModeCost:
    config = data.parent / f"{mode}.toml"
    config.write_text(
        f'data_dir = "{data}"\n[http]\nlisten = "127.0.0.1:0"\n'
        "max_live_feeds_per_user = 100000\nmax_live_feeds_per_address = 100000\n"
        "public_requests_per_second = 1000000.0\npublic_request_burst = 1000000\n"
        '[grpc]\nlisten = "127.0.0.1:0"\n'
        f"[push]\ninterval_seconds = {args.interval}\nstatus_page_interval_seconds = {args.public_interval}\n"
    )
    daemon = await trio.lowlevel.open_process(
        [sys.executable, "-m", "monitord", "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
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
        targets = await _targets(args, host, port, mode)
        process = psutil.Process(daemon.pid)
        interval = args.public_interval if mode == "public" else args.interval
        span = args.ticks * interval
        async with trio.open_nursery() as nursery:

            async def drain() -> None:
                assert daemon.stderr is not None
                while await daemon.stderr.receive_some(65536):
                    pass

            nursery.start_soon(drain)
            idle_before = cpu_seconds(process)
            await trio.sleep(min(span, 5))
            idle_rate = (cpu_seconds(process) - idle_before) / min(span, 5)
            counters = [FrameCounter() for _ in range(args.clients)]
            for index, counter in enumerate(counters):
                ready = trio.Event()
                path, protocols = targets[index % len(targets)]
                nursery.start_soon(client, host, port, path, protocols, counter, ready)
                await ready.wait()
            await trio.sleep(2 * interval)
            frames_before = sum(c.text_frames for c in counters)
            bytes_before = sum(c.bytes for c in counters)
            busy_before = cpu_seconds(process)
            wall_before = time.monotonic()
            await trio.sleep(span)
            busy = cpu_seconds(process) - busy_before
            wall = time.monotonic() - wall_before
            frames = sum(c.text_frames for c in counters) - frames_before
            received = sum(c.bytes for c in counters) - bytes_before
            nursery.cancel_scope.cancel()
    finally:
        daemon.terminate()
        await daemon.wait()
    ticks = wall / interval
    per_tick = (busy - idle_rate * wall) / ticks
    return ModeCost(
        mode=mode,
        cpu_per_tick=per_tick,
        clients=args.clients,
        kb_per_frame=received / max(frames, 1) / 1000,
        frames=frames,
        expected_frames=ticks * args.clients,
    )


async def _targets(args: argparse.Namespace, host: str, port: int, mode: str) -> list[tuple[str, str]]:
    """(path, subprotocols) of the clients to open, one per identity, round robin."""
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60) as http:
        login = {"username": ADMIN, "password": ADMIN_PASSWORD}
        admin = (await http.post("/api/auth/login", json=login)).json()["token"]
        auth = {"Authorization": f"Bearer {admin}"}
        if mode == "single":
            return [("/ws/servers", f"monitord.v1, bearer.{admin}")]
        if mode == "public":
            page = {
                "slug": "bench",
                "title": "Bench",
                "sections": [{"title": "all", "tags": [tag_of(i) for i in range(args.grants)]}],
                "fields": ["status", "cpu", "memory", "disk", "network"],
            }
            created = await http.post("/api/status-pages", json=page, headers=auth)
            assert created.status_code == 201, created.text
            return [("/ws/public/status/bench", "monitord.status.v1")]
        targets = []
        for viewer in range(args.grants):
            user = {"username": f"viewer{viewer}", "password": "viewer-password", "role": "viewer"}
            user_id = (await http.post("/api/users", json=user, headers=auth)).json()["id"]
            grant = grant_of(viewer, args.grants)
            body = {"all": False, "tags": sorted(grant.tags), "serverIds": []}
            assert (await http.put(f"/api/users/{user_id}/grant", json=body, headers=auth)).status_code == 200
            login = {"username": user["username"], "password": user["password"]}
            token = (await http.post("/api/auth/login", json=login)).json()["token"]
            targets.append(("/ws/servers", f"monitord.v1, bearer.{token}"))
        return targets


async def measure(args: argparse.Namespace, workdir: Path) -> GrantsRun:
    """Fill a data dir under `workdir`, time the in-process builds, then each mode of `args.modes`."""
    data = workdir / "grants-data"
    data.mkdir(parents=True)
    settings = Settings(data_dir=str(data))
    await fill(settings, args.servers)
    async with open_storage(settings) as storage:
        for server in await storage.list_servers():
            await storage.set_server_tags(server.id, [tag_of(server.id % args.grants)])
    run = GrantsRun(args.servers, args.clients, args.grants, args.interval, args.public_interval)
    run.build_ms = await in_process_figures(settings, args.grants, args.clients)
    for mode in args.modes:
        run.modes[mode] = await run_daemon(args, data, mode)
    return run


def grants_figure(
    workdir: Path, *, servers: int, clients: int, grants: int, ticks: int, interval: float, public_interval: float
) -> GrantsRun:
    """Figure 10 for bench/run.py: every mode, at these sizes."""
    args = argparse.Namespace(
        servers=servers,
        clients=clients,
        grants=grants,
        ticks=ticks,
        interval=interval,
        public_interval=public_interval,
        modes=MODES,
    )
    return trio.run(measure, args, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--grants", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--public-interval", type=float, default=5.0)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    args.modes = args.modes.split(",")
    print(f"servers={args.servers} clients={args.clients} grants={args.grants} ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="monitord-bench-") as tmp:
        run = trio.run(measure, args, Path(tmp))
    build = run.build_ms
    print(
        f"in-process build+encode per tick: single {build['single']:.1f} ms; per grant ({run.grants} grants) "
        f"{build['per grant']:.1f} ms; per client ({run.clients} clients, extrapolated) {build['per client']:.0f} ms"
    )
    for cost in run.modes.values():
        print(cost.line())


if __name__ == "__main__":
    main()
