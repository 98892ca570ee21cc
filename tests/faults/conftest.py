"""Helpers for the fault tests: agent calls that record what was acked, health polling.

These tests run on the real clock against real databases and processes: the point is how the
daemon behaves while something outside it fails. They wait with deadlines, never bare sleeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio
from purerpc.grpclib.status import Status

from monitord.cache import LiveCache
from monitord.config import ListenAddress
from monitord.models import datetime_to_ms, now_ms
from monitord.wire import ServerStatus
from tests.agents.conftest import HELLO, RawCall, agent_call, metrics, sample


class RecordingAgent:
    """One agent call driven by hand: sends numbered samples, records the acks it gets.

    Sample `seq` is stamped `base_ms + seq * 10`, so every sample has its own time and the test
    knows which times an ack covers.
    """

    def __init__(self, call: RawCall, base_ms: int) -> None:
        self.call = call
        self.base_ms = base_ms
        self.acked = 0
        self.sent = 0
        self.status: Status | None = None  # how the call ended, once it has
        self._progress = trio.Event()

    def time_of(self, seq: int) -> int:
        return self.base_ms + seq * 10

    async def send(self, first: int, last: int) -> None:
        """Send samples first..last in one message."""
        await self.call.send(metrics(*(sample(seq, self.time_of(seq)) for seq in range(first, last + 1))))
        self.sent = last

    async def read_replies(self) -> None:
        """Record acks until the call ends."""
        while (reply := await self.call.receive()) is not None:
            if reply.WhichOneof("payload") == "ack":
                assert reply.ack.seq >= self.acked, "acks are cumulative and never go back"
                self.acked = reply.ack.seq
            self._wake()
        self.status = self.call.stream.end_stream_event.status
        self._wake()

    def _wake(self) -> None:
        self._progress.set()
        self._progress = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await self._progress.wait()


@asynccontextmanager
async def recording_agent(
    address: ListenAddress, token: str, base_ms: int | None = None
) -> AsyncIterator[RecordingAgent]:
    """A `RecordingAgent` whose call has been welcomed; its replies are read in the background."""
    async with agent_call(address, token) as call, trio.open_nursery() as nursery:
        await call.send(HELLO)
        welcome = await call.receive()
        assert welcome is not None and welcome.WhichOneof("payload") == "welcome"
        agent = RecordingAgent(call, now_ms() - 600_000 if base_ms is None else base_ms)
        nursery.start_soon(agent.read_replies)
        yield agent
        nursery.cancel_scope.cancel()


async def health(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get("/api/health")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def poll(check: Callable[[], Awaitable[bool]], *, timeout: float, step: float = 0.05) -> float:
    """Call `check` until it returns True; returns the seconds that took. Fails after `timeout`."""
    started = trio.current_time()
    with trio.fail_after(timeout):
        while not await check():
            await trio.sleep(step)
    return trio.current_time() - started


async def report_while_down(agent: RecordingAgent, cache: LiveCache, server_id: int, seconds: float) -> int:
    """Send two samples every 0.25 s for `seconds`; each must reach the live view (the server
    staying online) while the database is down. Returns the last seq sent."""
    started = trio.current_time()
    while trio.current_time() - started < seconds:
        await agent.send(agent.sent + 1, agent.sent + 2)
        newest = agent.time_of(agent.sent)

        async def shows_newest(newest: int = newest) -> bool:
            view = cache.get(server_id)
            assert view is not None and view.status == ServerStatus.ONLINE
            return view.latest_metrics is not None and datetime_to_ms(view.latest_metrics.time) == newest

        await poll(shows_newest, timeout=2, step=0.01)
        await trio.sleep(0.25)
    return agent.sent
