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
    # 3: replicas (issue 19): the secrets every daemon on one database shares (the JWT signing
    # key). The change notifications of PostgreSQL's migration 3 have no use here: SQLite serves
    # one daemon.
    """
CREATE TABLE monitord_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
""",
)
