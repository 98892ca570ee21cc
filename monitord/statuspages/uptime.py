"""Daily uptime bars for status pages, from the hourly rollups of the metric history.

A server counts as up for an hour when the hour holds at least one sample. A day's bar is the
share of its hours that were up, counting only hours since the server was registered and up to
now (the current hour only once it has a sample). 90 days of hours is one ranged history query
per server; the result is kept for a few minutes, so a page's push does not query each tick.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import trio

from monitord.storage import Storage
from monitord.storage.base import HOUR_MS, Tier

DAYS = 90
DAY_MS = 24 * HOUR_MS
# How long a server's bars are reused before they are read again.
REFRESH_SECONDS = 300.0


class UptimeBars(msgspec.Struct, frozen=True, kw_only=True):
    percent: float | None  # over every counted hour of the days
    days: tuple[float | None, ...]  # DAYS bars, oldest first; None: no hour counted that day


def uptime_bars(up_hours: Iterable[int], created_ms: int, now_ms: int) -> UptimeBars:
    """The bars of the DAYS days up to `now_ms`, from the starts of the hours with samples."""
    up = set(up_hours)
    today = now_ms - now_ms % DAY_MS
    this_hour = now_ms - now_ms % HOUR_MS
    first_hour = created_ms - created_ms % HOUR_MS
    days: list[float | None] = []
    up_total = counted_total = 0
    for day in range(today - (DAYS - 1) * DAY_MS, today + DAY_MS, DAY_MS):
        counted = up_count = 0
        for hour in range(max(day, first_hour), min(day + DAY_MS, this_hour + HOUR_MS), HOUR_MS):
            if hour == this_hour and hour not in up:
                continue  # the hour has just begun: not down yet
            counted += 1
            up_count += hour in up
        days.append(round(100 * up_count / counted, 1) if counted else None)
        up_total += up_count
        counted_total += counted
    return UptimeBars(percent=round(100 * up_total / counted_total, 2) if counted_total else None, days=tuple(days))


class UptimeBook:
    """Each server's bars, read from storage at most every REFRESH_SECONDS."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._bars: dict[int, tuple[float, UptimeBars]] = {}

    async def bars(self, servers: dict[int, int], now_ms: int) -> dict[int, UptimeBars]:
        """The bars of `servers` (id → registration time, ms). Raises StorageError."""
        result = {}
        now = trio.current_time()
        for server_id, created_ms in servers.items():
            kept = self._bars.get(server_id)
            if kept is None or now - kept[0] > REFRESH_SECONDS:
                start = now_ms - now_ms % DAY_MS - (DAYS - 1) * DAY_MS
                buckets = await self._storage.history(server_id, Tier.HOUR, start, now_ms + 1, HOUR_MS)
                kept = (now, uptime_bars((b.bucket_ms for b in buckets if b.sample_count), created_ms, now_ms))
                self._bars[server_id] = kept
            result[server_id] = kept[1]
        # Forget servers no page has shown for a while.
        if len(self._bars) > len(servers) + 1000:
            self._bars = {k: v for k, v in self._bars.items() if now - v[0] <= 2 * REFRESH_SECONDS}
        return result
