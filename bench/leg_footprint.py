"""Figure 5: what the agent costs its host at a 1 s interval, beside Glances and node_exporter.

All three run at once over the same window, so machine load hits them alike:
- the monitord agent (`python -m monitord.agent`) reporting to a real daemon every second;
- Glances from PyPI (`glances --stdout` with the agent's set of stats, `-t 1`, its venv under bench/.cache/);
- prometheus-node-exporter (Debian) on a free port, its /metrics scraped once a second.
The daemon and the scraper are the server side and are not counted.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.daemon import REPO, Daemon, child_env
from bench.fixtures import TOKENS_FILE, copy_fixture, write_config
from bench.procfs import CpuWindow

GLANCES = REPO / "bench" / ".cache" / "glances" / "bin" / "glances"
# What the agent collects, so both do the same work: CPU, memory, swap, load, filesystems, disk
# IO, network, process count and uptime (the agent's Sample, CONTRACT §6).
GLANCES_STATS = "cpu,mem,memswap,load,fs,diskio,network,processcount,uptime"
NODE_EXPORTER = Path("/usr/bin/prometheus-node-exporter")
WARM_UP_SECONDS = 5.0


@dataclass
class Footprint:
    name: str
    core_share: float
    rss_bytes: int  # peak over the window


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape_every_second(url: str, stop: threading.Event) -> None:
    """What a Prometheus server at a 1 s scrape interval does to node_exporter."""
    while not stop.wait(1.0):
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()


def tools_available() -> str:
    """'' when Glances and node_exporter are installed, else what is missing (one line)."""
    missing = [str(path) for path in (GLANCES, NODE_EXPORTER) if not path.exists()]
    return f"not installed: {', '.join(missing)} (make bench installs them)" if missing else ""


def footprints(
    workdir: Path, fixture: Path, *, seconds: float, with_tools: bool, warm_up: float = WARM_UP_SECONDS
) -> list[Footprint]:
    """CPU share and peak RSS of the agent (and, `with_tools`, of Glances and node_exporter)."""
    data = copy_fixture(fixture, workdir / "footprint")
    with ExitStack() as stack:
        daemon = stack.enter_context(Daemon(write_config(data)))
        agent_config = data / "agent.toml"
        token = (data / TOKENS_FILE).read_text().split()[0]
        agent_config.write_text(f'server = "{daemon.grpc}"\ntoken = "{token}"\ninterval_seconds = 1.0\n')
        processes = {"monitord agent": [sys.executable, "-m", "monitord.agent", "--config", str(agent_config)]}
        port = _free_port()
        if with_tools:
            processes["Glances (--stdout, -t 1)"] = [str(GLANCES), "--stdout", GLANCES_STATS, "-t", "1"]
            processes["node_exporter (scraped 1/s)"] = [str(NODE_EXPORTER), f"--web.listen-address=127.0.0.1:{port}"]
        running = {}
        for name, argv in processes.items():
            process = subprocess.Popen(
                argv,
                env=child_env(),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(_stop, process)
            running[name] = process
        time.sleep(warm_up)  # imports, first connection, first samples
        stop = threading.Event()
        if with_tools:
            scraper = threading.Thread(target=_scrape_every_second, args=(f"http://127.0.0.1:{port}/metrics", stop))
            scraper.start()
            stack.callback(scraper.join)
            stack.callback(stop.set)
        window = CpuWindow(process.pid for process in running.values()).start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(1.0)
            window.sample_rss()
        window.stop()
        for name, process in running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during the measurement ({process.returncode})")
    return [Footprint(name, window.share(p.pid), window.peak_rss[p.pid]) for name, p in running.items()]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
