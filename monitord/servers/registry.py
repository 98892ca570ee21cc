"""One place that changes servers: storage, the live cache and the live agent call together.

Each change is one storage call (one transaction), so no interruption leaves half a server
behind. The token hash covers only the secret, so a server is inserted with its real hash at
once and its token (`<id>.<secret>`) is put together from the id the insert returns.

A cancelled caller (an HTTP request whose client left, Ctrl-C in the CLI) cannot split the
write from what follows it: the storage call is shielded, and bounded by the storage's own
deadline (`database.timeout_seconds`), and the cache and the agent call are updated right
after it without another await. So the cache and the database agree, and a revoked token is
revoked everywhere. A registration whose caller was cancelled after the commit leaves a working
server whose token nobody saw; rotating its token recovers it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Protocol, TypeVar

import msgspec
import trio

from monitord.auth.agent_tokens import new_agent_secret
from monitord.cache import LiveCache
from monitord.models import ServerRecord, now_ms
from monitord.storage import Storage
from monitord.token_format import format_agent_token

T = TypeVar("T")
# How often `token_hash` looks again when servers change while it reads the database.
_LOOKUP_ATTEMPTS = 3


class AgentRevoker(Protocol):
    """Ends the live agent call of a server whose token stopped holding (the gRPC side)."""

    def close(self, server_id: int) -> bool:
        """End the call of `server_id` now, if one is open; returns whether one was."""
        ...


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    """A newly registered server and its agent token, which exists nowhere else."""

    server: ServerRecord
    agent_token: str


class ServerRegistry:
    """Registers, renames, re-keys and deletes servers.

    `cache` and `revoker` are the daemon's live cache and agent calls; the CLI, which has
    neither, passes None and changes only the database (the daemon finds a server it does not
    know on its agent's first call, see `token_hash`).
    """

    def __init__(self, storage: Storage, cache: LiveCache | None = None, revoker: AgentRevoker | None = None) -> None:
        self._storage = storage
        self._cache = cache
        self._revoker = revoker
        # Bumped by every change that revokes a token, so a lookup that awaited the database
        # can tell that its record may be stale.
        self._revocations = 0

    async def register(self, name: str) -> Registration:
        """Store a new server with a fresh agent token; one insert. Raises StorageError."""
        secret, token_hash = new_agent_secret()
        record = await _unsplittable(self._storage.create_server(name, token_hash, now_ms=now_ms()))
        if self._cache is not None:
            self._cache.add(record)
        return Registration(server=record, agent_token=format_agent_token(record.id, secret))

    async def rename(self, server_id: int, name: str) -> ServerRecord | None:
        """Give the server a new name; None when there is no such server."""
        record = await _unsplittable(self._storage.rename_server(server_id, name))
        if record is not None and self._cache is not None:
            self._cache.rename(server_id, record.name)
        return record

    async def set_tags(self, server_id: int, tags: list[str]) -> bool:
        """Make `tags` the server's tags; False when there is no such server."""
        if await self._storage.get_server(server_id) is None:
            return False
        names = tuple(sorted(set(tags)))
        await _unsplittable(self._storage.set_server_tags(server_id, names))
        if self._cache is not None:
            self._cache.set_tags(server_id, names)
        return True

    async def rotate_token(self, server_id: int) -> str | None:
        """Give the server a new agent token and end its live call: the old token stops working
        at once. Returns the new token, or None when there is no such server."""
        secret, token_hash = new_agent_secret()
        found = await _unsplittable(self._storage.set_agent_token_hash(server_id, token_hash))
        if not found:
            return None
        self._revoked(server_id)
        if self._cache is not None:
            self._cache.set_token_hash(server_id, token_hash)
        return format_agent_token(server_id, secret)

    async def delete(self, server_id: int) -> bool:
        """Delete the server with all its metrics and end its live call; False when unknown."""
        found = await _unsplittable(self._storage.delete_server(server_id))
        if found:
            self._revoked(server_id)
            if self._cache is not None:
                self._cache.remove(server_id)
        return found

    async def token_hash(self, server_id: int) -> str | None:
        """The agent token hash of `server_id`, or None when there is no such server.

        A server the cache does not know is looked up in the database (`server add` writes
        there while the daemon runs) and added to the cache. Raises StorageError.
        """
        if self._cache is None:
            record = await self._storage.get_server(server_id)
            return record.agent_token_hash if record is not None else None
        for _ in range(_LOOKUP_ATTEMPTS):
            if server_id in self._cache:
                return self._cache.token_hash(server_id)
            revocations = self._revocations
            record = await self._storage.get_server(server_id)
            if self._revocations != revocations:
                continue  # deleted or re-keyed meanwhile: the record may be stale
            if record is not None and server_id not in self._cache:
                self._cache.add(record)
            return self._cache.token_hash(server_id)
        raise ServerRegistryBusy("servers changed during every lookup; retry later")

    async def refresh(self, server_id: int) -> None:
        """Re-read `server_id` after another replica changed it (issue 19): the cache follows the
        database, and a deleted server's or re-keyed token's live agent call here ends.
        Raises StorageError."""
        if self._cache is None:
            return
        revocations = self._revocations
        record = await self._storage.get_server(server_id)
        if self._revocations != revocations:
            return  # re-keyed or deleted here meanwhile: the record may be stale, its own notification follows
        self.apply(server_id, record)

    def apply(self, server_id: int, record: ServerRecord | None) -> None:
        """Make the cache hold `record` (None: the server is gone), as read from the database;
        end the server's live agent call here when it is gone or its token changed."""
        if self._cache is None:
            return
        if record is None:
            if server_id in self._cache:
                self._revoked(server_id)
                self._cache.remove(server_id)
        elif self._cache.update(record):
            self._revoked(server_id)

    def _revoked(self, server_id: int) -> None:
        self._revocations += 1
        if self._revoker is not None:
            self._revoker.close(server_id)


class ServerRegistryBusy(Exception):
    """`token_hash` could not get a settled answer; the caller may retry."""


async def _unsplittable(write: Coroutine[object, object, T]) -> T:
    """Await one storage write shielded from the caller's cancellation, which then takes effect
    at the caller's next checkpoint, after the cache has been updated too. A caller cancelled
    before the write starts does not write."""
    try:
        await trio.lowlevel.checkpoint_if_cancelled()
    except BaseException:
        write.close()  # never awaited: no "coroutine was never awaited" warning
        raise
    with trio.CancelScope(shield=True):
        result = await write
    return result
