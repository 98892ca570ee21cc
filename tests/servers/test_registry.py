"""The server registry: each change is one write that no cancellation can split."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from monitord.auth.agent_tokens import secret_matches, split_agent_token
from monitord.cache import LiveCache
from monitord.servers import ServerRegistry
from monitord.storage import Storage

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class CancellingStorage:
    """A real storage whose every call has an await point before it starts and after it
    returns; the `cancel_at`-th such point cancels `scope`, so the call there either never runs
    or has run, whatever the caller does next."""

    def __init__(self, storage: Storage, scope: trio.CancelScope, cancel_at: int) -> None:
        self._storage = storage
        self._scope = scope
        self._cancel_at = cancel_at
        self.points = 0

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._storage, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await self._point()
            result = await method(*args, **kwargs)
            await self._point()
            return result

        return call

    async def _point(self) -> None:
        self.points += 1
        if self.points == self._cancel_at:
            self._scope.cancel()
        await trio.lowlevel.checkpoint()


class Revocations:
    """The registry's view of the gRPC side: which servers' live calls it ended."""

    def __init__(self) -> None:
        self.closed: list[int] = []

    def close(self, server_id: int) -> bool:
        self.closed.append(server_id)
        return False


async def test_a_registration_cancelled_at_any_point_leaves_no_server_or_a_working_one(storage: Storage) -> None:
    cancel_at = -1
    while True:
        cancel_at += 1  # 0: cancelled before it starts
        before = {record.id for record in await storage.list_servers()}
        cache = LiveCache.load(await storage.list_servers(), {})
        with trio.CancelScope() as scope:
            if cancel_at == 0:
                scope.cancel()
            wrapped = CancellingStorage(storage, scope, cancel_at)
            # The wrapper stands in for a Storage by duck typing.
            registration = await ServerRegistry(wrapped, cache).register("web")  # type: ignore[arg-type]
        new = [record for record in await storage.list_servers() if record.id not in before]
        assert len(new) <= 1
        if new:
            # Stored whole: its real hash, never a placeholder no token can match; and the
            # cache, which agents authenticate against, holds the same.
            assert SHA256_HEX.fullmatch(new[0].agent_token_hash), new[0]
            assert cache.token_hash(new[0].id) == new[0].agent_token_hash
        else:
            assert len(cache) == len(before)
        if wrapped.points < cancel_at:
            break  # it ended before this point: every point was tried
    assert cancel_at > 2
    parsed = split_agent_token(registration.agent_token)
    assert parsed is not None and parsed[0] == registration.server.id
    stored = await storage.get_server(registration.server.id)
    assert stored is not None and secret_matches(parsed[1], stored.agent_token_hash)


async def test_a_rotation_cancelled_at_any_point_leaves_one_token_valid_everywhere(storage: Storage) -> None:
    registration = await ServerRegistry(storage).register("db")
    server_id = registration.server.id
    cancel_at = -1
    while True:
        cancel_at += 1  # 0: cancelled before it starts
        old = await storage.get_server(server_id)
        assert old is not None
        cache = LiveCache.load([old], {})
        revocations = Revocations()
        with trio.CancelScope() as scope:
            if cancel_at == 0:
                scope.cancel()
            wrapped = CancellingStorage(storage, scope, cancel_at)
            # The wrapper stands in for a Storage by duck typing.
            token = await ServerRegistry(wrapped, cache, revocations).rotate_token(server_id)  # type: ignore[arg-type]
        now = await storage.get_server(server_id)
        assert now is not None and cache.token_hash(server_id) == now.agent_token_hash
        # Re-keyed in the database exactly when the live call was ended: the old token works
        # nowhere after a rotation, and everywhere without one.
        assert revocations.closed == ([server_id] if now.agent_token_hash != old.agent_token_hash else [])
        if wrapped.points < cancel_at:
            break  # it ended before this point: every point was tried
    assert cancel_at > 2
    assert token is not None
    parsed = split_agent_token(token)
    assert parsed is not None and secret_matches(parsed[1], now.agent_token_hash)


async def test_deleting_ends_the_live_call_and_forgets_the_server(storage: Storage) -> None:
    registration = await ServerRegistry(storage).register("gone")
    cache = LiveCache.load(await storage.list_servers(), {})
    revocations = Revocations()
    registry = ServerRegistry(storage, cache, revocations)
    assert await registry.delete(registration.server.id)
    assert revocations.closed == [registration.server.id]
    assert registration.server.id not in cache
    assert await storage.get_server(registration.server.id) is None
    assert await registry.token_hash(registration.server.id) is None
    assert not await registry.delete(registration.server.id)


async def test_a_server_registered_elsewhere_is_found_and_cached(storage: Storage) -> None:
    cache = LiveCache()
    registration = await ServerRegistry(storage).register("from the cli")
    token_hash = await ServerRegistry(storage, cache).token_hash(registration.server.id)
    stored = await storage.get_server(registration.server.id)
    assert stored is not None and token_hash == stored.agent_token_hash
    assert registration.server.id in cache
