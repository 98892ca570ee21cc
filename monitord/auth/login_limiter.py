"""Login throttling: too many failures per client and username within a window gives 429.

Failures are counted per (client address, username) and, at a higher limit, per client address
alone, so neither guessing one account's password nor spraying many accounts gets far. Memory
is bounded: the oldest keys are forgotten first.

A login counts as a failure from the moment it begins, before it awaits the user lookup or the
password hash; only its success withdraws it. Checking first and recording after the awaits
would let N concurrent requests make N guesses.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Self

# A client may fail this many times more across all usernames than on one username.
_PER_CLIENT_FACTOR = 4
_MAX_TRACKED_KEYS = 10_000

_Key = tuple[str, ...]
_KeyLimits = list[tuple[_Key, int]]  # each key an attempt counts against, with its limit


class LoginThrottled(Exception):
    """Too many recent failed (or still running) logins; `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginAttempt:
    """One login in flight, counted as a failure until `succeeded()` withdraws it.

    Use it as a context manager: leaving it without `succeeded()` (wrong password, unknown
    user, an error, a cancelled request) records the failure.
    """

    def __init__(self, settle: Callable[[bool], None]) -> None:
        self._report = settle  # called once: True when the attempt failed
        self._settled = False

    def succeeded(self) -> None:
        """The password was right: release this attempt and forget the client's failures on this user."""
        self._settle(failed=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._settle(failed=True)

    def _settle(self, *, failed: bool) -> None:
        if not self._settled:
            self._settled = True
            self._report(failed)


class LoginLimiter:
    """Counts failed and running logins in a sliding window; the clock is injectable for tests."""

    def __init__(self, max_failures: int, window_seconds: float, clock: Callable[[], float]) -> None:
        self._limits = {"user": max_failures, "client": max_failures * _PER_CLIENT_FACTOR}
        self._window = window_seconds
        self._clock = clock
        self._failures: OrderedDict[_Key, deque[float]] = OrderedDict()
        # Attempts begun and not settled yet; at most the limit per key, so this stays small.
        self._in_flight: Counter[_Key] = Counter()

    def _keys(self, client: str, username: str) -> _KeyLimits:
        return [
            (("user", client, username.casefold()), self._limits["user"]),
            (("client", client), self._limits["client"]),
        ]

    def begin(self, client: str, username: str) -> LoginAttempt:
        """Count a login attempt now; raises LoginThrottled when it may not be made.

        Synchronous on purpose: the check and the count happen with no await in between.
        """
        now = self._clock()
        keys = self._keys(client, username)
        wait = max(self._wait(key, limit, now) for key, limit in keys)
        if wait > 0:
            raise LoginThrottled(math.ceil(wait))
        for key, _ in keys:
            self._in_flight[key] += 1
        return LoginAttempt(partial(self._settle, keys))

    def _wait(self, key: _Key, limit: int, now: float) -> float:
        """Seconds until `key` has room for one more attempt; attempts in flight count as failing now."""
        times: list[float] = [*(self._recent(key, now) or ()), *[now] * self._in_flight[key]]
        if len(times) < limit:
            return 0.0
        return times[len(times) - limit] + self._window - now

    def _settle(self, keys: _KeyLimits, failed: bool) -> None:
        for key, _ in keys:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]
        if failed:
            self._record_failure(keys)
        else:
            self._failures.pop(keys[0][0], None)  # the (client, username) key

    def _record_failure(self, keys: _KeyLimits) -> None:
        now = self._clock()
        for key, limit in keys:
            times = self._recent(key, now) or deque(maxlen=limit)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > _MAX_TRACKED_KEYS:
            self._failures.popitem(last=False)

    def _recent(self, key: _Key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
