"""Shared fixtures: the real daemon, in-process on port 0, and clients that talk to it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec
import pytest
import trio

from monitord import daemon
from monitord.auth.bootstrap import PASSWORD_FILE
from monitord.config import Settings
from monitord.push.hub import SnapshotHub

# PostgreSQL fixtures (a fresh, empty monitord database per test, or a one-line skip saying why).
pytest_plugins = ["tests.postgres"]


def make_settings(data_dir: Path, **sections: dict[str, object]) -> Settings:
    """Settings for a test daemon: its own data dir, every port 0, overrides per section."""
    raw: dict[str, object] = {
        "data_dir": str(data_dir),
        "http": {"listen": "127.0.0.1:0"},
        "grpc": {"listen": "127.0.0.1:0"},
    }
    for name, values in sections.items():
        base = raw.get(name, {})
        assert isinstance(base, dict)
        raw[name] = {**base, **values}
    return msgspec.convert(raw, Settings)


@dataclass
class RunningDaemon:
    settings: Settings
    endpoints: daemon.Endpoints
    shutdown: trio.Event
    hub: SnapshotHub
    stopped: trio.Event

    async def stop(self, timeout_seconds: float = 10) -> None:
        """Ask for a graceful stop, as SIGTERM does, and wait until the daemon has finished."""
        self.shutdown.set()
        with trio.fail_after(timeout_seconds):
            await self.stopped.wait()

    @property
    def base_url(self) -> str:
        return f"http://{self.endpoints.http}"

    @property
    def admin_password(self) -> str:
        return (Path(self.settings.data_dir) / PASSWORD_FILE).read_text().strip()

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)

    async def login(self, username: str = "admin", password: str | None = None) -> str:
        async with self.client() as client:
            response = await client.post(
                "/api/auth/login", json={"username": username, "password": password or self.admin_password}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


async def start_daemon(
    nursery: trio.Nursery, settings: Settings, hub: SnapshotHub | None = None, **options: Any
) -> RunningDaemon:
    """Start the real daemon in `nursery`; it stops when `shutdown` is set.

    When `nursery` is cancelled (the end of a test) the daemon is stopped the way SIGTERM stops
    it, not cut off mid-shutdown: its own scope is shielded until the graceful stop is over
    (or 10 s have passed). `options` go to `daemon.run` (e.g. `maintenance=` to observe the
    history maintenance).
    """
    shutdown, stopped = trio.Event(), trio.Event()
    hub = hub if hub is not None else SnapshotHub()
    daemon_scope = trio.CancelScope(shield=True)

    async def run(task_status: trio.TaskStatus[daemon.Endpoints]) -> None:
        with daemon_scope:
            try:
                await daemon.run(settings, shutdown=shutdown, hub=hub, task_status=task_status, **options)
            finally:
                stopped.set()

    async def stop_gracefully_when_cancelled() -> None:
        try:
            await stopped.wait()
        finally:
            with trio.CancelScope(shield=True):
                shutdown.set()
                with trio.move_on_after(10):
                    await stopped.wait()
                daemon_scope.cancel()

    nursery.start_soon(stop_gracefully_when_cancelled)
    endpoints = await nursery.start(run)
    return RunningDaemon(settings=settings, endpoints=endpoints, shutdown=shutdown, hub=hub, stopped=stopped)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


class DaemonStarter(Protocol):
    async def __call__(self, settings: Settings, hub: SnapshotHub | None = None, **options: Any) -> RunningDaemon: ...


@pytest.fixture
async def daemons(nursery: trio.Nursery) -> AsyncIterator[DaemonStarter]:
    """Start real daemons for a test; each one still running at the end is stopped gracefully.

    (Leaving them to the end-of-test cancellation would cut hypercorn off mid-shutdown.)
    """
    started: list[RunningDaemon] = []

    async def start(settings: Settings, hub: SnapshotHub | None = None, **options: Any) -> RunningDaemon:
        running = await start_daemon(nursery, settings, hub, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


@pytest.fixture
async def running(settings: Settings, daemons: DaemonStarter) -> RunningDaemon:
    return await daemons(settings)


@pytest.fixture
async def admin_token(running: RunningDaemon) -> str:
    return await running.login()


@pytest.fixture(autouse=True)
def no_error_logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which the daemon logged an ERROR, unless it is marked as expecting one.

    An error a client never sees (a crash inside hypercorn after the response went out, say)
    would otherwise pass unnoticed.
    """
    yield
    if request.node.get_closest_marker("expect_error_logs"):
        return
    errors = [
        f"{record.name}: {record.getMessage()}"
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)  # type: ignore[arg-type]
        if record.levelno >= logging.ERROR
    ]
    assert not errors, "the daemon logged errors:\n" + "\n".join(errors)
