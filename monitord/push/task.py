"""The push task: one snapshot per audience per tick, each encoded once, only while someone listens."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NoReturn

import trio

from monitord.cache import LiveCache
from monitord.push.audiences import Audiences, VisibleServers

log = logging.getLogger("monitord.push")


def next_tick_after(tick: float, interval_seconds: float, now: float) -> float:
    """The first tick of the grid `tick + k * interval` later than `now` (missed ticks are skipped)."""
    tick += interval_seconds
    if tick <= now:
        tick += ((now - tick) // interval_seconds + 1) * interval_seconds
    return tick


async def push_snapshots(
    audiences: Audiences,
    cache: LiveCache,
    interval_seconds: float,
    *,
    observe_tick_seconds: Callable[[float], object] = lambda _seconds: None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Every `interval_seconds` on trio's clock, encode what each audience with a client sees of
    `cache` once and publish it to that audience's hub (one encoding per distinct grant).

    Sleeps without ticking while no client is connected; a client that connects gets its first
    snapshot from the route, so ticks resume one interval later. A tick that fails is logged and
    the next one runs on schedule (never sooner, so a persistent failure cannot spin). Ticks that
    were missed because the process stalled are skipped, not replayed. Each successful tick's
    build-and-publish time goes to `observe_tick_seconds`. Runs until cancelled.
    """
    task_status.started()
    failing = False
    while True:
        await audiences.wait_for_subscribers()
        tick = trio.current_time() + interval_seconds
        while len(audiences):
            await trio.sleep_until(tick)
            if len(audiences):
                started = time.perf_counter()
                try:
                    # Built all before any is published: a failure publishes nothing this tick.
                    built = [
                        (hub, hub.build(VisibleServers(cache, grant))) for grant, hub in audiences.hubs() if len(hub)
                    ]
                except Exception as exc:
                    # The traceback once; then one line per failed tick until it works again.
                    if failing:
                        log.error("could not build the server-list snapshot again: %s", exc)
                    else:
                        log.exception("could not build the server-list snapshot; retrying every tick")
                    failing = True
                else:
                    if failing:
                        log.info("server-list snapshots work again")
                    failing = False
                    for hub, snapshot in built:
                        hub.publish(snapshot)
                    observe_tick_seconds(time.perf_counter() - started)
            tick = next_tick_after(tick, interval_seconds, trio.current_time())
