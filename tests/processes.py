"""Helpers for tests that run monitord as a real process (signals, exit codes, stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

REPO = Path(__file__).resolve().parent.parent


def monitord_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitord", *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env.pop("PYTHONWARNINGS", None)
    return env


def run_monitord(
    *args: str, stdin: str = "", cwd: Path | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `python -m monitord ARGS` to completion and capture its output."""
    return subprocess.run(
        monitord_command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=child_env(),
        timeout=timeout,
        check=False,
    )


class DaemonProcess:
    """A `python -m monitord` child whose stderr is collected line by line."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._buffer = b""

    async def wait_for_line(self, needle: str, timeout: float = 20) -> str:
        """The first stderr line containing `needle`; fails after `timeout` seconds."""
        assert self.process.stderr is not None
        with trio.fail_after(timeout):
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                chunk = await self.process.stderr.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"monitord exited before printing {needle!r}:\n" + "\n".join(self.lines))
                self._buffer += chunk
                *complete, self._buffer = self._buffer.split(b"\n")
                self.lines.extend(line.decode(errors="replace") for line in complete)

    async def read_rest(self) -> str:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.receive_some(65536):
            self._buffer += chunk
        self.lines.extend(line.decode(errors="replace") for line in self._buffer.split(b"\n") if line)
        self._buffer = b""
        return "\n".join(self.lines)


@asynccontextmanager
async def daemon_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, command: list[str] | None = None
) -> AsyncIterator[DaemonProcess]:
    """Start `python -m monitord ARGS` (or `command` + ARGS), with extra `env` on top.

    The process is killed on exit if the test left it running.
    """
    process = await trio.lowlevel.open_process(
        (command or monitord_command()) + list(args),
        cwd=cwd,
        env={**child_env(), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield DaemonProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
        if process.stderr is not None:
            await process.stderr.aclose()
