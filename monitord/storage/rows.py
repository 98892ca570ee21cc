"""Columns and row conversions shared by both backends.

sqlite3.Row and asyncpg.Record both read columns by name, so one set of conversions serves
both (and the statements of shared.py).
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from monitord.models import (
    METRIC_FIELDS,
    HostFacts,
    MetricsSample,
    Role,
    ServerRecord,
    StatusPageRecord,
    User,
    datetime_to_ms,
    ms_to_datetime,
)

FACT_COLUMNS = tuple(HostFacts.__struct_fields__)
SERVER_COLUMNS = ("id", "name", "agent_token_hash", *FACT_COLUMNS, "last_seen_ms", "created_at_ms")
USER_COLUMNS = ("id", "username", "role", "password_hash", "token_version", "created_at_ms")
SAMPLE_COLUMNS = ("time_ms", *METRIC_FIELDS)


class Row(Protocol):
    """A result row of either driver (sqlite3.Row, asyncpg.Record): its columns by name."""

    def __getitem__(self, column: str, /) -> Any: ...


def user_from_row(row: Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        token_version=row["token_version"],
        created_at_ms=row["created_at_ms"],
    )


def server_from_row(row: Row) -> ServerRecord:
    return ServerRecord(
        id=row["id"],
        name=row["name"],
        agent_token_hash=row["agent_token_hash"],
        facts=HostFacts(**{name: row[name] for name in FACT_COLUMNS}),
        last_seen_ms=row["last_seen_ms"],
        created_at_ms=row["created_at_ms"],
    )


def sample_from_row(row: Row) -> MetricsSample:
    return MetricsSample(time=ms_to_datetime(row["time_ms"]), **{name: row[name] for name in METRIC_FIELDS})


def sample_values(sample: MetricsSample) -> tuple[Any, ...]:
    """The sample in SAMPLE_COLUMNS order; this runs for every ingested sample."""
    # astuple is C and follows the field order: time first, then METRIC_FIELDS.
    values = msgspec.structs.astuple(sample)
    return (datetime_to_ms(values[0]), *values[1:])


def page_from_row(row: Row) -> StatusPageRecord:
    return StatusPageRecord(
        id=row["id"],
        slug=row["slug"],
        config=row["config"],
        password_hash=row["password_hash"],
        created_at_ms=row["created_at_ms"],
    )
