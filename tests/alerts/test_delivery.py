"""Real deliveries on loopback: a webhook receiver (signature checked), retries, a dead
receiver, and an SMTP server receiving Apprise's mailto:// message."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import msgspec
import pytest
import trio
import trio.testing

from monitord.alerts.delivery import ChannelHealth, Target, serve_deliveries
from monitord.alerts.engine import AlertItem, Notification
from monitord.storage.sqlite import open_sqlite_storage
from monitord.storage.transfer import TransferStorage
from tests.alerts.helpers import T0, wall_ms
from tests.alerts.receiver import Receiver, start_receiver

SECRET = "hmac-key-for-tests"


def note(kind: str = "firing") -> Notification:
    return Notification(
        kind=kind,
        rule_id=3,
        rule_name="cpu high",
        rule_kind="metric",
        metric="cpuUsagePercent",
        alerts=[
            AlertItem(server_id=7, server_name="web-7", status="firing", level="critical", value=95.5, starts_at_ms=T0)  # type: ignore[arg-type]
        ],
    )


class Wake:
    """What the evaluator does after queueing: wake the worker."""

    event = trio.Event()

    @classmethod
    def current(cls) -> trio.Event:
        return cls.event

    @classmethod
    def kick(cls) -> None:
        cls.event.set()
        cls.event = trio.Event()


async def queue(storage: TransferStorage, channel_id: int, *notes: Notification) -> None:
    await storage.save_alert_changes(
        [], [], [(channel_id, wall_ms(), msgspec.json.encode(n).decode()) for n in notes], now_ms=wall_ms()
    )
    Wake.kick()


async def run_worker(
    nursery: trio.Nursery, storage: TransferStorage, targets: dict[int, Target], health: ChannelHealth
) -> None:
    Wake.event = trio.Event()
    await nursery.start(serve_deliveries, storage, targets.get, health, Wake.current, wall_ms)


@pytest.fixture
def lazy_clock() -> trio.testing.MockClock:
    """Mock time that jumps only after 0.3 s of real idleness: loopback I/O and the database
    thread answer well within that, so only the waits for retries and deadlines are skipped."""
    return trio.testing.MockClock(autojump_threshold=0.3)


@pytest.fixture
async def storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with open_sqlite_storage(tmp_path / "alerts.db") as sqlite:
        yield sqlite


async def test_webhook_gets_alertmanager_json_with_a_valid_signature(
    nursery: trio.Nursery, storage: TransferStorage
) -> None:
    receiver = await start_receiver(nursery, Receiver())
    targets = {1: Target(1, "ops", "webhook", receiver.url, SECRET, "en")}
    await run_worker(nursery, storage, targets, ChannelHealth())
    await queue(storage, 1, note())
    (got,) = await receiver.wait_for(1)
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-monitord-signature"] == expected
    body = json.loads(got.body)
    assert body["version"] == "4" and body["status"] == "firing"
    (alert,) = body["alerts"]
    assert alert["labels"] == {"alertname": "cpu high", "server": "web-7", "serverId": "7", "severity": "critical"}
    assert alert["annotations"]["value"] == "95.5"
    assert alert["startsAt"].endswith("Z") and alert["endsAt"] == "0001-01-01T00:00:00Z"


async def test_a_receiver_answering_500_gets_retries_until_200(
    nursery: trio.Nursery,
    storage: TransferStorage,
    caplog: pytest.LogCaptureFixture,
    lazy_clock: trio.testing.MockClock,
) -> None:
    receiver = await start_receiver(nursery, Receiver(statuses=[500, 500]))
    health = ChannelHealth()
    await run_worker(nursery, storage, {1: Target(1, "ops", "webhook", receiver.url, None, "en")}, health)
    start = trio.current_time()
    await queue(storage, 1, note())
    await receiver.wait_for(2)
    assert health.last_error == {1: "HTTP 500"}
    await receiver.wait_for(3)
    # retried after 5 s, then 30 s more
    assert trio.current_time() - start >= 35
    with trio.fail_after(5):
        while health.last_error:
            await trio.sleep(0.1)
    events = await storage.alert_events(0, wall_ms() + 1)
    assert [e.to_phase for e in reversed(events)] == ["pending", "pending", "sent"]
    assert "target-body-must-not-leak" not in caplog.text


async def test_a_receiver_that_never_answers_delays_nothing_else(
    nursery: trio.Nursery, storage: TransferStorage, lazy_clock: trio.testing.MockClock
) -> None:
    dead = await start_receiver(nursery, Receiver(hang=True))
    alive = await start_receiver(nursery, Receiver())
    targets = {
        1: Target(1, "dead", "webhook", dead.url, None, "en"),
        2: Target(2, "alive", "webhook", alive.url, None, "en"),
    }
    health = ChannelHealth()
    await run_worker(nursery, storage, targets, health)
    await queue(storage, 1, note())
    await dead.wait_for(1)
    start = trio.current_time()
    await queue(storage, 2, note())
    await alive.wait_for(1)
    assert trio.current_time() - start < 2
    with trio.fail_after(15):
        while 1 not in health.last_error:
            await trio.sleep(0.5)
    assert health.last_error[1] == "timeout"


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


async def test_apprise_mailto_reaches_an_smtp_server(nursery: trio.Nursery, storage: TransferStorage) -> None:
    import asyncio
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd's self-check needs the real port up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    # aiosmtpd runs its own asyncio loop in a thread. Made here, not through asyncio's policy: once
    # trio-asyncio is imported (the PostgreSQL backend), that policy refuses a loop inside trio.
    loop = asyncio.SelectorEventLoop()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port, loop=loop, ready_timeout=15)  # a loaded CI machine
    await trio.to_thread.run_sync(smtp.start)
    try:
        url = f"mailto://127.0.0.1:{port}?from=monitord@example.com&to=ops@example.com&mode=insecure"
        await run_worker(nursery, storage, {1: Target(1, "mail", "apprise", url, None, "zh-CN")}, ChannelHealth())
        await queue(storage, 1, note())
        with trio.fail_after(20):
            while not mailbox.messages:
                await trio.sleep(0.05)
    finally:
        await trio.to_thread.run_sync(smtp.stop)
        loop.close()
    sender, recipients, content = mailbox.messages[0]
    assert (sender, recipients) == ("monitord@example.com", ["ops@example.com"])
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "[告警] cpu high"
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "web-7: cpuUsagePercent 数值 95.5 (critical)" in plain.get_content()
