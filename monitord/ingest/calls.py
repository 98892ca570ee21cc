"""One agent call (`AgentService.Connect`): authenticate, take the hello, ingest batches, ack.

    headers ─ token check (constant time, before any message) ─ session (one per server)
      └ hello → host facts (cache; stored by the writer) → welcome
      └ metrics → validate → writer (live cache at once; buffer → database) → ack {seq}
                                       acks are cumulative: sent once every sample up to seq is committed

Every way a call can end is a status this module chose: nothing raised in here reaches the
agent as a Python repr (STACK trap 6).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence

import trio
from purerpc.grpclib.events import MessageReceived, RequestEnded, RequestReceived
from purerpc.grpclib.status import Status, StatusCode

from monitord import __version__
from monitord.auth.agent_tokens import secret_matches, split_agent_token
from monitord.cache import LiveCache
from monitord.config import Settings
from monitord.grpc_transport import TRANSPORT_ERRORS, CallStream, MalformedMessage, MessageTooLarge, StreamWasReset
from monitord.ingest.sessions import AgentSession, AgentSessions
from monitord.ingest.stats import IngestStats
from monitord.ingest.validation import check_samples, host_facts
from monitord.ingest.writer import AckTracker, SampleWriter
from monitord.models import HostFacts, now_ms
from monitord.proto import monitord_grpc
from monitord.proto import monitord_pb2 as pb
from monitord.servers import ServerRegistry, ServerRegistryBusy
from monitord.storage import StorageError

log = logging.getLogger("monitord.agents")

# The service and method the generated stubs define; anything else is UNIMPLEMENTED.
_SERVICE = monitord_grpc.AgentServiceServicer().service
_CONNECT = "Connect"
_DROP_WARNING_PERIOD_SECONDS = 60.0
# A call that reached agents.call_max_seconds: the agent reconnects at once, maybe elsewhere.
_REBALANCE = Status(StatusCode.UNAVAILABLE, "call ended after its maximum duration; reconnect (to any replica)")


class _EndCall(Exception):
    """End the call with `status`; `reason` names the counter."""

    def __init__(self, reason: str, status: Status) -> None:
        self.reason = reason
        self.status = status


class _PeerGone(Exception):
    """The agent reset the stream: there is no one to send a status to."""


# Every way the agent can be gone mid-call (a named tuple, since `except*` takes no unpacking).
_PEER_GONE: tuple[type[Exception], ...] = (_PeerGone, *TRANSPORT_ERRORS)


class _Throttle:
    """Token bucket on samples per second for one call (the per-agent report cap)."""

    def __init__(self, per_second: float, burst: float) -> None:
        self._rate = per_second
        self._burst = burst
        self._tokens = burst
        self._at = trio.current_time()

    def spend(self, samples: int) -> float:
        """Take `samples` tokens (the balance may go negative); seconds to wait before reading on."""
        now = trio.current_time()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate) - samples
        self._at = now
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


class AgentCalls:
    """Handles every agent call of the daemon; `serve_agents` hands it each new stream.

    Owns the count of open calls (capped by `grpc.max_concurrent_streams`). Samples go to the
    shared `SampleWriter`; sessions are registered in `AgentSessions`, through which the
    server registry ends a call whose token was revoked.
    """

    def __init__(
        self,
        settings: Settings,
        servers: ServerRegistry,
        cache: LiveCache,
        sessions: AgentSessions,
        writer: SampleWriter,
        stats: IngestStats,
    ) -> None:
        self._settings = settings
        self._servers = servers
        self._cache = cache
        self._sessions = sessions
        self._writer = writer
        self._stats = stats
        self._open_calls = 0
        agents = settings.agents
        self._max_future_ms = int(agents.max_future_skew_seconds * 1000)
        # Samples older than raw retention would be deleted before any rollup took them in.
        self._max_age_ms = int(min(agents.max_sample_age_seconds, settings.retention.raw_hours * 3600) * 1000)
        # One second's worth; a bigger message is still read at once, and the reader then pauses
        # for the deficit.
        self._burst = agents.max_samples_per_second
        # When each server last had a drop warning logged (trio time): one a minute at most.
        self._drop_warned_at: dict[int, float] = {}

    @property
    def open_calls(self) -> int:
        return self._open_calls

    async def serve_call(self, stream: CallStream) -> None:
        """Run one call to its end and close it with a status. Raises nothing but Cancelled."""
        stream.expect_message_type(pb.AgentMessage)
        status: Status | None = None
        peer_gone = False
        try:
            try:
                status = await self._call(stream)
            except* _PEER_GONE:
                # The agent reset the call or its connection broke mid-send: nobody to answer.
                peer_gone = True
            except* _EndCall as group:
                status = self._ended(_first_leaf(group))
            except* Exception:
                # A bug, not the agent's doing: the detail goes to the log, never to the client.
                log.exception("agent call failed")
                self._stats.ended_calls["internal"] += 1
                status = Status(StatusCode.INTERNAL, "internal error")
            if status is not None and not peer_gone:
                await stream.finish(status)
        finally:
            stream.release()

    def _ended(self, end: BaseException) -> Status:
        assert isinstance(end, _EndCall)
        self._stats.ended_calls[end.reason] += 1
        return end.status

    async def _call(self, stream: CallStream) -> Status:
        request = await stream.receive_event()
        if not isinstance(request, RequestReceived):
            raise _EndCall("protocol", Status(StatusCode.INTERNAL, "expected request headers"))
        if request.service_name != _SERVICE.name or request.method_name not in _SERVICE.methods:
            return Status(StatusCode.UNIMPLEMENTED, f"no method {request.service_name}/{request.method_name}")
        if self._open_calls >= self._settings.grpc.max_concurrent_streams:
            raise _EndCall(
                "too_many_streams", Status(StatusCode.RESOURCE_EXHAUSTED, "too many agent calls; retry later")
            )
        self._open_calls += 1
        try:
            session = await self._authenticate(request.custom_metadata)
            try:
                # Ended after about call_max_seconds, so agents rebalance over replicas.
                lifetime = self._settings.agents.call_max_seconds * random.uniform(0.8, 1.2)
                session.cancel_scope.deadline = trio.current_time() + lifetime
                with session.cancel_scope:
                    await stream.start_response()
                    return await self._session(stream, session)
                # Only reached when the session was ended from outside (replaced or revoked), or
                # when it reached its lifetime.
                if session.end_status is None:
                    raise _EndCall("rebalance", _REBALANCE)
                raise _EndCall(session.end_reason, session.end_status)
            finally:
                self._sessions.release(session)
        finally:
            self._open_calls -= 1

    async def _authenticate(self, metadata: Sequence[tuple[str, str | bytes]]) -> AgentSession:
        """The session of the server whose token the call carries. Raises _EndCall otherwise.

        The secret is compared in constant time. A server the daemon does not know yet (`server
        add` writes to the database while the daemon runs) is found by the registry.
        """
        unauthenticated = _EndCall(
            "unauthenticated", Status(StatusCode.UNAUTHENTICATED, "missing or invalid agent token")
        )
        values = [value for name, value in metadata if name == "authorization"]
        if len(values) != 1 or not isinstance(values[0], str):
            raise unauthenticated
        scheme, _, token = values[0].partition(" ")
        parsed = split_agent_token(token.strip()) if scheme.lower() == "bearer" else None
        if parsed is None:
            raise unauthenticated
        server_id, secret = parsed
        try:
            token_hash = await self._servers.token_hash(server_id)
        except StorageError as exc:
            log.error("cannot look up server %d for an agent call: %s", server_id, exc)
            raise _EndCall("storage", Status(StatusCode.UNAVAILABLE, "storage unavailable; retry later")) from None
        except ServerRegistryBusy:
            raise _EndCall("storage", Status(StatusCode.UNAVAILABLE, "server registry busy; retry later")) from None
        # No await between the lookup and registering the session: a revocation either happened
        # before (the hash is gone or new) or comes after (and ends the session).
        if not secret_matches(secret, token_hash):
            raise unauthenticated
        return self._sessions.open(server_id)

    async def _receive(self, stream: CallStream) -> pb.AgentMessage | None:
        """The next message, or None when the agent ended its side of the call."""
        while True:
            try:
                event = await stream.receive_event()
            except MalformedMessage:
                raise _EndCall("malformed", Status(StatusCode.INVALID_ARGUMENT, "malformed message")) from None
            if isinstance(event, MessageReceived):
                message: pb.AgentMessage = event.data
                return message
            if isinstance(event, RequestEnded):
                return None
            if isinstance(event, MessageTooLarge):
                raise _EndCall(
                    "message_too_large",
                    Status(StatusCode.RESOURCE_EXHAUSTED, f"message larger than {event.limit} bytes"),
                )
            if isinstance(event, StreamWasReset):
                raise _PeerGone

    async def _session(self, stream: CallStream, session: AgentSession) -> Status:
        server_id = session.server_id
        first = await self._receive(stream)
        if first is None:
            return Status(StatusCode.OK)
        if first.WhichOneof("payload") != "hello":
            raise _EndCall("protocol", Status(StatusCode.FAILED_PRECONDITION, "the first message must be hello"))
        facts = self._hello(server_id, first.hello)
        # Agent-supplied text, cleaned by host_facts (no control characters, bounded).
        log.info("server %d: agent %s connected from host %s", server_id, facts.agent_version, facts.hostname)
        await stream.send_message(
            pb.ServerMessage(
                welcome=pb.Welcome(
                    server_id=server_id,
                    daemon_version=__version__,
                    max_message_bytes=self._settings.grpc.max_message_bytes,
                )
            )
        )
        throttle = _Throttle(self._settings.agents.max_samples_per_second, self._burst)
        last_seq: int | None = None
        acks = AckTracker()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._send_acks, stream, acks)
            try:
                while (message := await self._receive(stream)) is not None:
                    kind = message.WhichOneof("payload")
                    if kind == "hello":
                        self._hello(server_id, message.hello)
                    elif kind == "metrics":
                        samples = message.metrics.samples
                        if not samples:
                            continue
                        last_seq = await self._metrics(server_id, samples, last_seq, acks)
                        # The per-agent cap: reading pauses, gRPC flow control holds the agent.
                        if (pause := throttle.spend(len(samples))) > 0:
                            await trio.sleep(pause)
                    else:
                        raise _EndCall("protocol", Status(StatusCode.INVALID_ARGUMENT, "empty message"))
            finally:
                # The agent ended its side: the sender acks what gets stored, then the call ends OK.
                acks.close()
        return Status(StatusCode.OK)

    def _hello(self, server_id: int, hello: pb.Hello) -> HostFacts:
        """Cache the facts `hello` states, cleaned, and queue them for storage; returns them.

        The cache at once, the database with the writer's next write: a hello never waits on
        (or fails with) the database.
        """
        facts = host_facts(hello)
        self._cache.set_facts(server_id, facts)
        self._writer.note_facts(server_id, facts)
        return facts

    async def _metrics(
        self, server_id: int, samples: Sequence[pb.Sample], last_seq: int | None, acks: AckTracker
    ) -> int | None:
        """Validate one batch and hand what passes to the writer; returns the call's last seq."""
        checked = check_samples(
            samples, last_seq=last_seq, now_ms=now_ms(), max_future_ms=self._max_future_ms, max_age_ms=self._max_age_ms
        )
        if checked.dropped:
            self._stats.dropped_samples.update(checked.dropped)
            now = trio.current_time()
            if now - self._drop_warned_at.get(server_id, -math.inf) >= _DROP_WARNING_PERIOD_SECONDS:
                self._drop_warned_at[server_id] = now
                log.warning(
                    "server %d: dropped %d invalid samples (%s); counted, further drops logged at most once a minute",
                    server_id,
                    sum(checked.dropped.values()),
                    ", ".join(f"{reason}: {count}" for reason, count in sorted(checked.dropped.items())),
                )
        if checked.last_seq is None:
            return None
        if checked.accepted:
            self._stats.accepted_samples += len(checked.accepted)
            await self._writer.submit(server_id, checked.accepted, checked.last_seq, acks)
        else:
            acks.nothing_to_store(checked.last_seq)
        return checked.last_seq

    async def _send_acks(self, stream: CallStream, acks: AckTracker) -> None:
        """Ack the highest seq whose samples are all committed, whenever it grows (acks are
        cumulative, so one ack covers every batch stored meanwhile). Ends once the reader has
        stopped and nothing of the call waits for the database.

        If samples of the call were dropped on overflow, no later ack can be truthful: the call
        is ended (UNAVAILABLE) once the database works again, and the agent re-sends everything
        unacked on its next call. Ending it earlier would only make it re-send into a full buffer.
        """
        sent: int | None = None
        while True:
            if acks.lost:
                await self._writer.wait_until_healthy()
                raise _EndCall(
                    "overflow",
                    Status(StatusCode.UNAVAILABLE, "samples dropped while the database was unavailable; re-send"),
                )
            if acks.stored_seq is not None and acks.stored_seq != sent:
                sent = acks.stored_seq
                await stream.send_message(pb.ServerMessage(ack=pb.Ack(seq=sent)))
                continue  # more may have been stored while sending
            if acks.closed and acks.settled:
                return
            await acks.wait_changed()


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
