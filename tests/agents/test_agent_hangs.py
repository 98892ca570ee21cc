"""The agent never hangs for good: not on a collection that blocks (a stat on a dead NFS mount),
not on a connect that gets no answer (a host dropping packets, a peer that accepts and stays
silent). Real sockets, the in-process daemon, trio's mock clock."""

from __future__ import annotations

import itertools
import logging
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from monitord.agent.collector import Collector
from monitord.models import MetricsSample
from monitord.tomlconfig import ListenAddress
from tests.agents.conftest import agent_settings, jump_when_idle, register_server, running_agent, stored_times, wait_for
from tests.conftest import make_settings, start_daemon


class _HangsOnce(Collector):
    """The real collector, except that its 2nd reading blocks until `release` is set, the way a
    `stat` on a dead NFS mount blocks. Counts the threads inside `collect` at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.calls = 0
        self.most_at_once = 0
        self._inside = 0
        self._lock = threading.Lock()

    def collect(self, timestamp_ms: int) -> MetricsSample:
        with self._lock:
            self.calls += 1
            call = self.calls
            self._inside += 1
            self.most_at_once = max(self.most_at_once, self._inside)
        try:
            if call == 2:
                self.release.wait()
            return super().collect(timestamp_ms)
        finally:
            with self._lock:
                self._inside -= 1


async def test_a_hung_collection_is_skipped_and_counted_and_sampling_resumes_when_it_returns(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    server_id, token = await register_server(daemon)
    assert daemon.endpoints.grpc is not None
    collector = _HangsOnce()
    caplog.set_level(logging.INFO, logger="monitord.agent")
    jump_when_idle(clock)
    settings = agent_settings(daemon.endpoints.grpc, token, interval_seconds=1.0)
    try:
        async with running_agent(nursery, settings, collector=collector) as agent:
            await wait_for(lambda: agent.skipped_collections >= 5, timeout=30)
            # Every tick while the 2nd collection hangs is skipped: no new thread, no sample. (The
            # 1st may have been abandoned too, on a host slow enough for the mock clock to reach
            # its deadline while psutil worked.)
            assert collector.calls == 2 and agent.buffer.last_seq <= 1
            collector.release.set()
            await wait_for(lambda: len(stored_times(daemon.settings, server_id)) >= 3, timeout=30)
            skipped = agent.skipped_collections
    finally:
        collector.release.set()  # never leave the thread blocked, whatever failed
    assert collector.most_at_once == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("a collection has run longer than interval_seconds = 1 (a hung filesystem?)")
    assert "\n" not in warnings[0]
    infos = [r.getMessage() for r in caplog.records]
    assert f"collecting works again after {skipped} skipped collections" in infos


async def test_a_peer_that_accepts_but_never_speaks_cannot_hold_the_tls_handshake(
    nursery: trio.Nursery, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    accepted: list[float] = []

    async def accept_and_stay_silent(stream: trio.SocketStream) -> None:
        accepted.append(trio.current_time())
        async with stream:
            await trio.sleep_forever()

    listeners = await nursery.start(trio.serve_tcp, accept_and_stay_silent, 0)
    port = listeners[0].socket.getsockname()[1]
    jump_when_idle(clock)
    settings = agent_settings(
        ListenAddress("127.0.0.1", port), "1.secret", interval_seconds=600.0, tls=True, connect_timeout_seconds=5.0
    )
    caplog.set_level(logging.INFO, logger="monitord.agent")
    async with running_agent(nursery, settings):
        await wait_for(lambda: len(accepted) >= 4, timeout=120, step=1)
    # Each attempt waited out its deadline, failed, and went through the backoff to the next.
    gaps = [later - earlier for earlier, later in itertools.pairwise(accepted)]
    assert all(5.0 <= gap <= 5.0 + min(60.0, 2.0**n) + 1.5 for n, gap in enumerate(gaps)), gaps
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        f"daemon 127.0.0.1:{port} unavailable (no connection and TLS handshake within 5 s); buffering"
    )


@contextmanager
def _full_backlog() -> Iterator[ListenAddress]:
    """A listening address whose accept queue is full and never drained.

    Linux drops a SYN for a listener with a full accept queue (the listen overflow counted in
    `nstat TcpExtListenOverflows`), so a connect there gets no answer at all: a host that drops
    packets, made of a real local socket. Offline there is no routed address that drops SYNs,
    and none that would do it deterministically.
    """
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(16):  # a backlog of 0 queues one connection; the second SYN is dropped
            filler = socket.socket()
            fillers.append(filler)
            filler.setblocking(False)
            filler.connect_ex(address)
            _, writable, _ = select.select([], [filler], [], 0.5)
            if not writable:
                break
        else:
            raise AssertionError("connects to a listener with a full backlog kept succeeding")
        yield ListenAddress(*address)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_connect_that_gets_no_answer_times_out_and_is_retried_with_backoff(
    nursery: trio.Nursery, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="monitord.agent")
    with _full_backlog() as address:
        jump_when_idle(clock)
        settings = agent_settings(address, "1.secret", interval_seconds=600.0, connect_timeout_seconds=5.0)
        timed_out = "(no connection within 5 s)"

        def attempts() -> int:
            return sum(timed_out in r.getMessage() for r in caplog.records)

        async with running_agent(nursery, settings) as agent:
            await wait_for(lambda: attempts() >= 4, timeout=120, step=1)
            assert not agent.connected and agent.connections == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"daemon {address} unavailable {timed_out}; buffering")
