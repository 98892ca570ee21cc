"""The storage interface every backend implements, and the errors it raises.

Both backends (SQLite, PostgreSQL) pass the same contract suite in tests/storage. Methods are
async and safe to call from any trio task; a backend serialises or pools as it needs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from monitord.models import Grant, HostFacts, MetricsSample, Role, ServerRecord, StatusPageRecord, Tag, User
from monitord.storage.replication import ReplicaLink

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


class StorageError(Exception):
    """The database failed; the message is safe to show (no SQL, no credentials)."""


class StorageFull(StorageError):
    """The disk (or a configured size limit) is full: writes fail until space is freed."""


class AlreadyExists(StorageError):
    """A unique name (or id) is taken."""


class Tier(enum.StrEnum):
    """A resolution of the metric history: raw samples, or rollups into fixed buckets."""

    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"

    @property
    def width_ms(self) -> int:
        """How much time one row of this tier stands for (1 ms for raw samples)."""
        return {Tier.RAW: 1, Tier.MINUTE: MINUTE_MS, Tier.HOUR: HOUR_MS}[self]


class BucketAggregate(msgspec.Struct, frozen=True, kw_only=True):
    """The samples of one history bucket [bucket_ms, bucket_ms + step), summarised.

    `gauges` follow GAUGE_METRIC_FIELDS: their averages, or their maxima when those were asked
    for. `lasts` follow COUNTER_METRIC_FIELDS: the value of the newest sample in the bucket.
    `sample_count` is how many raw samples the bucket covers.
    """

    bucket_ms: int
    sample_count: int
    gauges: tuple[float, ...]
    lasts: tuple[int, ...]


class RollupProgress(msgspec.Struct, frozen=True, kw_only=True):
    """What one `roll_up` call did: raw samples rolled up, and whether every server now is."""

    samples: int
    caught_up: bool


class RetentionCutoffs(msgspec.Struct, frozen=True, kw_only=True):
    """Rows older than these moments (ms) are due for deletion, tier by tier."""

    raw_before_ms: int
    minute_before_ms: int
    hour_before_ms: int


class AlertTable(enum.StrEnum):
    """The alert configuration kinds, each stored as id → JSON body (issue 15)."""

    CHANNELS = "channels"
    RULES = "rules"
    SILENCES = "silences"


class AlertEventRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of alert history: a pair's transition (kind "transition"; "suppressed" when a
    silence held its message back) or a delivery attempt (kind "delivery", server_id 0,
    `detail` the outcome)."""

    time_ms: int
    kind: str
    rule_id: int
    server_id: int
    from_phase: str
    to_phase: str
    level: str | None
    value: float | None
    detail: str = ""


class AlertDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A message in the outbox for one channel."""

    id: int
    channel_id: int
    created_ms: int
    due_ms: int
    attempts: int
    payload: str


class AlertDeliveryOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """How an attempted delivery stands: "pending" (to be retried at `due_ms`), or "sent" /
    "failed" (finished at `due_ms`), with the last attempt's error ("" when it worked)."""

    channel_id: int
    status: str
    attempts: int
    due_ms: int
    error: str


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

    # --- tags, grants, status pages ---------------------------------------------------------
    async def set_server_tags(self, server_id: int, tags: Sequence[str]) -> None:
        """Make `tags` the server's tags (creating tags not seen before); one transaction.
        Tags left with no server and no colour are forgotten."""
        ...

    async def server_tags(self) -> dict[int, tuple[str, ...]]:
        """The tags of every server that has any, sorted by name."""
        ...

    async def list_tags(self) -> list[Tag]:
        """Every tag with its colour and how many servers carry it, by name."""
        ...

    async def set_tag_color(self, name: str, color: str) -> bool:
        """False when there is no such tag."""
        ...

    async def list_grants(self) -> dict[int, Grant]:
        """The restricted grants by user id; a user absent here sees every server."""
        ...

    async def set_grant(self, user_id: int, grant: Grant) -> bool:
        """Store the user's grant (`all` removes the restriction); False when there is no such user."""
        ...

    async def create_status_page(self, slug: str, config: str, password_hash: str, *, now_ms: int) -> StatusPageRecord:
        """Raises AlreadyExists when the slug is taken."""
        ...

    async def get_status_page(self, page_id: int) -> StatusPageRecord | None: ...

    async def get_status_page_by_slug(self, slug: str) -> StatusPageRecord | None: ...

    async def list_status_pages(self) -> list[StatusPageRecord]: ...

    async def update_status_page(
        self, page_id: int, slug: str, config: str, password_hash: str
    ) -> StatusPageRecord | None:
        """Replace the page's slug, settings and password hash; raises AlreadyExists when the slug is taken."""
        ...

    async def delete_status_page(self, page_id: int) -> bool: ...

    # --- metrics -----------------------------------------------------------------------------
    async def insert_samples(self, batch: Sequence[tuple[int, MetricsSample]], *, notify: Sequence[str] = ()) -> int:
        """Store (server_id, sample) pairs in one transaction; durable when this returns.

        A sample whose (server, time) is already stored is skipped, so re-sent samples are stored
        once. Samples of servers deleted meanwhile are skipped. Advances each server's last-seen
        time. Returns how many rows were new.

        `notify`: payloads sent on the live channel in the same transaction, so other replicas
        hear of committed samples only (see storage/replication.py); ignored without one
        (SQLite).
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

    # --- replicas ------------------------------------------------------------------------------
    async def shared_secret(self, name: str, proposal: bytes) -> bytes:
        """The secret stored under `name`; `proposal` is stored first when there is none, so
        every daemon on this database gets the same one (the first to ask wins)."""
        ...

    def replication(self) -> ReplicaLink | None:
        """How replicas meet in this database (PostgreSQL), or None (SQLite: one daemon)."""
        ...

    # --- history: rollups, retention, ranged queries ----------------------------------------
    async def roll_up(self, until_ms: int, *, max_samples: int) -> RollupProgress:
        """Roll raw samples before `until_ms` (minute-aligned) into 1-minute buckets, and every
        hour those complete into 1-hour buckets; one short transaction.

        Each server has a watermark: everything before it is rolled up. One call moves the
        watermarks of as many servers as it can while reading at most about `max_samples` raw
        samples (a single minute is never split), so callers loop until `caught_up`.
        Re-running is harmless: buckets are recomputed from their sources and replaced.
        """
        ...

    async def roll_up_late(self, *, max_buckets: int) -> int:
        """Recompute up to `max_buckets` 1-minute buckets that got samples after they were rolled
        up (a backfill), and the hours around them; one short transaction. Returns how many.

        `insert_samples` notes such buckets as it stores the samples. A bucket whose raw samples
        retention has already begun to delete cannot be recomputed and is forgotten instead.
        """
        ...

    async def delete_expired(self, cutoffs: RetentionCutoffs, *, max_rows: int) -> int:
        """Delete up to `max_rows` rows that are due, oldest first; one short transaction.

        Raw samples and 1-minute buckets are kept, whatever the cutoffs say, until they are
        rolled up into the next tier. Returns how many rows went; 0 means nothing is due.
        """
        ...

    async def reclaim_space(self, *, max_pages: int) -> int:
        """Give up to `max_pages` free pages back to the file system (SQLite); returns how many
        are left to give. PostgreSQL reuses the space of deleted rows by itself: always 0."""
        ...

    async def size_bytes(self) -> int:
        """Bytes the database takes on disk (SQLite: the file and its WAL; PostgreSQL: tables,
        indexes and TOAST of this schema)."""
        ...

    async def history(
        self, server_id: int, tier: Tier, from_ms: int, to_ms: int, step_ms: int, *, maximum: bool = False
    ) -> list[BucketAggregate]:
        """The history of one server in [from_ms, to_ms), summarised into buckets of `step_ms`
        (aligned to multiples of `step_ms` since the epoch), oldest first; empty buckets are
        absent. Gauges are averaged, or their maxima taken with `maximum` (only what is asked
        for is computed: each costs as much again). Read in one consistent snapshot.

        Reads `tier` (whose rows count in the bucket holding their start); the stretch after the
        tier's watermark, not rolled up yet, is read from the finer tiers. `step_ms` must be a
        multiple of the tier's width.
        """
        ...

    # --- alerts (issue 15; SQL in storage/alerts_sql.py) -------------------------------------
    async def list_alert_config(self, table: AlertTable) -> list[tuple[int, str]]:
        """Every (id, JSON body) of the table, by id."""
        ...

    async def create_alert_config(self, table: AlertTable, body: str) -> int:
        """Store a new body; returns its id."""
        ...

    async def update_alert_config(self, table: AlertTable, config_id: int, body: str) -> bool: ...

    async def delete_alert_config(self, table: AlertTable, config_id: int) -> bool: ...

    async def list_alert_states(self) -> list[tuple[int, int, str]]:
        """Every persisted (rule id, server id, JSON state)."""
        ...

    async def save_alert_changes(
        self,
        states: Sequence[tuple[int, int, str | None]],
        events: Sequence[AlertEventRow],
        deliveries: Sequence[tuple[int, int, str]],
        *,
        now_ms: int,
    ) -> None:
        """In one transaction: upsert (body) or delete (None) pair states, append history events
        and queue (channel id, due ms, payload) deliveries. So a restart never loses a firing
        alert nor notifies one twice."""
        ...

    async def alert_events(
        self,
        from_ms: int,
        to_ms: int,
        *,
        server_id: int | None = None,
        rule_id: int | None = None,
        limit: int = 1000,
        server_visible: Callable[[int], bool] | None = None,
    ) -> list[AlertEventRow]:
        """History in [from_ms, to_ms), newest first, at most `limit`; with `server_visible`,
        only the events of servers it accepts (a delivery event's server id is 0)."""
        ...

    async def due_alert_deliveries(self, now_ms: int, limit: int) -> list[AlertDelivery]:
        """Pending deliveries due at `now_ms`, oldest due first."""
        ...

    async def last_alert_delivery_outcomes(self) -> list[AlertDeliveryOutcome]:
        """Per channel, its last finished delivery (the latest `due_ms`), plus every delivery
        waiting for a retry: enough to tell which channels are failing after a restart."""
        ...

    async def next_alert_delivery_ms(self) -> int | None:
        """When the next pending delivery is due; None when none is pending."""
        ...

    async def finish_alert_delivery(
        self, delivery_id: int, *, status: str, attempts: int, due_ms: int, error: str, event: AlertEventRow
    ) -> None:
        """Record an attempt: status "pending" (retry at `due_ms`), "sent" or "failed", with its event."""
        ...

    async def expire_alert_history(self, before_ms: int, *, max_rows: int) -> int:
        """Delete up to `max_rows` events and finished deliveries older than `before_ms`."""
        ...
