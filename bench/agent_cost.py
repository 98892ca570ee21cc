"""What the agent costs its host: CPU share and resident memory at a 1 s interval.

    .venv/bin/python bench/agent_cost.py [--seconds 60] [--interval 1.0]

Starts a real daemon and a real agent (`python -m monitord.agent`) as separate processes, lets
the agent warm up, then reads the agent's CPU time and RSS from /proc over `--seconds`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="monitord-agent-cost-"))
    grpc_port = _free_port()
    config = data / "monitord.toml"
    config.write_text(
        f'data_dir = "{data}"\n[http]\nlisten = "127.0.0.1:{_free_port()}"\n[grpc]\nlisten = "127.0.0.1:{grpc_port}"\n'
    )
    token_file = data / "agent.token"
    subprocess.run([sys.executable, "-m", "monitord", "server", "add", "me", "--token-file", str(token_file),
                    "--config", str(config)], env=ENV, check=True, stdout=subprocess.DEVNULL)
    agent_config = data / "agent.toml"
    agent_config.write_text(
        f'server = "127.0.0.1:{grpc_port}"\ntoken_file = "{token_file}"\ninterval_seconds = {args.interval}\n'
    )
    daemon = subprocess.Popen([sys.executable, "-m", "monitord", "--config", str(config)], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    agent = None
    try:
        time.sleep(2)
        agent = subprocess.Popen([sys.executable, "-m", "monitord.agent", "--config", str(agent_config)], env=ENV,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(5)  # imports, first connection, first samples
        cpu_before, started = _cpu_seconds(agent.pid), time.monotonic()
        peak = 0.0
        while time.monotonic() - started < args.seconds:
            time.sleep(1)
            peak = max(peak, _rss_mib(agent.pid))
        cpu = _cpu_seconds(agent.pid) - cpu_before
        elapsed = time.monotonic() - started
        print(f"agent at interval {args.interval:g} s over {elapsed:.0f} s: "
              f"CPU {100 * cpu / elapsed:.2f}% of a core, RSS {_rss_mib(agent.pid):.1f} MiB (peak {peak:.1f} MiB)")
    finally:
        for process in (agent, daemon):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
