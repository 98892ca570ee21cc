"""Resource readings straight from /proc: CPU seconds and resident memory of a process."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (VmRSS), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class CpuWindow:
    """CPU seconds and peak RSS of some processes over a wall-clock window.

    `start()` opens the window, `sample_rss()` can be called while it is open, `stop()` closes it;
    then `cpu[pid]`, `share(pid)` (of one core) and `peak_rss[pid]` hold the readings.
    """

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)
        self.cpu: dict[int, float] = {}
        self.peak_rss: dict[int, int] = {pid: 0 for pid in self.pids}
        self.wall = 0.0
        self.rss_capped = False
        self._started = 0.0

    def start(self) -> CpuWindow:
        self.cpu = {pid: -cpu_seconds(pid) for pid in self.pids}
        self._started = time.monotonic()
        return self

    def sample_rss(self) -> None:
        for pid in self.pids:
            self.peak_rss[pid] = max(self.peak_rss[pid], rss_bytes(pid))

    def stop(self) -> CpuWindow:
        self.sample_rss()
        self.wall = time.monotonic() - self._started
        for pid in self.pids:
            self.cpu[pid] += cpu_seconds(pid)
        return self

    def share(self, pid: int) -> float:
        """CPU used by `pid` in the window, as a share of one core."""
        return self.cpu[pid] / self.wall if self.wall else 0.0


def machine_info() -> dict[str, str]:
    """What RESULTS.md says about the machine the figures come from."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    return {
        "cpu": f"{os.cpu_count()} x {model}",
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load average at start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }
