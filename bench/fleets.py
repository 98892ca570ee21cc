"""Load generators as child processes, and the measurement window they share with the daemon.

A fleet (bench/ws_fleet.py, bench/agent_fleet.py) prints `ready` once connected, then reports on
the window `T0 T1` it is sent. `measure_window` runs every fleet and opens one window for all
of them and the daemons, so every side-by-side figure comes from the same seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from bench.daemon import REPO, child_env
from bench.procfs import CpuWindow


class Fleet:
    """One load-generating child process (`python -m MODULE ARGS`)."""

    def __init__(self, module: str, *args: object) -> None:
        self.argv = [sys.executable, "-m", module, *map(str, args)]
        self.process: subprocess.Popen[str] | None = None
        self.report: dict[str, Any] = {}

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Fleet:
        self.process = subprocess.Popen(
            self.argv, env=child_env(), cwd=REPO, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        return self

    def wait_ready(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.wait()
            raise RuntimeError(f"{' '.join(self.argv[2:4])} failed before ready (exit {self.process.returncode})")

    def finish(self, t0: float, t1: float) -> dict[str, Any]:
        """Send the window, read the report and wait for the process to end."""
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{t0} {t1}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        self.process.wait(timeout=60)
        if not line:
            raise RuntimeError(f"{' '.join(self.argv[2:4])} ended without a report (exit {self.process.returncode})")
        self.report = json.loads(line)
        return self.report

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def measure_window(
    fleets: Iterable[Fleet], pids: Iterable[int], *, settle: float, seconds: float, rss_cap_bytes: int = 0
) -> CpuWindow:
    """Start `fleets`, wait until all are connected plus `settle` seconds, then read the CPU and
    peak RSS of `pids` and of the fleets over `seconds`; each fleet's `report` covers the same window.

    With `rss_cap_bytes`, the window ends early once one of `pids` grows past it (the machine is
    shared; `window.rss_capped` says so), and the caller is expected to stop that process.
    """
    fleets, pids = list(fleets), list(pids)
    with ExitStack() as cleanup:
        for fleet in fleets:
            cleanup.callback(fleet.kill)
            fleet.start()
        for fleet in fleets:
            fleet.wait_ready()
        time.sleep(settle)
        window = CpuWindow([*pids, *(fleet.pid for fleet in fleets)]).start()
        t0 = time.time()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
            window.sample_rss()
            if rss_cap_bytes and any(window.peak_rss[pid] > rss_cap_bytes for pid in pids):
                window.rss_capped = True
                break
        t1 = time.time()
        window.stop()
        for fleet in fleets:
            fleet.finish(t0, t1)
    return window
