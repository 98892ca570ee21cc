"""systemd's notify protocol in a few lines: READY, STOPPING, STATUS and the watchdog.

Messages are datagrams to `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
Without the variable (not run by systemd) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

import trio

log = logging.getLogger("monitord.systemd")


def notify(*fields: str) -> bool:
    """Send `KEY=value` fields to systemd; True when sent, False when there is no one to tell."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(fields).encode(), address)
    except OSError as exc:
        log.warning("cannot notify systemd: %s", exc.strerror or exc)
        return False
    return True


def watchdog_interval_seconds() -> float | None:
    """Half the watchdog timeout systemd asked for (`WatchdogSec=`), or None when off."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000 / 2


async def serve_watchdog(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Send WATCHDOG=1 every half timeout while the event loop makes progress.

    This is a trio task on the daemon's loop, so a loop that stalls (a blocking call, a hot
    loop that never yields) stops the pings and systemd restarts the daemon. Runs until
    cancelled; returns at once when no watchdog was asked for.
    """
    interval = watchdog_interval_seconds()
    task_status.started()
    if interval is None:
        return
    while True:
        notify("WATCHDOG=1")
        await trio.sleep(interval)
