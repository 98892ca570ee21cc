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

from monitord.alerts.service import AlertService
from monitord.auth.login_limiter import LoginLimiter
from monitord.auth.sessions import SessionAuthenticator
from monitord.cache import LiveCache
from monitord.config import Settings
from monitord.groups import GrantBook
from monitord.health import DatabaseHealth, ReplicaHealth
from monitord.push.audiences import Audiences
from monitord.push.hub import SnapshotHub
from monitord.servers import ServerRegistry
from monitord.statuspages.access import PageTokens
from monitord.statuspages.feeds import AddressRateLimiter, PublicPages
from monitord.statuspages.uptime import UptimeBook
from monitord.storage import Storage
from monitord.telemetry import Telemetry
from monitord.tomlconfig import ListenAddress


@dataclass
class BoundAddress:
    """A listener's address once bound (port 0 in the config means "any"); set by the root."""

    address: ListenAddress | None = None


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
    # Alerting (issue 15); None when the app runs without it.
    alerts: AlertService | None = None
    # The listener to the other replicas (PostgreSQL); None on SQLite or when the app runs alone.
    replicas: ReplicaHealth | None = None
    started_at: float = field(default_factory=time.monotonic)
    # The agents' (gRPC) listener, for the install command the dashboard shows.
    grpc_bound: BoundAddress = field(default_factory=BoundAddress)
    # Who sees which servers (issue 16); the daemon loads it from the database.
    grants: GrantBook = field(default_factory=GrantBook)
    # One hub per distinct visibility set around `hub`, the unrestricted one (push/audiences.py).
    audiences: Audiences = field(init=False)
    # Public status pages: their live feeds, page tokens, uptime bars and per-address limit.
    status_pages: PublicPages = field(default_factory=PublicPages)
    page_tokens: PageTokens = field(default_factory=PageTokens)
    public_limiter: AddressRateLimiter = field(default_factory=AddressRateLimiter)
    uptime: UptimeBook = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "audiences", Audiences(self.hub))
        object.__setattr__(self, "uptime", UptimeBook(self.storage))


class MonitordApp(QuartTrio):
    """The quart-trio app carrying the daemon's parts (no nursery for others to spawn into)."""

    state: AppState


def app_state() -> AppState:
    return cast(MonitordApp, current_app).state
