"""The daemon's composition root: storage, the live cache and one nursery of components.

run(settings)
└ open_storage                 outlives every task
  └ nursery                    the only long-lived nursery
    ├ watch_signals            first signal → shutdown event
    ├ serve_watchdog           systemd WATCHDOG=1 while the loop makes progress
    ├ SampleWriter.run         the one task that stores agent samples (then acks go out);
                               what is still buffered at the stop is flushed after the nursery
    ├ watch_offline            online → offline after agents.offline_after_seconds
    ├ serve_agents             gRPC servicer for agents
    ├ push_snapshots           one encoded snapshot per tick per visibility set (grant)
    ├ push_status_pages        each watched public status page, encoded once per its interval
    ├ maintain_history         rollups, late samples, retention, vacuum: short batches
                               (PostgreSQL: only on the replica holding the maintenance lock)
    ├ SharedState.run          PostgreSQL: re-reads tags, grants, pages, alerts others changed
    ├ follow_replicas          PostgreSQL: LISTEN to the other daemons on the same database
    ├ alerts.run_evaluator     alert rules against the live cache, once a second
    ├ alerts.run_deliveries    the alert outbox to webhook and Apprise channels
                               (PostgreSQL: both only on the replica holding the maintenance lock)
    └ serve_dashboard          HTTP; on shutdown closes every live feed (1001), stops
                               gracefully, then everything stops
"""

from __future__ import annotations

import fcntl
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import trio

from monitord import __version__
from monitord.alerts.secrets import SecretBox
from monitord.alerts.secrets import load_or_create_key as load_or_create_alert_key
from monitord.alerts.service import AlertService
from monitord.auth.bootstrap import INITIAL_ADMIN, PASSWORD_FILE, ensure_initial_admin
from monitord.auth.jwt_tokens import TokenIssuer, load_or_create_key
from monitord.auth.login_limiter import LoginLimiter
from monitord.auth.sessions import SessionAuthenticator
from monitord.cache import LiveCache
from monitord.config import ListenAddress, Settings
from monitord.errors import StartupError
from monitord.groups import GrantBook
from monitord.history.maintenance import MaintenanceStatus, maintain_history
from monitord.http.app import create_app
from monitord.http.context import AppState
from monitord.http.hosts import TrustedHostMiddleware
from monitord.http.serve import serve_dashboard
from monitord.ingest.calls import AgentCalls
from monitord.ingest.presence import AgentPresence, watch_offline
from monitord.ingest.server import serve_agents
from monitord.ingest.sessions import AgentSessions
from monitord.ingest.stats import IngestStats
from monitord.ingest.writer import SampleWriter
from monitord.push.audiences import Audiences
from monitord.push.hub import SnapshotHub
from monitord.push.task import push_snapshots
from monitord.replicas.follower import ReplicaState, follow_replicas
from monitord.replicas.live import LiveAnnouncer, new_replica_id
from monitord.replicas.shared_state import SharedState
from monitord.sd_notify import notify, serve_watchdog
from monitord.servers import ServerRegistry
from monitord.signals import watch_signals
from monitord.statuspages.access import PageTokens
from monitord.statuspages.feeds import AddressRateLimiter, PublicPages, push_status_pages
from monitord.storage import Storage, open_storage, sqlite_path
from monitord.telemetry import Telemetry

log = logging.getLogger("monitord")


class Endpoints:
    """Where the running daemon listens; reported to whoever started it (tests, systemd).

    Also carries the live cache and the agent ingest counters, so in-process tests can observe
    them.
    """

    def __init__(
        self,
        http: ListenAddress,
        grpc: ListenAddress | None = None,
        *,
        cache: LiveCache | None = None,
        ingest_stats: IngestStats | None = None,
    ) -> None:
        self.http = http
        self.grpc = grpc
        self.cache = cache
        self.ingest_stats = ingest_stats


async def load_cache(storage: Storage) -> LiveCache:
    """Every server with its latest stored metrics."""
    return LiveCache.load(await storage.list_servers(), await storage.latest_samples(), await storage.server_tags())


def _prepare_data_dir(settings: Settings) -> None:
    try:
        settings.data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create data_dir {settings.data_dir}: {exc.strerror or exc}") from None


def _load_jwt_key(settings: Settings) -> bytes:
    try:
        return load_or_create_key(settings.jwt_key_path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StartupError(f"cannot use the JWT key {settings.jwt_key_path}: {reason}") from None


async def _load_alert_key(settings: Settings, storage: Storage, replicated: bool) -> SecretBox:
    """The alert channels' key: data_dir/alerts.key; replicas share the first one's through the
    database (its key file is adopted, so its channels stay readable)."""
    try:
        key = load_or_create_alert_key(settings.data_path)
        if replicated:
            key = await storage.shared_secret("alerts_key", key)
        return SecretBox(key)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StartupError(f"cannot use the alert key {settings.data_path}/alerts.key: {reason}") from None


@contextmanager
def _one_daemon_per_sqlite_file(settings: Settings) -> Iterator[None]:
    """Refuse to start beside another daemon on the same SQLite file (an flock on a file next
    to it, released by the kernel whenever this process ends). PostgreSQL needs none."""
    path = sqlite_path(settings)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".daemon-lock")
    try:
        lock = open(lock_path, "a")  # noqa: SIM115  # held for the daemon's whole life
    except OSError as exc:
        raise StartupError(f"cannot create {lock_path}: {exc.strerror or exc}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StartupError(
                f"another monitord daemon already uses {path}: SQLite serves one daemon "
                '(run several on PostgreSQL, see README "Running several daemons")'
            ) from None
        yield


def _announce_initial_admin(settings: Settings, password: str) -> None:
    # Printed once, straight to the terminal, never through the logger.
    print(
        "\n"
        "  First start: created the admin account.\n"
        f"    username: {INITIAL_ADMIN}\n"
        f"    password: {password}\n"
        f"  The password is also in {settings.data_path / PASSWORD_FILE} (mode 0600).\n",
        file=sys.stderr,
        flush=True,
    )


async def _stop_all_when_done(
    cancel_scope: trio.CancelScope,
    serve: Callable[..., Awaitable[None]],
    *,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run `serve`; when it returns (its graceful stop is over), cancel its siblings."""
    await serve(task_status=task_status)
    cancel_scope.cancel()


async def _close_feeds_after(shutdown: trio.Event, audiences: Audiences, status_pages: PublicPages) -> None:
    """hypercorn's shutdown trigger: once `shutdown` is set, close every live feed with 1001.

    Without this, hypercorn would wait its whole graceful timeout for WebSocket handlers that
    never end by themselves, and clients would see 1006 (STACK trap 5).
    """
    await shutdown.wait()
    audiences.close_all()
    status_pages.close_all()


async def run(
    settings: Settings,
    *,
    shutdown: trio.Event | None = None,
    hub: SnapshotHub | None = None,
    maintenance: MaintenanceStatus | None = None,
    task_status: trio.TaskStatus[Endpoints] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the daemon until `shutdown` is set (or SIGTERM/SIGINT arrives), then stop gracefully.

    `hub` is the WebSocket fan-out and `maintenance` records the history maintenance passes;
    pass them in to observe them (tests), else they are made.
    Reports the bound endpoints once every listener is up. Raises StartupError when a component
    cannot start, StorageError when the database cannot be opened.
    """
    shutdown = shutdown if shutdown is not None else trio.Event()
    hub = hub if hub is not None else SnapshotHub()
    _prepare_data_dir(settings)
    with _one_daemon_per_sqlite_file(settings):
        await _run(settings, shutdown, hub, maintenance, task_status)
    log.info("monitord stopped")


async def _run(
    settings: Settings,
    shutdown: trio.Event,
    hub: SnapshotHub,
    maintenance: MaintenanceStatus | None,
    task_status: trio.TaskStatus[Endpoints],
) -> None:
    key = _load_jwt_key(settings)
    async with open_storage(settings) as storage:
        link = storage.replication()
        if link is not None:
            # Every replica signs and checks sessions with one key: the first one's, kept in the
            # database (its key file is adopted, so sessions survive the switch to replicas).
            key = await storage.shared_secret("jwt_key", key)
        tokens = TokenIssuer(key, settings.auth.token_ttl_seconds)
        replicas = ReplicaState(new_replica_id()) if link is not None else None
        # A password page's token from one replica is valid on every other: one shared key.
        page_tokens = (
            PageTokens(await storage.shared_secret("status_page_token_key", secrets.token_bytes(32)))
            if link is not None
            else PageTokens()
        )
        password = await ensure_initial_admin(storage, settings.data_path)
        if password is not None:
            _announce_initial_admin(settings, password)
        cache = await load_cache(storage)
        telemetry = Telemetry(cache, hub)
        agent_sessions = AgentSessions()
        ingest_stats = IngestStats()
        presence = AgentPresence()
        writer = SampleWriter(
            storage,
            cache,
            presence,
            ingest_stats,
            batch_samples=settings.agents.write_batch_samples,
            delay_seconds=settings.agents.write_delay_seconds,
            buffer_samples=settings.database.buffer_samples,
            retry_max_seconds=settings.database.retry_max_seconds,
            observe_write_seconds=telemetry.db_write_duration.observe,
            announce=LiveAnnouncer(replicas.replica) if replicas is not None else None,
        )
        telemetry.register_ingest(ingest_stats, agent_sessions, writer)
        maintenance = maintenance if maintenance is not None else MaintenanceStatus()
        telemetry.register_maintenance(maintenance)
        servers = ServerRegistry(storage, cache, revoker=agent_sessions)
        alerts = AlertService(
            storage,
            cache,
            await _load_alert_key(settings, storage, replicated=link is not None),
            offline_grace_seconds=settings.agents.offline_after_seconds,
            max_window_seconds=settings.retention.raw_hours * 3600,
            history_days=settings.retention.hour_days,
            # Replicas: one evaluates and delivers, else N replicas send N messages (issue 19).
            leads=(lambda: replicas.holds_maintenance) if replicas is not None else (lambda: True),
        )
        await alerts.load()
        agent_calls = AgentCalls(settings, servers, cache, agent_sessions, writer, ingest_stats)
        state = AppState(
            settings=settings,
            storage=storage,
            cache=cache,
            sessions=SessionAuthenticator(tokens, storage),
            login_limiter=LoginLimiter(
                settings.auth.login_max_failures, settings.auth.login_window_seconds, trio.current_time
            ),
            telemetry=telemetry,
            hub=hub,
            servers=servers,
            writer=writer,
            grants=GrantBook(await storage.list_grants()),
            public_limiter=AddressRateLimiter(
                settings.http.public_request_burst, settings.http.public_requests_per_second
            ),
            alerts=alerts,
            replicas=replicas,
            page_tokens=page_tokens,
        )
        telemetry.register_feeds(state.audiences)
        app = TrustedHostMiddleware(create_app(state), settings.http.allowed_hosts)
        async with trio.open_nursery() as nursery:
            await nursery.start(watch_signals, shutdown, nursery.cancel_scope.cancel)
            await nursery.start(serve_watchdog)
            await nursery.start(writer.run)
            await nursery.start(watch_offline, cache, presence, settings.agents.offline_after_seconds)
            grpc = await nursery.start(serve_agents, settings.grpc, agent_calls)
            state.grpc_bound.address = grpc
            await nursery.start(
                partial(
                    push_snapshots,
                    state.audiences,
                    cache,
                    settings.push.interval_seconds,
                    observe_tick_seconds=telemetry.push_duration.observe,
                )
            )
            if link is not None and replicas is not None:
                shared = SharedState(storage, cache, state.grants, state.audiences, state.status_pages, alerts)
                await nursery.start(shared.run)
                await nursery.start(
                    partial(
                        follow_replicas,
                        link,
                        storage,
                        cache,
                        presence,
                        servers,
                        state.audiences.revoke_user,
                        replicas,
                        offline_after_seconds=settings.agents.offline_after_seconds,
                        retry_max_seconds=settings.database.retry_max_seconds,
                        shared=shared,
                    )
                )
            await nursery.start(
                partial(
                    maintain_history,
                    storage,
                    settings.retention,
                    status=maintenance,
                    may_run=(lambda: replicas.holds_maintenance) if replicas is not None else (lambda: True),
                )
            )
            await nursery.start(
                push_status_pages,
                state.status_pages,
                storage,
                cache,
                state.uptime,
                settings.push.status_page_interval_seconds,
            )
            await nursery.start(alerts.run_evaluator)
            await nursery.start(alerts.run_deliveries)
            http = await nursery.start(
                _stop_all_when_done,
                nursery.cancel_scope,
                partial(
                    serve_dashboard,
                    app,
                    settings.http,
                    shutdown_trigger=partial(_close_feeds_after, shutdown, state.audiences, state.status_pages),
                    compression=settings.push.compression == "shared",
                ),
            )
            log.info("monitord %s ready: %d servers", __version__, len(cache))
            notify("READY=1", f"STATUS=serving {len(cache)} servers; dashboard on http://{http}")
            task_status.started(Endpoints(http=http, grpc=grpc, cache=cache, ingest_stats=ingest_stats))
            await shutdown.wait()
            notify("STOPPING=1", "STATUS=stopping")
        # Every listener is closed and every task has ended: nothing adds to the buffer now.
        await _flush_on_stop(writer, settings.database.stop_flush_seconds)


async def _flush_on_stop(writer: SampleWriter, timeout_seconds: float) -> None:
    """Store what is still buffered, for at most `timeout_seconds`. Those samples were never
    acked, so whatever does not make it is re-sent by the agents after the restart."""
    if not writer.buffered_samples:
        return
    buffered = writer.buffered_samples
    with trio.move_on_after(timeout_seconds):
        if await writer.flush():
            log.info("stored the %d buffered samples before stopping", buffered)
            return
    log.warning(
        "stopping with %d buffered samples not stored (%s); agents re-send them when the daemon is back",
        writer.buffered_samples,
        writer.reason or f"no room within {timeout_seconds:g} s",
    )
