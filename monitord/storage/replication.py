"""What several daemons on one database share through it (issue 19): change notifications.

PostgreSQL only (`Storage.replication()` is None on SQLite, which serves one daemon). The
storage layer knows nothing of caches or sessions: it delivers notifications, as
(channel, payload) text, to whoever listens (monitord/replicas/).

Two channels, suffixed with `_<schema>` when the database's schema is not `public`:
- `monitord_live`: the newest samples of each stored batch, sent by `insert_samples(notify=...)`
  in the transaction that stores them;
- `monitord_control`: "<table> <id>" for every row of `servers` and `users` that was added,
  changed or deleted, sent by a trigger in the writing transaction (migration 5).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import NamedTuple, Protocol

import trio

# The most a payload may hold, in bytes; PostgreSQL refuses 8000 and more.
MAX_PAYLOAD_BYTES = 7_500


class Notification(NamedTuple):
    channel: str
    payload: str


class Listener(Protocol):
    """A dedicated database connection that LISTENs on both channels.

    Notifications go into `notifications` (bounded). When it is full, the newest ones are
    dropped and `overflowed` turns true: the receiver must resync from the tables (and reset
    it before it does). `lost` is set once the connection is known to be broken; a heartbeat
    that fails or misses its deadline sets it too (a partition fires nothing else).
    """

    notifications: trio.MemoryReceiveChannel[Notification]
    overflowed: bool
    lost: trio.Event

    async def heartbeat(self) -> None:
        """A round trip within the storage's deadline; raises StorageError (and sets `lost`)."""
        ...

    async def try_lock(self, key: int) -> bool:
        """`pg_try_advisory_lock(key)` on this connection: held until the connection ends."""
        ...


class ReplicaLink(Protocol):
    """The database as a meeting point of replicas."""

    live_channel: str
    control_channel: str

    def listen(self, buffer: int, name: str) -> AbstractAsyncContextManager[Listener]:
        """Open a dedicated connection named `name` (its application_name), LISTEN on both
        channels; raises StorageError."""
        ...

    async def notify(self, channel: str, payload: str) -> None:
        """Send one notification in a transaction of its own (a probe); raises StorageError."""
        ...
