"""py-spy on the daemon during a measurement, summarized as the functions holding the most samples."""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"


def available() -> bool:
    return PY_SPY.exists() or shutil.which("py-spy") is not None


class Recording:
    """`py-spy record` of one process, in collapsed-stack form, from `start()` until `stop()`."""

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Recording:
        command = str(PY_SPY if PY_SPY.exists() else shutil.which("py-spy"))
        self._process = subprocess.Popen(
            [
                command,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                "100",
                "--format",
                "raw",
                "--nonblocking",
                "--threads",
                "-o",
                str(self.output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> None:
        """End the recording; py-spy writes its file on SIGINT."""
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        self._process.wait(timeout=60)


def summarize(collapsed: Path, top: int = 12) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(samples, the `top` functions by own time, the `top` monitord/hypercorn/wsproto/h11 frames by
    inclusive time), shares of all samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [frame for frame in stack.split(";") if not frame.startswith(("process ", "thread "))]
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            if any(package in frame for package in ("monitord/", "hypercorn/", "wsproto/", "h11/", "quart")):
                inclusive[frame] += count

    def shares(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(frame, count / total) for frame, count in counter.most_common(top)] if total else []

    return total, shares(own), shares(inclusive)
