"""What the HTTP handlers share: the daemon's parts, reached through the running app.

The agent (gRPC) side is seen through narrow protocols that the composition root
(monitord/daemon.py) fills: the HTTP side never imports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import cast

from quart import current_app
from quart_trio import QuartTrio

from monitord.auth.login_limiter import LoginLimiter
from monitord.auth.sessions import SessionAuthenticator
from monitord.cache import LiveCache
from monitord.config import Settings
from monitord.health import DatabaseHealth, ReplicaHealth
from monitord.push.hub import SnapshotHub
from monitord.servers import ServerRegistry
from monitord.storage import Storage
from monitord.telemetry import Telemetry


@dataclass(frozen=True, kw_only=True)
class AppState:
    settings: Settings
    storage: Storage
    cache: LiveCache
    sessions: SessionAuthenticator
    login_limiter: LoginLimiter
    telemetry: Telemetry
    hub: SnapshotHub  # the live WebSocket feeds; routes revoke sessions through it
    # Changes servers in the database, the cache and (through a revoker) the live agent calls.
    servers: ServerRegistry
    # The agent sample writer, whose state /api/health reports; None when the app runs alone.
    writer: DatabaseHealth | None = None
    # The listener to the other replicas (PostgreSQL); None on SQLite or when the app runs alone.
    replicas: ReplicaHealth | None = None
    started_at: float = field(default_factory=time.monotonic)


class MonitordApp(QuartTrio):
    """The quart-trio app carrying the daemon's parts (no nursery for others to spawn into)."""

    state: AppState


def app_state() -> AppState:
    return cast(MonitordApp, current_app).state
