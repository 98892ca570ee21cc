"""The push task: each tick, per audience, its messages encoded once (and deflated once), only while someone listens."""

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
    """Every `interval_seconds` on trio's clock, for each audience with a client (one per distinct
    grant, issue 16), encode what it sees of `cache` once per protocol spoken and publish it to
    that audience's hub: a v1 snapshot while v1 clients listen, a v2 delta while v2 clients do.
    While any client of a protocol negotiated permessage-deflate, its message is also deflated
    once, in a worker thread, before it is published.

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
                    built = []
                    for grant, hub in audiences.hubs():
                        if not len(hub):
                            continue
                        visible = VisibleServers(cache, grant)
                        snapshot = hub.build(visible) if hub.listeners("v1") else None
                        delta = hub.advance_v2(visible) if hub.listeners("v2") else None
                        built.append((hub, snapshot, delta))
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
                    for hub, snapshot, delta in built:
                        if snapshot is not None and hub.deflating("v1"):
                            await snapshot.message.deflated_frame()
                        if delta is not None and hub.deflating("v2"):
                            await delta.message.deflated_frame()
                    for hub, snapshot, delta in built:
                        if snapshot is not None:
                            hub.publish(snapshot)
                        if delta is not None:
                            hub.publish_v2(delta)
                    observe_tick_seconds(time.perf_counter() - started)
            tick = next_tick_after(tick, interval_seconds, trio.current_time())
