"""The storage interface every backend implements, and the errors it raises.

Both backends (SQLite, PostgreSQL) pass the same contract suite in tests/storage. Methods are
async and safe to call from any trio task; a backend serialises or pools as it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitord.models import HostFacts, MetricsSample, Role, ServerRecord, User


class StorageError(Exception):
    """The database failed; the message is safe to show (no SQL, no credentials)."""


class AlreadyExists(StorageError):
    """A unique name is taken."""


class Storage(Protocol):
    """What the daemon needs from a database. Timestamps are Unix milliseconds."""

    # --- users -------------------------------------------------------------------------------
    async def create_user(self, username: str, password_hash: str, role: Role, *, now_ms: int) -> User:
        """Raises AlreadyExists when the username is taken."""
        ...

    async def get_user(self, user_id: int) -> User | None: ...

    async def get_user_by_name(self, username: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def count_users(self) -> int: ...

    async def set_password(self, user_id: int, password_hash: str) -> User | None:
        """Replace the hash and bump the token version, revoking every token issued before."""
        ...

    async def set_role(self, user_id: int, role: Role) -> User | None:
        """Change the role and bump the token version."""
        ...

    async def delete_user(self, user_id: int) -> bool: ...

    # --- servers -----------------------------------------------------------------------------
    async def create_server(self, name: str, agent_token_hash: str, *, now_ms: int) -> ServerRecord: ...

    async def get_server(self, server_id: int) -> ServerRecord | None: ...

    async def list_servers(self) -> list[ServerRecord]: ...

    async def rename_server(self, server_id: int, name: str) -> ServerRecord | None: ...

    async def set_agent_token_hash(self, server_id: int, agent_token_hash: str) -> bool: ...

    async def update_host_facts(self, server_id: int, facts: HostFacts) -> bool: ...

    async def delete_server(self, server_id: int) -> bool:
        """Delete the server and all of its metrics."""
        ...

    # --- metrics -----------------------------------------------------------------------------
    async def insert_samples(self, batch: Sequence[tuple[int, MetricsSample]]) -> int:
        """Store (server_id, sample) pairs in one transaction; durable when this returns.

        A sample whose (server, time) is already stored is skipped, so re-sent samples are stored
        once. Samples of servers deleted meanwhile are skipped. Advances each server's last-seen
        time. Returns how many rows were new.
        """
        ...

    async def latest_samples(self) -> dict[int, MetricsSample]:
        """The newest stored sample of every server that has one."""
        ...

    async def query_samples(self, server_id: int, from_ms: int, to_ms: int) -> list[MetricsSample]:
        """Raw samples with from_ms <= time < to_ms, oldest first."""
        ...

    async def ping(self) -> None:
        """Raises StorageError unless the database answers."""
        ...
