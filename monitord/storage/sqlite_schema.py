"""SQLite schema migrations, applied in order and recorded in PRAGMA user_version."""

from monitord.models import INTEGER_METRIC_FIELDS, METRIC_FIELDS
from monitord.storage.rollup import bucket_table_columns


def _metric_columns() -> str:
    return ",\n    ".join(
        f"{name} {'INTEGER' if name in INTEGER_METRIC_FIELDS else 'REAL'} NOT NULL" for name in METRIC_FIELDS
    )


MIGRATIONS: tuple[str, ...] = (
    # 1: users, servers and raw metrics.
    f"""
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    agent_token_hash TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '',
    os_type TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    kernel_version TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    cpu_model TEXT NOT NULL DEFAULT '',
    cpu_cores INTEGER NOT NULL DEFAULT 0,
    agent_version TEXT NOT NULL DEFAULT '',
    ip_address TEXT NOT NULL DEFAULT '',
    last_seen_ms INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE metrics (
    server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    time_ms INTEGER NOT NULL,
    {_metric_columns()},
    PRIMARY KEY (server_id, time_ms)
) WITHOUT ROWID;
""",
    # 2: history tiers (1-minute and 1-hour rollups) and what rolling up needs to know; see
    # monitord/storage/rollup.py.
    f"""
CREATE TABLE metrics_1m (
    server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    bucket_ms INTEGER NOT NULL,
    {bucket_table_columns("INTEGER", "REAL", INTEGER_METRIC_FIELDS)},
    PRIMARY KEY (server_id, bucket_ms)
) WITHOUT ROWID;
CREATE TABLE metrics_1h (
    server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    bucket_ms INTEGER NOT NULL,
    {bucket_table_columns("INTEGER", "REAL", INTEGER_METRIC_FIELDS)},
    PRIMARY KEY (server_id, bucket_ms)
) WITHOUT ROWID;
CREATE TABLE rollup_state (
    server_id INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    rolled_up_to_ms INTEGER NOT NULL,
    raw_deleted_before_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE rollup_late (
    server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    bucket_ms INTEGER NOT NULL,
    PRIMARY KEY (server_id, bucket_ms)
) WITHOUT ROWID;
""",
    # 3: tags, grants, status pages (issue 16). A user without a grant row sees every server;
    # a grant's tags and server ids are JSON arrays. A page's settings are JSON (monitord/statuspages).
    """
CREATE TABLE tags (
    name TEXT PRIMARY KEY,
    color TEXT NOT NULL DEFAULT ''
);
CREATE TABLE server_tags (
    server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    tag TEXT NOT NULL REFERENCES tags(name) ON DELETE CASCADE,
    PRIMARY KEY (server_id, tag)
);
CREATE TABLE user_grants (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tags TEXT NOT NULL,
    server_ids TEXT NOT NULL
);
CREATE TABLE status_pages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
""",
    # 4: alerts (issue 15): channels, rules and silences as JSON bodies, pair states, history, outbox.
    """
CREATE TABLE alert_channels (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE alert_rules (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE alert_silences (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE alert_states (
    rule_id INTEGER NOT NULL,
    server_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (rule_id, server_id)
);
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    rule_id INTEGER NOT NULL,
    server_id INTEGER NOT NULL,
    from_phase TEXT NOT NULL,
    to_phase TEXT NOT NULL,
    level TEXT,
    value REAL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_time ON alert_events (time_ms);
CREATE TABLE alert_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL
);
CREATE INDEX alert_outbox_due ON alert_outbox (status, due_ms);
""",
    # 5: replicas (issue 19): the secrets every daemon on one database shares (the JWT signing
    # key). The change notifications of PostgreSQL's migration 5 have no use here: SQLite serves
    # one daemon.
    """
CREATE TABLE monitord_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
""",
    # 6: replicas share tags, grants, status pages and alerts (issue 19): on PostgreSQL, change
    # notifications for those tables. Nothing here (SQLite serves one daemon); the entry keeps a
    # version meaning the same schema on both engines.
    "",
)
