"""Bounded windows of recent values, one per (metric, server) that some windowed rule watches.

A window of span S keeps BUCKETS buckets of S / BUCKETS seconds, each (sum, count, min, max), in
one flat array of doubles: ~0.8 KB whatever the sample rate, so 10,000 servers cost ~8 MB per
watched metric. An aggregate over the last W <= S seconds reads the buckets that started within
it, so a window's edge is as coarse as one bucket (15 s for a 5-minute window). The completed
buckets' part of each aggregate is kept until a new bucket begins, so evaluating a rule every
second costs one small merge, not a pass over the buckets.
"""

from __future__ import annotations

import math
from array import array
from typing import Literal

BUCKETS = 20
_FIELDS = 5  # bucket number, sum, count, min, max

Aggregate = Literal["avg", "max", "min", "all"]


def width_of(span_seconds: float) -> float:
    """The bucket width of a window spanning `span_seconds`."""
    return max(1.0, span_seconds / BUCKETS)


def slot(t: float, width: float) -> tuple[float, int]:
    """The bucket number of moment `t` and its offset in a window's array."""
    number = t // width
    return number, int(number % BUCKETS) * _FIELDS


class Window:
    __slots__ = ("_data", "_done", "_width")

    def __init__(self, span_seconds: float) -> None:
        self._width = width_of(span_seconds)
        self._data = array("d", [-1.0, 0.0, 0.0, 0.0, 0.0] * BUCKETS)
        # window seconds → (newest bucket number, sum, count, min, max of the older buckets)
        self._done: dict[float, tuple[int, float, float, float, float]] = {}

    def add(self, t: float, value: float) -> None:
        self.add_at(slot(t, self._width), value)

    def add_at(self, where: tuple[float, int], value: float) -> None:
        """Add a value at a `slot` of this window's bucket width (computed once for many windows)."""
        number, at = where
        data = self._data
        if data[at] != number:
            data[at] = number
            data[at + 1] = value
            data[at + 2] = 1.0
            data[at + 3] = value
            data[at + 4] = value
            return
        data[at + 1] += value
        data[at + 2] += 1.0
        if value < data[at + 3]:
            data[at + 3] = value
        elif value > data[at + 4]:
            data[at + 4] = value

    def _completed(self, newest: int, window_seconds: float) -> tuple[int, float, float, float, float]:
        done = self._done.get(window_seconds)
        if done is not None and done[0] == newest:
            return done
        oldest = newest - max(0, math.ceil(window_seconds / self._width) - 1)
        data = self._data
        total = count = 0.0
        low, high = math.inf, -math.inf
        for at in range(0, BUCKETS * _FIELDS, _FIELDS):
            if oldest <= data[at] < newest:
                total += data[at + 1]
                count += data[at + 2]
                low = min(low, data[at + 3])
                high = max(high, data[at + 4])
        done = self._done[window_seconds] = (newest, total, count, low, high)
        return done

    def aggregate(self, now: float, window_seconds: float, how: Aggregate, op: str) -> float | None:
        """`how` over the samples of the last `window_seconds`; None when there are none.

        "all" asks whether every sample crossed: the least extreme one decides (min for `>`).
        """
        newest = int(now // self._width)
        _, total, count, low, high = self._completed(newest, window_seconds)
        data = self._data
        at = (newest % BUCKETS) * _FIELDS
        if data[at] == newest:
            total += data[at + 1]
            count += data[at + 2]
            low = min(low, data[at + 3])
            high = max(high, data[at + 4])
        if not count:
            return None
        if how == "avg":
            return total / count
        if how == "all":
            how = "min" if op == ">" else "max"
        return low if how == "min" else high
