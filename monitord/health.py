"""The database's health as the daemon sees it: learnt by the sample writer, reported by /api/health
and /metrics.

A neutral module, so the HTTP side reads the state without importing the agent (gRPC) side.
"""

from __future__ import annotations

import enum
from typing import Protocol


class DatabaseState(enum.StrEnum):
    """How the last write went: the `database` field of /api/health."""

    OK = "ok"
    UNAVAILABLE = "unavailable"  # locked, unreachable, refusing connections...
    FULL = "full"  # no disk space (or size limit) left: needs an operator


class DatabaseHealth(Protocol):
    """What the part that writes agent samples knows about the database (the sample writer)."""

    @property
    def state(self) -> DatabaseState: ...

    @property
    def reason(self) -> str:
        """Why the last write failed ("" while writes work), safe to show."""
        ...

    @property
    def buffered_samples(self) -> int:
        """Accepted samples not stored yet."""
        ...

    @property
    def overflowed_samples(self) -> int:
        """Accepted samples dropped from the full buffer since the daemon started."""
        ...


class ReplicaHealth(Protocol):
    """Whether this daemon hears the other replicas on its database (monitord/replicas)."""

    @property
    def listening(self) -> bool: ...

    @property
    def reason(self) -> str:
        """Why it does not ("" while it does), safe to show."""
        ...
