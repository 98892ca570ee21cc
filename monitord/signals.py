"""Turning SIGTERM and SIGINT into a graceful stop."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

import trio

log = logging.getLogger("monitord")


async def watch_signals(
    shutdown: trio.Event,
    stop_now: Callable[[], None],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Set `shutdown` on the first SIGTERM or SIGINT; call `stop_now` on a second one.

    Runs until cancelled. While it runs, Ctrl-C never raises KeyboardInterrupt.
    """
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for signum in signals:
            name = signal.Signals(signum).name
            if not shutdown.is_set():
                log.info("%s received: stopping gracefully", name)
                shutdown.set()
            else:
                log.warning("%s received again: stopping now", name)
                stop_now()
