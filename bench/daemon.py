"""The daemon under test as a real process: start, wait for ready, log in, read /proc, stop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.fixtures import ADMIN, ADMIN_PASSWORD
from bench.procfs import rss_bytes

REPO = Path(__file__).resolve().parent.parent
# The real daemon, and the naive design it replaced (bench/variants.py).
MONITORD = ["-m", "monitord"]
PER_CLIENT_ENCODE = ["-m", "bench.variants", "per-client-encode"]
CHURN = ["-m", "bench.variants", "churn"]


def child_env() -> dict[str, str]:
    """The environment of every process the bench starts: the repo importable, no warnings noise."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONWARNINGS", None)
    return env


class Daemon:
    """`python -m monitord --config FILE` (or a variant's module) with its log in a file.

    `start()` returns once the daemon logged ` ready: `; `startup_seconds` is the time from spawn
    to that line. `stop()` sends SIGTERM and waits.
    """

    def __init__(self, config: Path, *, module: list[str] = MONITORD) -> None:
        self.config = config
        self.module = module
        self.log_path = config.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self.http = ""
        self.grpc = ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 120) -> Daemon:
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.module, "--config", str(self.config)],
                env=child_env(),
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        while " ready: " not in (text := self.log_path.read_text(errors="replace")):
            if self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited ({self.process.returncode}):\n{text}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the daemon was not ready after {timeout} s:\n{text}")
            time.sleep(0.02)
        self.startup_seconds = time.monotonic() - started
        http = re.search(r"dashboard and API on http://([\d.]+:\d+)", text)
        grpc = re.search(r"agents \(gRPC\) on ([\d.]+:\d+)", text)
        assert http and grpc, text
        self.http, self.grpc = http[1], grpc[1]
        return self

    def login(self) -> str:
        """A session token (JWT) of the bench admin."""
        request = urllib.request.Request(
            f"http://{self.http}/api/auth/login",
            method="POST",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"username": ADMIN, "password": ADMIN_PASSWORD}).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.load(response)["token"])

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
