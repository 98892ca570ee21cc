"""Shared fixtures: the real daemon, in-process on port 0, and clients that talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
import trio

from monitord import daemon
from monitord.auth.bootstrap import PASSWORD_FILE
from monitord.config import Settings

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


async def start_daemon(nursery: trio.Nursery, settings: Settings) -> RunningDaemon:
    """Start the real daemon in `nursery`; it stops when `shutdown` is set or the nursery ends."""
    shutdown = trio.Event()
    endpoints = await nursery.start(lambda task_status: daemon.run(settings, shutdown=shutdown, task_status=task_status))
    return RunningDaemon(settings=settings, endpoints=endpoints, shutdown=shutdown)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def running(settings: Settings, nursery: trio.Nursery) -> AsyncIterator[RunningDaemon]:
    running = await start_daemon(nursery, settings)
    yield running
    running.shutdown.set()


@pytest.fixture
async def admin_token(running: RunningDaemon) -> str:
    return await running.login()
