"""What crosses HTTP and the WebSocket: msgspec structs with camelCase keys (CONTRACT §4–5).

The REST list and the push carry the same `ServerWithDetails` items, encoded by one encoder.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec

from monitord.models import MetricsSample, Role


class ServerStatus(enum.StrEnum):
    PENDING = "pending"  # registered, never reported
    ONLINE = "online"
    OFFLINE = "offline"  # silent for agents.offline_after_seconds


Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
# Free text shown in the dashboard: no control characters, bounded.
ServerName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")
]


# A tag: short, safe in a URL path segment and in a grant key (no comma or semicolon).
TagName = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[\w.:-]+$")]
TagColor = Annotated[str, msgspec.Meta(pattern=r"^(#[0-9a-fA-F]{6})?$")]
ServerId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
MAX_TAGS_PER_SERVER = 32
MAX_GRANT_ITEMS = 1000


class _Wire(msgspec.Struct, rename="camel", kw_only=True):
    pass


class _FrozenWire(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """A wire model that is shared once built (the live cache hands the same object to every reader)."""


class ActiveAlert(_FrozenWire, frozen=True):
    """An alert firing on a server (issue 15): `ServerWithDetails.activeAlerts` items."""

    rule_id: int
    rule_name: str
    level: str | None  # "warning" | "critical"
    since: datetime


class ServerWithDetails(_FrozenWire, frozen=True):
    id: int
    name: str
    ip_address: str
    status: ServerStatus
    os_type: str
    os_version: str
    hostname: str
    kernel_version: str
    arch: str
    cpu_model: str
    cpu_cores: int
    agent_version: str
    last_seen_at: datetime | None
    created_at: datetime
    latest_metrics: MetricsSample | None
    tags: tuple[str, ...] = ()  # issue 16: sorted by name
    # Issue 15, additive: the alerts firing on this server (empty when none).
    active_alerts: tuple[ActiveAlert, ...] = ()


class ServerList(_Wire):
    servers: list[ServerWithDetails]


class FullServerList(_Wire, tag="fullServerList", tag_field="type"):
    """The WebSocket push message."""

    generated_at: datetime
    servers: list[ServerWithDetails]


class UserView(_Wire):
    id: int
    username: str
    role: Role


class LoginRequest(_Wire, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(max_length=256)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class LoginResponse(_Wire):
    token: str
    expires_at: datetime
    user: UserView


class PasswordChangeRequest(_Wire, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Password


class UserCreateRequest(_Wire, forbid_unknown_fields=True):
    username: Username
    password: Password
    role: Role


class UserList(_Wire):
    users: list[UserView]


class ServerNameRequest(_Wire, forbid_unknown_fields=True):
    name: ServerName


class ServerPatchRequest(_Wire, forbid_unknown_fields=True):
    """`PATCH /api/servers/{id}`: a new name, new tags (replacing the old ones), or both."""

    name: ServerName | None = None
    tags: Annotated[list[TagName], msgspec.Meta(max_length=MAX_TAGS_PER_SERVER)] | None = None


class TagView(_Wire):
    name: str
    color: str
    count: int


class TagList(_Wire):
    tags: list[TagView]


class TagPatchRequest(_Wire, forbid_unknown_fields=True):
    color: TagColor


class GrantView(_Wire, forbid_unknown_fields=True):
    """A viewer's grant: `{"all": true}`, or the tags and server ids whose servers it may see."""

    all: bool
    tags: Annotated[list[TagName], msgspec.Meta(max_length=MAX_GRANT_ITEMS)] = []
    server_ids: Annotated[list[ServerId], msgspec.Meta(max_length=MAX_GRANT_ITEMS)] = []


class UserDetail(_Wire):
    """`GET /api/users/{id}`: the user and its grant."""

    id: int
    username: str
    role: Role
    grant: GrantView


class ServerCreated(_Wire):
    server: ServerWithDetails
    agent_token: str


class AgentTokenResponse(_Wire):
    agent_token: str


class MetricsHistory(_Wire):
    """`GET /api/servers/{id}/metrics`: the points, and the step (seconds) and tier they came
    from (the step may be coarser than asked, see monitord/history/ranges.py)."""

    points: list[MetricsSample]
    step: int
    tier: str


class ErrorBody(_Wire):
    code: str
    message: str


class ErrorResponse(_Wire):
    error: ErrorBody


class Health(_Wire, omit_defaults=True):
    status: str  # "ok" | "degraded"
    version: str
    database: str  # "ok" | "unavailable" | "full" (no space left)
    uptime_seconds: float
    servers: int
    # Accepted agent samples not stored yet, and those dropped from the full buffer so far.
    buffered_samples: int
    overflowed_samples: int
    # Why the database is not ok, in words (absent while it is).
    reason: str = ""
    # PostgreSQL only: "ok" while this daemon hears the other replicas, else "degraded" (and
    # `reason` says why); absent on SQLite.
    replicas: str = ""


encoder = msgspec.json.Encoder()


class AgentInstallInfo(_Wire):
    """`GET /api/agent/install`: what the dashboard's add-server dialog shows (issue 14)."""

    version: str
    daemon_url: str  # http.public_url, else the address the browser used
    grpc_address: str  # grpc.public_address, else the browser's host with the gRPC port
    tls: bool
    # One line to paste on the new host; the token is typed or piped in, never part of it.
    install_command: str


class UserRoleRequest(_Wire, forbid_unknown_fields=True):
    role: Role


class PasswordResetRequest(_Wire, forbid_unknown_fields=True):
    # Omitted: the daemon generates one and returns it once.
    password: Password | None = None


class PasswordResetResponse(_Wire):
    user: UserView
    # The generated password, shown once; None when the admin chose it.
    password: str | None = None
