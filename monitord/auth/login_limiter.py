"""Login throttling: too many failures per client and username within a window gives 429.

Failures are counted per (client address, username) and, at a higher limit, per client address
alone, so neither guessing one account's password nor spraying many accounts gets far. Memory
is bounded: the oldest keys are forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable

# A client may fail this many times more across all usernames than on one username.
_PER_CLIENT_FACTOR = 4
_MAX_TRACKED_KEYS = 10_000


class LoginLimiter:
    """Counts failed logins in a sliding window; the clock is injectable for tests."""

    def __init__(self, max_failures: int, window_seconds: float, clock: Callable[[], float]) -> None:
        self._limits = {"user": max_failures, "client": max_failures * _PER_CLIENT_FACTOR}
        self._window = window_seconds
        self._clock = clock
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()

    def _keys(self, client: str, username: str) -> list[tuple[tuple[str, ...], int]]:
        return [
            (("user", client, username.casefold()), self._limits["user"]),
            (("client", client), self._limits["client"]),
        ]

    def retry_after(self, client: str, username: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = self._clock()
        wait = 0.0
        for key, limit in self._keys(client, username):
            times = self._recent(key, now)
            if times is not None and len(times) >= limit:
                wait = max(wait, times[len(times) - limit] + self._window - now)
        return math.ceil(wait) if wait > 0 else 0

    def record_failure(self, client: str, username: str) -> None:
        now = self._clock()
        for key, limit in self._keys(client, username):
            times = self._recent(key, now) or deque(maxlen=limit)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > _MAX_TRACKED_KEYS:
            self._failures.popitem(last=False)

    def record_success(self, client: str, username: str) -> None:
        self._failures.pop(("user", client, username.casefold()), None)

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
