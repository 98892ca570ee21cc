"""push_snapshots on trio's clock: cadence, idling, failed ticks."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from monitord.cache import LiveCache
from monitord.push.audiences import Audiences
from monitord.push.hub import SnapshotHub
from monitord.push.task import next_tick_after, push_snapshots
from monitord.wire import FullServerList, encoder

INTERVAL = 2.0


class _TimedEncoder:
    """Records when it is called; fails on the calls listed in `fail_on` (1-based)."""

    def __init__(self, fail_on: frozenset[int] = frozenset()) -> None:
        self.times: list[float] = []
        self._fail_on = fail_on

    def __call__(self, message: FullServerList) -> bytes:
        self.times.append(trio.current_time())
        if len(self.times) in self._fail_on:
            raise RuntimeError("encoder broke")
        return encoder.encode(message)


async def test_ticks_run_every_interval_and_only_while_someone_listens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    encode = _TimedEncoder()
    hub = SnapshotHub(encode=encode)
    cache = LiveCache()
    async with trio.open_nursery() as nursery:
        await nursery.start(push_snapshots, Audiences(hub), cache, INTERVAL)
        await trio.sleep(10)
        assert encode.times == []  # nobody listens: no tick at all
        start = trio.current_time()
        subscription = hub.subscribe(1, hub.build(cache))
        await trio.sleep(7)
        assert [t - start for t in encode.times] == [0, 2, 4, 6]  # the first is the client's own
        hub.unsubscribe(subscription)
        await trio.sleep(20)
        assert len(encode.times) == 4
        nursery.cancel_scope.cancel()


@pytest.mark.expect_error_logs
async def test_a_failed_tick_is_logged_and_the_next_runs_on_time(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitord.push")
    encode = _TimedEncoder(fail_on=frozenset({2, 3}))  # the first and second ticks fail
    hub = SnapshotHub(encode=encode)
    cache = LiveCache()
    async with trio.open_nursery() as nursery:
        await nursery.start(push_snapshots, Audiences(hub), cache, INTERVAL)
        start = trio.current_time()
        subscription = hub.subscribe(1, hub.build(cache))
        await subscription.slot.take()
        await trio.sleep(9)
        # No hot loop and no drift: failed ticks are followed by the next tick, one interval on.
        assert [t - start for t in encode.times] == [0, 2, 4, 6, 8]
        assert subscription.dropped == 1  # ticks 3 and 4 were published, tick 1 and 2 not
        nursery.cancel_scope.cancel()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].exc_info is not None and errors[1].exc_info is None  # one traceback, then one line
    assert any("work again" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "tick,now,expected",
    [
        (10.0, 10.0, 12.0),  # on time
        (10.0, 11.0, 12.0),  # the tick took a while
        (10.0, 12.0, 14.0),  # exactly one interval late: skip, never fire twice at once
        (10.0, 17.5, 18.0),  # the process stalled: missed ticks are skipped
    ],
)
def test_next_tick_stays_on_the_grid(tick: float, now: float, expected: float) -> None:
    assert next_tick_after(tick, INTERVAL, now) == expected
