"""One live-feed WebSocket connection after the upgrade: its tasks and how it ends.

    LiveFeed.run                       waits for a close request, then closes or aborts
    └ nursery (one per connection)
      ├ _send_snapshots                slot → socket (plain or shared deflated frame), each send
      │                                under the watchdog's deadline
      ├ _police_inbound                oversize or too frequent client frames → 1008
      ├ _watch_session                 token expiry, periodic re-check → 4401
      └ SendWatchdog.run               a send past its deadline → abort the connection

hypercorn writes to the socket under a cancel shield (STACK trap 3): a cancel scope around a
send cannot stop a send to a client that stopped reading. So a separate watchdog task holds
each send's deadline and, when one passes, aborts the connection, which is what wakes the
stuck send. Without an abort handle (not hypercorn over HTTP/1.1), the kernel's
TCP_USER_TIMEOUT is the only limit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import trio

from monitord.http.hypercorn_ws import Abort, SendFrame
from monitord.push.hub import CLOSE_POLICY_VIOLATION, CLOSE_SESSION_ENDED, CloseRequest, Subscription
from monitord.storage import StorageError

log = logging.getLogger("monitord.push")

# A client message is never needed by the protocol; these bound what a client can make us do.
MAX_INBOUND_MESSAGE_BYTES = 4096  # hypercorn itself closes with 1009 above 64 KiB (serve.py)
INBOUND_BURST_MESSAGES = 10
INBOUND_MESSAGES_PER_SECOND = 1.0
# How long the close frame may take before the connection is aborted instead.
CLOSE_TIMEOUT_SECONDS = 1.0
# Revocations outside this process (`monitord user passwd`) are noticed this often.
SESSION_RECHECK_SECONDS = 60.0


class FeedSocket(Protocol):
    """What LiveFeed needs of quart's websocket object."""

    async def send(self, data: str) -> None: ...

    async def receive(self) -> str | bytes: ...

    async def close(self, code: int, reason: str = "") -> None: ...


class SendWatchdog:
    """Holds the deadline of every send in flight; when one passes, the client counts as stuck."""

    def __init__(self) -> None:
        self._deadlines: list[float] = []
        self._timer = trio.CancelScope()

    @property
    def busy(self) -> bool:
        """True while a send is in flight (it may be stuck inside hypercorn's shield)."""
        return bool(self._deadlines)

    @contextmanager
    def guard(self, timeout_seconds: float) -> Iterator[None]:
        deadline = trio.current_time() + timeout_seconds
        self._deadlines.append(deadline)
        self._timer.deadline = min(self._deadlines)
        try:
            yield
        finally:
            self._deadlines.remove(deadline)
            self._timer.deadline = min(self._deadlines, default=math.inf)

    async def run(self, on_stuck: Callable[[], None]) -> None:
        """Call `on_stuck` once a guarded send overruns its deadline, then return."""
        with self._timer:
            await trio.sleep_forever()
        on_stuck()


class _TokenBucket:
    def __init__(self, burst: int, per_second: float) -> None:
        self._burst = burst
        self._per_second = per_second
        self._tokens = float(burst)
        self._updated = trio.current_time()

    def take(self) -> bool:
        now = trio.current_time()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._per_second)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class LiveFeed:
    """Serves one subscription over one accepted WebSocket until it must close."""

    def __init__(
        self,
        socket: FeedSocket,
        subscription: Subscription,
        *,
        abort: Abort | None,
        send_frame: SendFrame | None,
        send_timeout_seconds: float,
    ) -> None:
        self._socket = socket
        self._subscription = subscription
        self._abort = abort
        self._send_frame = send_frame
        self._send_timeout_seconds = send_timeout_seconds
        self._watchdog = SendWatchdog()
        self._sender_stopped = trio.Event()

    async def run(
        self,
        *,
        session_ends_in_seconds: float,
        session_still_valid: Callable[[], Awaitable[bool]],
    ) -> CloseRequest:
        """Send snapshots until a close is requested; then close with its code, or abort.

        Returns the request that ended the connection. Cancelled (client gone, hypercorn's
        graceful timeout) it still aborts a send in flight, so no task stays stuck behind it.
        """
        subscription = self._subscription
        close_unfinished = False
        async with trio.open_nursery() as nursery:
            try:
                sender = await nursery.start(self._send_snapshots)
                nursery.start_soon(self._police_inbound)
                nursery.start_soon(self._watch_session, session_ends_in_seconds, session_still_valid)
                nursery.start_soon(self._watchdog.run, self._stuck)
                request = await subscription.closing()
                if request.code is not None:
                    sender.cancel()
                    close_unfinished = True
                    # The close frame goes out after the send in flight, if any, has finished:
                    # a send that resumed just before the cancel would otherwise meet a closed
                    # socket.
                    with trio.move_on_after(CLOSE_TIMEOUT_SECONDS), self._watchdog.guard(CLOSE_TIMEOUT_SECONDS):
                        await self._sender_stopped.wait()
                        await self._socket.close(request.code, request.reason)
                        close_unfinished = False
                return request
            finally:
                # Leaving with a send still in flight (or a close frame that never got out, e.g.
                # behind hypercorn's own stuck ping): only an abort frees the tasks stuck in it.
                if close_unfinished or self._watchdog.busy:
                    self._abort_transport()
                nursery.cancel_scope.cancel()

    def _abort_transport(self) -> None:
        if self._abort is not None:
            self._abort()

    def _stuck(self) -> None:
        log.info("cutting off a live-feed client of user %d: it stopped reading", self._subscription.user_id)
        self._subscription.request_close(None, "the client stopped reading")
        self._abort_transport()

    async def _send_snapshots(self, *, task_status: trio.TaskStatus[trio.CancelScope]) -> None:
        try:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                while True:
                    message = (await self._subscription.slot.take()).message
                    # Usually built by the push task already; else compressed here, in a thread,
                    # once for all clients waiting for it.
                    frame = await message.deflated_frame() if self._subscription.deflate else message.frame
                    with self._watchdog.guard(self._send_timeout_seconds):
                        if self._send_frame is not None:
                            await self._send_frame(frame)  # the tick's shared frame
                        else:
                            await self._socket.send(message.payload.decode())
        finally:
            self._sender_stopped.set()

    async def _police_inbound(self) -> None:
        bucket = _TokenBucket(INBOUND_BURST_MESSAGES, INBOUND_MESSAGES_PER_SECOND)
        while True:
            message = await self._socket.receive()
            # quart hands over None for an empty binary frame.
            size = len(message.encode() if isinstance(message, str) else message or b"")
            if size > MAX_INBOUND_MESSAGE_BYTES:
                self._subscription.request_close(CLOSE_POLICY_VIOLATION, "message too big")
                return
            if not bucket.take():
                self._subscription.request_close(CLOSE_POLICY_VIOLATION, "too many messages")
                return

    async def _watch_session(self, ends_in_seconds: float, still_valid: Callable[[], Awaitable[bool]]) -> None:
        expires = trio.current_time() + ends_in_seconds
        while True:
            await trio.sleep_until(min(expires, trio.current_time() + SESSION_RECHECK_SECONDS))
            if trio.current_time() >= expires:
                self._subscription.request_close(CLOSE_SESSION_ENDED, "the session has expired")
                return
            try:
                valid = await still_valid()
            except StorageError as exc:
                log.warning("could not re-check a live-feed session: %s", exc)
                continue
            if not valid:
                self._subscription.request_close(CLOSE_SESSION_ENDED, "the session was revoked")
                return
