"""LatestSnapshotSlot: one pending value, newest wins, take waits."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from monitord.push.slot import LatestSnapshotSlot


async def test_a_put_replaces_a_value_not_taken_yet() -> None:
    slot: LatestSnapshotSlot[int] = LatestSnapshotSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.pending == 1
    assert await slot.take() == 3
    assert slot.pending == 0


async def test_take_waits_for_the_next_put(autojump_clock: trio.testing.MockClock) -> None:
    slot: LatestSnapshotSlot[str] = LatestSnapshotSlot()
    taken: list[str] = []

    async def take() -> None:
        taken.append(await slot.take())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(take)
        await trio.testing.wait_all_tasks_blocked()
        assert taken == []
        slot.put("snapshot")
    assert taken == ["snapshot"]


async def test_a_cancelled_take_leaves_the_slot_as_it_was() -> None:
    slot: LatestSnapshotSlot[int] = LatestSnapshotSlot()
    slot.put(7)
    with trio.CancelScope() as scope:
        scope.cancel()
        await slot.take()
    assert scope.cancelled_caught
    assert slot.pending == 1
    assert await slot.take() == 7


async def test_take_is_a_checkpoint_even_with_a_value_waiting() -> None:
    slot: LatestSnapshotSlot[int] = LatestSnapshotSlot()
    slot.put(1)
    with trio.testing.assert_checkpoints():
        await slot.take()


def test_a_slot_never_holds_more_than_one_value() -> None:
    slot: LatestSnapshotSlot[int] = LatestSnapshotSlot()
    for value in range(1000):
        slot.put(value)
    assert slot.pending == 1


@pytest.mark.parametrize("puts", [0, 1, 5])
async def test_pending_counts_what_take_would_return(puts: int) -> None:
    slot: LatestSnapshotSlot[int] = LatestSnapshotSlot()
    for value in range(puts):
        slot.put(value)
    assert slot.pending == min(puts, 1)
