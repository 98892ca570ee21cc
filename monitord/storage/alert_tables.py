"""The alerting tables' columns (issue 15), which the SQL and `db copy` share."""

from __future__ import annotations

EVENT_COLUMNS = ("time_ms", "kind", "rule_id", "server_id", "from_phase", "to_phase", "level", "value", "detail")
_OUTBOX_COLUMNS = ("channel_id", "created_ms", "due_ms", "attempts", "status", "error", "payload")
# `db copy` carries every alerting table: per table its key columns, then the other columns.
ALERT_COPY_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alert_channels": (("id",), ("body",)),
    "alert_rules": (("id",), ("body",)),
    "alert_silences": (("id",), ("body",)),
    "alert_states": (("rule_id", "server_id"), ("body",)),
    "alert_events": (("id",), EVENT_COLUMNS),
    "alert_outbox": (("id",), _OUTBOX_COLUMNS),
}
# The alerting tables whose ids a sequence hands out (`db copy` moves it past the source's).
ALERT_ID_TABLES = tuple(table for table, (key, _) in ALERT_COPY_TABLES.items() if key == ("id",))
