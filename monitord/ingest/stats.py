"""Counters of what agents sent and what became of it (exported on /metrics, read by tests)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class IngestStats:
    """Monotonic counters since the daemon started. Mutated only on the trio thread."""

    # Samples that passed validation and were handed to the writer.
    accepted_samples: int = 0
    # Rows the writer stored, and re-sent samples it found already stored.
    stored_samples: int = 0
    duplicate_samples: int = 0
    # Samples dropped by validation, per reason (monitord.ingest.validation.DROP_REASONS).
    dropped_samples: Counter[str] = field(default_factory=Counter)
    # Calls ended by the daemon, per reason ("unauthenticated", "too_many_streams",
    # "message_too_large", "replaced", "revoked", "malformed", "protocol", "storage", "internal").
    ended_calls: Counter[str] = field(default_factory=Counter)
    # Writes the database refused; their samples stayed buffered and were retried.
    failed_writes: int = 0
    # Accepted samples dropped from the full buffer while the database failed (never acked:
    # their agents re-send them).
    overflowed_samples: int = 0
