"""Online/offline status: when each server last had samples accepted, on trio's clock."""

from __future__ import annotations

import logging

import trio

from monitord.cache import LiveCache
from monitord.wire import ServerStatus

log = logging.getLogger("monitord.agents")


class AgentPresence:
    """The trio time at which each server last had samples accepted.

    Updated by the sample writer in the same step that makes the server `online` in the cache,
    so the offline watcher never misses a server it should watch. Acceptance, not storage: a
    database outage must not make servers look offline.
    """

    def __init__(self) -> None:
        self._last_report: dict[int, float] = {}
        # Servers last heard of through another replica (issue 19), and whether this daemon is
        # deaf to the others right now (its listener is down): then it cannot tell whether
        # they still report, so none of them is marked offline until it hears again.
        self._remote: set[int] = set()
        self.hold_remote = False

    def reported(self, server_id: int, *, remote: bool = False) -> None:
        self._last_report[server_id] = trio.current_time()
        if remote:
            self._remote.add(server_id)
        else:
            self._remote.discard(server_id)

    def held(self, server_id: int) -> bool:
        """Whether `server_id` must not be marked offline now (see `hold_remote`)."""
        return self.hold_remote and server_id in self._remote

    def items(self) -> list[tuple[int, float]]:
        return list(self._last_report.items())

    def forget(self, server_id: int) -> None:
        self._last_report.pop(server_id, None)
        self._remote.discard(server_id)


async def watch_offline(
    cache: LiveCache,
    presence: AgentPresence,
    offline_after_seconds: float,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Mark a server `offline` once it has been silent for `offline_after_seconds`.

    Sleeps until the earliest deadline, so a server goes offline at exactly its timeout (trio's
    clock: tests use a mock clock). A server comes back `online` when its next sample is accepted. Runs until cancelled.
    """
    task_status.started()
    while True:
        now = trio.current_time()
        wake_at = now + offline_after_seconds
        for server_id, last in presence.items():
            deadline = last + offline_after_seconds
            if deadline <= now and presence.held(server_id):
                continue  # looked at again on the next wake-up, at the latest after offline_after
            if deadline <= now:
                presence.forget(server_id)
                view = cache.get(server_id)
                if view is not None and view.status == ServerStatus.ONLINE:
                    cache.set_status(server_id, ServerStatus.OFFLINE)
                    log.info("server %d is offline: no samples for %g s", server_id, offline_after_seconds)
            else:
                wake_at = min(wake_at, deadline)
        await trio.sleep_until(wake_at)
