"""Deliveries: the outbox worker, and the two kinds of channel (webhook, Apprise).

Each due message is sent in a task of its own with a deadline, so a slow or dead channel
delays nothing but itself; evaluation never waits for any of this (it only writes the outbox).
A failed attempt is retried after 5, 30 and 120 s, then the message is marked failed, with the
error kept. The error kept or shown is a class ("HTTP 500", "timeout", "connection refused"),
never a target's response body.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx
import msgspec
import trio

from monitord.alerts.engine import Notification
from monitord.alerts.messages import text_message, webhook_body
from monitord.storage import Storage, StorageError
from monitord.storage.base import AlertDelivery, AlertDeliveryOutcome, AlertEventRow

log = logging.getLogger("monitord.alerts")

RETRY_SECONDS = (5.0, 30.0, 120.0)
SEND_TIMEOUT_SECONDS = 10.0
BATCH = 200
IDLE_SECONDS = 60.0
SIGNATURE_HEADER = "X-Monitord-Signature"

# Apprise logs its plugins' failures (with details of the target) at ERROR; what monitord logs
# about a delivery is the error class only, below.
logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)


@dataclass(frozen=True)
class Target:
    """A channel with its secrets in the clear: only ever in memory."""

    id: int
    name: str
    kind: str
    url: str
    secret: str | None
    language: str


class DeliveryError(Exception):
    """A delivery failed; the message is the error class, safe to show and log."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _send_webhook(target: Target, note: Notification) -> None:
    body = webhook_body(note, target.name, target.language)
    headers = {"Content-Type": "application/json", "User-Agent": "monitord-alerts"}
    if target.secret:
        headers[SIGNATURE_HEADER] = signature(target.secret, body)
    try:
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.post(target.url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryError("timeout") from None
    except httpx.ConnectError:
        raise DeliveryError("connection refused or unreachable") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"HTTP transport error ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}")


def _notify_apprise(url: str, title: str, body: str) -> bool:
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        return False
    return bool(sender.notify(body=body, title=title))


async def _send_apprise(target: Target, note: Notification) -> None:
    title, body = text_message(note, target.language)
    # Apprise is synchronous: a worker thread, abandoned when the deadline passes, so a hung
    # target ties up one thread, never the event loop.
    with trio.move_on_after(SEND_TIMEOUT_SECONDS) as scope:
        sent = await trio.to_thread.run_sync(_notify_apprise, target.url, title, body, abandon_on_cancel=True)
    if scope.cancelled_caught:
        raise DeliveryError("timeout")
    if not sent:
        raise DeliveryError(f"the {target.url.partition(':')[0]} service did not accept the message")


async def send(target: Target, note: Notification) -> None:
    """Send `note` to `target` once; raises DeliveryError with the error class."""
    with trio.fail_after(SEND_TIMEOUT_SECONDS + 1):
        if target.kind == "webhook":
            await _send_webhook(target, note)
        else:
            await _send_apprise(target, note)


class ChannelHealth:
    """Whether each channel's last delivery failed, and with which error class."""

    def __init__(self) -> None:
        self.last_error: dict[int, str] = {}

    def record(self, channel_id: int, error: str | None) -> None:
        if error is None:
            self.last_error.pop(channel_id, None)
        else:
            self.last_error[channel_id] = error

    def restore(self, outcomes: Iterable[AlertDeliveryOutcome]) -> None:
        """Each channel's state as its latest attempt in the outbox left it (at start, so a
        failing channel still shows as failing after a restart)."""
        latest: dict[int, tuple[int, str]] = {}
        for outcome in outcomes:
            # A pending row waits for a retry scheduled RETRY_SECONDS after its last attempt;
            # a finished row's due_ms is the moment of its last attempt.
            at_ms = outcome.due_ms
            if outcome.status == "pending":
                at_ms -= int(RETRY_SECONDS[min(outcome.attempts, len(RETRY_SECONDS)) - 1] * 1000)
            if outcome.channel_id not in latest or at_ms >= latest[outcome.channel_id][0]:
                latest[outcome.channel_id] = (at_ms, outcome.error)
        for channel_id, (_at_ms, error) in latest.items():
            self.record(channel_id, error or None)


async def serve_deliveries(
    storage: Storage,
    targets: Callable[[int], Target | None],
    health: ChannelHealth,
    wake: Callable[[], trio.Event],
    clock: Callable[[], int],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Send what the outbox holds as it falls due, until cancelled.

    `wake()` gives the event the evaluator sets when it queues messages. Deliveries of the
    outbox run in this task's own nursery, one task each.
    """
    in_flight: set[int] = set()
    async with trio.open_nursery() as nursery:
        task_status.started()
        while True:
            event = wake()
            try:
                due = await storage.due_alert_deliveries(clock(), BATCH)
            except StorageError as exc:  # the database may be away: try again soon
                log.warning("alert outbox unavailable: %s", exc)
                due = []
            for delivery in due:
                if delivery.id not in in_flight:
                    in_flight.add(delivery.id)
                    nursery.start_soon(_attempt, storage, targets, health, clock, delivery, in_flight)
            # Until the next retry falls due, or the evaluator queues more (at most a minute,
            # so a database hiccup above is retried).
            wait = IDLE_SECONDS
            try:
                next_due = await storage.next_alert_delivery_ms()
            except StorageError:
                next_due = None
            if next_due is not None:
                wait = min(wait, max(0.5, (next_due - clock()) / 1000))
            with trio.move_on_after(wait):
                await event.wait()


async def _attempt(
    storage: Storage,
    targets: Callable[[int], Target | None],
    health: ChannelHealth,
    clock: Callable[[], int],
    delivery: AlertDelivery,
    in_flight: set[int],
) -> None:
    note = msgspec.json.decode(delivery.payload, type=Notification)
    target = targets(delivery.channel_id)
    error: str | None = None
    try:
        if target is None:
            error = "the channel was deleted"
        else:
            await send(target, note)
    except DeliveryError as exc:
        error = str(exc)
    except trio.TooSlowError:
        error = "timeout"
    attempts = delivery.attempts + 1
    now = clock()
    if error is None:
        status, due_ms = "sent", now
    elif attempts <= len(RETRY_SECONDS) and target is not None:
        status, due_ms = "pending", now + int(RETRY_SECONDS[attempts - 1] * 1000)
    else:
        status, due_ms = "failed", now
    if target is not None:
        health.record(target.id, error)
    if error is not None:
        log.warning(
            "alert delivery %d to channel %d failed (attempt %d, %s): %s",
            delivery.id,
            delivery.channel_id,
            attempts,
            "will retry" if status == "pending" else "given up",
            error,
        )
    server_id = note.alerts[0].server_id if len(note.alerts) == 1 else 0
    event = AlertEventRow(
        time_ms=now,
        kind="delivery",
        rule_id=note.rule_id,
        server_id=server_id,
        from_phase=note.kind,
        to_phase=status,
        level=None,
        value=None,
        detail=f"channel {delivery.channel_id}" + (f": {error}" if error else ""),
    )
    try:
        await storage.finish_alert_delivery(
            delivery.id, status=status, attempts=attempts, due_ms=due_ms, error=error or "", event=event
        )
    except StorageError as exc:  # retried from the outbox once the database is back
        log.warning("cannot record alert delivery %d: %s", delivery.id, exc)
    finally:
        in_flight.discard(delivery.id)
