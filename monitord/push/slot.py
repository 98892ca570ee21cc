"""A one-value mailbox between the push task and one client's sender."""

from __future__ import annotations

from typing import Generic, TypeVar

import trio

T = TypeVar("T")

_EMPTY = object()


class LatestSnapshotSlot(Generic[T]):
    """Holds at most one value: `put` never blocks and replaces a value not taken yet.

    This is what makes a slow client cheap: whatever the producer does, the client pins one
    pending value, and when it catches up it gets the newest one. Only trio tasks of one run use
    it (no locking needed).
    """

    def __init__(self) -> None:
        self._value: object = _EMPTY
        self._waiters = trio.lowlevel.ParkingLot()

    @property
    def pending(self) -> int:
        """How many values wait to be taken: 0 or 1."""
        return 0 if self._value is _EMPTY else 1

    def put(self, value: T) -> bool:
        """Store `value`; True when it replaced one that was never taken (that one is dropped)."""
        replaced = self._value is not _EMPTY
        self._value = value
        self._waiters.unpark_all()
        return replaced

    async def take(self) -> T:
        """Wait for a value and remove it from the slot. Always a checkpoint."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while self._value is _EMPTY:
            await self._waiters.park()
        value = self._value
        self._value = _EMPTY
        await trio.lowlevel.cancel_shielded_checkpoint()
        return value  # type: ignore[return-value]  # never _EMPTY here
