"""The agent's two loops: collect every interval, ship to the daemon (reconnecting as needed)."""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import Callable
from typing import NoReturn

import trio
from purerpc.grpclib.events import MessageReceived, ResponseEnded
from purerpc.grpclib.status import StatusCode

from monitord.agent.buffer import SampleBuffer
from monitord.agent.collector import MIN_CPU_WINDOW_SECONDS, Collector, host_facts
from monitord.agent.config import AgentSettings, client_tls_context, read_token
from monitord.grpc_transport import (
    TRANSPORT_ERRORS,
    CallEnded,
    CallStream,
    MessageTooLarge,
    StreamWasReset,
    bearer_metadata,
    open_channel,
)
from monitord.models import now_ms
from monitord.proto import monitord_grpc
from monitord.proto import monitord_pb2 as pb
from monitord.tomlconfig import ConfigError

log = logging.getLogger("monitord.agent")

# Samples per message: ~200 bytes each on the wire, far below the daemon's 1 MiB default; the
# welcome's max_message_bytes lowers it further if need be.
MAX_BATCH_SAMPLES = 500
_WIRE_BYTES_PER_SAMPLE_BOUND = 400
_FIRST_BACKOFF_SECONDS = 1.0


class _Rejected(Exception):
    """The daemon does not accept this agent's token (UNAUTHENTICATED); the message is its own."""


# The daemon answers hello at once; a call that stays silent longer is abandoned.
WELCOME_TIMEOUT_SECONDS = 30.0
# A call that ended, stalled or lost its connection: retried after a backoff.
_CALL_FAILURES: tuple[type[Exception], ...] = (CallEnded, trio.TooSlowError, *TRANSPORT_ERRORS)


class Agent:
    """One agent: samples this host into a bounded buffer and streams the buffer to the daemon.

    Owns the buffer and the collector. `run` runs until cancelled. The attributes below are the
    agent's observable state (logs, tests).
    """

    def __init__(
        self,
        settings: AgentSettings,
        *,
        collector: Collector | None = None,
        wall_clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.buffer = SampleBuffer(settings.buffer_samples)
        self._collector = collector if collector is not None else Collector()
        # Sample timestamps come from here (tests tie it to trio's mock clock).
        self._wall_clock_ms = wall_clock_ms
        # Held by the collection thread from start to return, even once abandoned (see
        # _collect_once).
        self._collecting = trio.CapacityLimiter(1)
        self._tls: ssl.SSLContext | None = client_tls_context(settings)
        self.server_id: int | None = None
        # Which of the daemon addresses (settings.servers) the next attempt goes to.
        self.address_index = 0
        self.connected = False
        self.connections = 0
        self.rejections = 0
        # Ticks skipped because a collection was still running: since start, and in a row.
        self.skipped_collections = 0
        self._skipped_in_a_row = 0
        self.failed_collections = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Collect and ship until cancelled. Never raises for a daemon that is away or refuses."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._collect_loop)
            nursery.start_soon(self._ship_loop)
            task_status.started()
        raise AssertionError("unreachable: both loops run forever")

    # --- collecting --------------------------------------------------------------------------
    async def _collect_loop(self) -> NoReturn:
        interval = self.settings.interval_seconds
        next_at = trio.current_time()
        # The first reading waits out its CPU window on purpose (Collector): not a hang, even at
        # the shortest interval.
        grace = MIN_CPU_WINDOW_SECONDS
        while True:
            now = trio.current_time()
            if now - next_at >= interval:  # woke up late (a suspended host): resume from now, don't burst
                next_at = now
            due = next_at + interval
            # A collection still running when the next one is due is abandoned to its thread
            # (threads cannot be killed); that thread keeps the limiter until it returns.
            with trio.move_on_at(due + grace):
                await self._collect_once()
            grace = 0.0
            next_at = due
            await trio.sleep_until(next_at)

    async def _collect_once(self) -> None:
        # At most one collection thread at a time, abandoned or not: while one hangs (a stat on
        # a dead NFS mount), every tick is skipped instead of piling up threads.
        if self._collecting.borrowed_tokens:
            self._skip_collection()
            return
        timestamp_ms = self._wall_clock_ms()
        try:
            # psutil calls are blocking syscalls; a thread keeps the stream (acks, signals) live.
            sample = await trio.to_thread.run_sync(
                self._collector.collect, timestamp_ms, abandon_on_cancel=True, limiter=self._collecting
            )
        except Exception:
            # A host that stops answering one question must not stop the agent: skip this tick,
            # say why once, and keep trying.
            if not self.failed_collections:
                log.exception("collecting a sample failed; skipping it (logged once until it works again)")
            self.failed_collections += 1
            return
        if self.failed_collections:
            log.info("collecting works again after %d failed attempts", self.failed_collections)
            self.failed_collections = 0
        if self._skipped_in_a_row:
            log.info("collecting works again after %d skipped collections", self._skipped_in_a_row)
            self._skipped_in_a_row = 0
        self.buffer.add(sample)

    def _skip_collection(self) -> None:
        self.skipped_collections += 1
        self._skipped_in_a_row += 1
        if self._skipped_in_a_row == 1:
            log.warning(
                "a collection has run longer than interval_seconds = %g (a hung filesystem?); skipping "
                "collections until it returns (%d skipped since start)",
                self.settings.interval_seconds,
                self.skipped_collections,
            )

    # --- shipping ----------------------------------------------------------------------------
    async def _ship_loop(self) -> NoReturn:
        failures = 0  # consecutive failed attempts since the last accepted call
        while True:
            problem: BaseException | None = None
            rejected: _Rejected | None = None
            try:
                await self._connect_and_stream()
            except* _Rejected as group:
                leaf = _first(group)
                assert isinstance(leaf, _Rejected)
                rejected = leaf
            except* ConfigError as group:  # the token file went missing or bad meanwhile
                problem = _first(group)
            except* _CALL_FAILURES as group:
                problem = _first(group)
            if self.connected:  # that call had been accepted: a new outage starts now
                self.connected = False
                failures = 0
                self.address_index = 0  # back to the preferred daemon first
            elif (
                rejected is None
                and not isinstance(problem, ConfigError)
                and self.address_index + 1 < len(self.settings.servers)
            ):
                # This daemon is away: try the next one at once; backoff once all have failed.
                self._log_failure(failures, problem, 0.0)
                self.address_index += 1
                continue
            else:
                self.address_index = 0
            if rejected is not None:
                if self.rejections == 0:
                    log.error(
                        "the daemon rejected this agent's token (%s): check token_file/token (a rotated "
                        "or deleted server?); retrying every %g s",
                        rejected,
                        self.settings.rejected_retry_seconds,
                    )
                self.rejections += 1
                delay = self.settings.rejected_retry_seconds
            elif isinstance(problem, ConfigError):
                delay = self.settings.rejected_retry_seconds
                log.error("%s; retrying in %g s", problem, delay)
            else:
                delay = self._backoff(failures)
                self._log_failure(failures, problem, delay)
                failures += 1
            await trio.sleep(delay)

    @property
    def _server(self) -> str:
        return self.settings.servers[self.address_index]

    def _backoff(self, failures: int) -> float:
        # Full jitter (AWS architecture blog): spreads a fleet reconnecting after a daemon restart.
        cap = min(self.settings.reconnect_max_seconds, _FIRST_BACKOFF_SECONDS * 2 ** min(failures, 30))
        return random.uniform(0, cap)

    def _log_failure(self, failures: int, exc: BaseException | None, delay: float) -> None:
        reason = _describe(exc) if exc is not None else "the call ended"
        if failures == 0:
            log.warning(
                "daemon %s unavailable (%s); buffering (%d samples held, room for %d), retrying with backoff",
                self._server,
                reason,
                len(self.buffer),
                self.buffer.capacity,
            )
        else:
            log.debug("daemon %s still unavailable (%s); next attempt in %.1f s", self._server, reason, delay)

    async def _connect_and_stream(self) -> None:
        token = read_token(self.settings)
        address = self.settings.addresses[self.address_index]
        async with open_channel(
            address.host,
            address.port,
            ssl_context=self._tls,
            tcp_user_timeout_seconds=self.settings.tcp_user_timeout_seconds,
            connect_timeout_seconds=self.settings.connect_timeout_seconds,
        ) as channel:
            stub = monitord_grpc.AgentServiceStub(channel)  # type: ignore[no-untyped-call]  # generated, untyped
            stream: CallStream = await stub.Connect(metadata=bearer_metadata(token))
            try:
                await self._stream(stream)
            finally:
                stream.release()

    async def _stream(self, stream: CallStream) -> None:
        await stream.send_message(pb.AgentMessage(hello=await trio.to_thread.run_sync(host_facts)))
        with trio.fail_after(WELCOME_TIMEOUT_SECONDS):
            welcome = await _receive(stream)
        if welcome.WhichOneof("payload") != "welcome":
            raise CallEnded(None)
        limit = min(MAX_BATCH_SAMPLES, max(1, welcome.welcome.max_message_bytes // _WIRE_BYTES_PER_SAMPLE_BOUND))
        self.server_id = welcome.welcome.server_id
        self.connected = True
        self.connections += 1
        if self.rejections:
            log.info("the daemon accepts this agent's token again")
            self.rejections = 0
        log.info(
            "connected to %s as server %d; %d samples to send",
            self._server,
            self.server_id,
            len(self.buffer),
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._send_samples, stream, limit)
            while True:
                reply = await _receive(stream)
                if reply.WhichOneof("payload") == "ack":
                    self.buffer.acked(reply.ack.seq)

    async def _send_samples(self, stream: CallStream, limit: int) -> NoReturn:
        # Everything unacked is (re)sent on a new call, with its original timestamp.
        sent = 0
        while True:
            batch = self.buffer.after(sent, limit)
            if not batch:
                await self.buffer.wait_for_more()
                continue
            await stream.send_message(pb.AgentMessage(metrics=pb.MetricsBatch(samples=batch)))
            sent = batch[-1].seq


async def _receive(stream: CallStream) -> pb.ServerMessage:
    """The daemon's next message. Raises _Rejected on UNAUTHENTICATED, CallEnded when the call
    ended otherwise."""
    while True:
        event = await stream.receive_event()
        if isinstance(event, MessageReceived):
            message: pb.ServerMessage = event.data
            return message
        if isinstance(event, ResponseEnded):
            if event.status.status_code == StatusCode.UNAUTHENTICATED:
                raise _Rejected(event.status.status_message or "UNAUTHENTICATED")
            raise CallEnded(event.status)
        if isinstance(event, (StreamWasReset, MessageTooLarge)):
            raise CallEnded(None)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, trio.TooSlowError):
        return "no welcome in time"
    return str(exc) or type(exc).__name__
