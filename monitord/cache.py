"""The live cache: every server with its latest metrics, in memory.

It is the source of the REST list and of every WebSocket snapshot. Each server's wire view is
kept ready-made (a frozen `ServerWithDetails`, replaced on change), so a snapshot is a list copy
and never touches the database. Only the daemon's tasks mutate it, all on the trio thread.
"""

from __future__ import annotations

import msgspec

from monitord.models import HostFacts, MetricsSample, ServerRecord, ms_to_datetime
from monitord.wire import ActiveAlert, ServerStatus, ServerWithDetails


def _fact_fields(facts: HostFacts) -> dict[str, object]:
    """The host facts as ServerWithDetails fields (the same names)."""
    return msgspec.structs.asdict(facts)


def _view(
    record: ServerRecord, latest: MetricsSample | None, status: ServerStatus, tags: tuple[str, ...] = ()
) -> ServerWithDetails:
    return ServerWithDetails(
        id=record.id,
        name=record.name,
        status=status,
        # The host facts share the view's field names and types; mypy cannot match a dict by name.
        **_fact_fields(record.facts),  # type: ignore[arg-type]
        last_seen_at=ms_to_datetime(record.last_seen_ms) if record.last_seen_ms is not None else None,
        created_at=ms_to_datetime(record.created_at_ms),
        latest_metrics=latest,
        tags=tags,
    )


class LiveCache:
    """Servers by id, each with its wire view and its agent token hash."""

    def __init__(self) -> None:
        self._views: dict[int, ServerWithDetails] = {}
        self._token_hashes: dict[int, str] = {}
        # Bumped on every change, so a consumer can tell whether anything moved.
        self.version = 0

    @classmethod
    def load(
        cls,
        records: list[ServerRecord],
        latest: dict[int, MetricsSample],
        tags: dict[int, tuple[str, ...]] | None = None,
    ) -> LiveCache:
        """A cache holding `records` (with their `tags`); servers seen before start as offline
        until they report."""
        cache = cls()
        tags = tags or {}
        for record in sorted(records, key=lambda r: r.id):
            status = ServerStatus.PENDING if record.last_seen_ms is None else ServerStatus.OFFLINE
            cache._views[record.id] = _view(record, latest.get(record.id), status, tags.get(record.id, ()))
            cache._token_hashes[record.id] = record.agent_token_hash
        return cache

    def __len__(self) -> int:
        return len(self._views)

    def __contains__(self, server_id: int) -> bool:
        return server_id in self._views

    def servers(self) -> list[ServerWithDetails]:
        """Every server, ordered by id."""
        return list(self._views.values())

    def get(self, server_id: int) -> ServerWithDetails | None:
        return self._views.get(server_id)

    def token_hash(self, server_id: int) -> str | None:
        return self._token_hashes.get(server_id)

    def add(self, record: ServerRecord) -> ServerWithDetails:
        view = _view(record, None, ServerStatus.PENDING)
        out_of_order = bool(self._views) and record.id < next(reversed(self._views))
        self._views[record.id] = view
        self._token_hashes[record.id] = record.agent_token_hash
        if out_of_order:
            self._views = dict(sorted(self._views.items()))
        self.version += 1
        return view

    def remove(self, server_id: int) -> None:
        self._views.pop(server_id, None)
        self._token_hashes.pop(server_id, None)
        self.version += 1

    def set_token_hash(self, server_id: int, token_hash: str) -> None:
        if server_id in self._views:
            self._token_hashes[server_id] = token_hash

    def _replace(self, server_id: int, **changes: object) -> ServerWithDetails | None:
        view = self._views.get(server_id)
        if view is None:
            return None
        view = msgspec.structs.replace(view, **changes)
        self._views[server_id] = view
        self.version += 1
        return view

    def rename(self, server_id: int, name: str) -> ServerWithDetails | None:
        return self._replace(server_id, name=name)

    def set_tags(self, server_id: int, tags: tuple[str, ...]) -> ServerWithDetails | None:
        return self._replace(server_id, tags=tags)

    def set_facts(self, server_id: int, facts: HostFacts) -> ServerWithDetails | None:
        return self._replace(server_id, **_fact_fields(facts))

    def set_status(self, server_id: int, status: ServerStatus) -> ServerWithDetails | None:
        view = self._views.get(server_id)
        if view is None or view.status == status:
            return view
        return self._replace(server_id, status=status)

    def apply_sample(self, server_id: int, sample: MetricsSample) -> ServerWithDetails | None:
        """Make `sample` the latest (unless an newer one is there) and mark the server online."""
        view = self._views.get(server_id)
        if view is None:
            return None
        if view.latest_metrics is not None and view.latest_metrics.time >= sample.time:
            return self.set_status(server_id, ServerStatus.ONLINE)
        return self._replace(server_id, latest_metrics=sample, last_seen_at=sample.time, status=ServerStatus.ONLINE)

    def set_active_alerts(self, server_id: int, alerts: tuple[ActiveAlert, ...]) -> ServerWithDetails | None:
        """Replace the server's firing alerts (issue 15); a no-op when they are the same."""
        view = self._views.get(server_id)
        if view is None or view.active_alerts == alerts:
            return view
        return self._replace(server_id, active_alerts=alerts)

    def update(self, record: ServerRecord) -> bool:
        """Make the cache agree with `record` as re-read from the database (another replica
        changed it): added, renamed, new facts or token. Returns whether its token changed."""
        view = self._views.get(record.id)
        if view is None:
            self.add(record)
            return False
        if view.name != record.name:
            self.rename(record.id, record.name)
        if any(getattr(view, name) != value for name, value in _fact_fields(record.facts).items()):
            self.set_facts(record.id, record.facts)
        changed = self._token_hashes.get(record.id) != record.agent_token_hash
        self._token_hashes[record.id] = record.agent_token_hash
        return changed

    def apply_stored_sample(self, server_id: int, sample: MetricsSample) -> ServerWithDetails | None:
        """Make `sample` the latest if it is newer, leaving the status alone (read back from
        the database, it is no sign that the server is online now)."""
        view = self._views.get(server_id)
        if view is None or (view.latest_metrics is not None and view.latest_metrics.time >= sample.time):
            return view
        return self._replace(server_id, latest_metrics=sample, last_seen_at=sample.time)
