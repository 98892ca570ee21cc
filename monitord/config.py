"""The daemon's settings: TOML decoded once into frozen, typed structs.

Every interval, limit and timeout lives here with its unit in the key name. A bad file never
produces a traceback: `load_settings` raises `ConfigError` whose message is one line naming the
file, the key and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

# The TOML machinery is shared with the agent; these names stay importable from here, the
# daemon's config vocabulary.
from monitord.tomlconfig import (
    HOSTNAME,
    ConfigError,
    ListenAddress,
    decode_toml_file,
    describe_validation_error,
    parse_listen,
)

__all__ = [
    "AgentsSettings",
    "AuthSettings",
    "ConfigError",
    "DatabaseSettings",
    "GrpcSettings",
    "HttpSettings",
    "ListenAddress",
    "MetricsSettings",
    "PushSettings",
    "RetentionSettings",
    "Settings",
    "decode_toml_file",
    "describe_validation_error",
    "load_settings",
    "parse_listen",
]

PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=86_400 * 366)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class HttpSettings(_Section, frozen=True):
    listen: str = "127.0.0.1:8080"
    # WebSocket origins allowed besides the dashboard's own, exact "scheme://host[:port]".
    allowed_origins: tuple[str, ...] = ()
    # Names the dashboard is reached by (Host header), besides IP addresses and localhost.
    allowed_hosts: tuple[str, ...] = ()
    # Seconds a response may take to reach a client before the connection is dropped (trap 3).
    tcp_user_timeout_seconds: PositiveSeconds = 25.0
    graceful_timeout_seconds: PositiveSeconds = 5.0
    # Live feeds (/ws/servers) open at once per signed-in user and per client address; one more
    # is refused with 429 before the upgrade. Behind a reverse proxy all clients share its address.
    max_live_feeds_per_user: PositiveInt = 20
    max_live_feeds_per_address: PositiveInt = 100
    # The dashboard's address as browsers reach it, for the agent install command the dashboard
    # shows ("https://monitor.example.com", behind a reverse proxy); "" = the address the browser used.
    public_url: str = ""
    # Public status page requests (GET, token, WebSocket handshakes) per client address: a token
    # bucket refilled at this rate, holding this many (issue 16). One more is refused with 429.
    public_requests_per_second: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)] = 5.0
    public_request_burst: PositiveInt = 30

    def __post_init__(self) -> None:
        _check_listen("listen", self.listen)
        if self.public_url and not re.fullmatch(r"https?://[^/\s?#'\"\\]+(/[^\s?#'\"\\]*)?", self.public_url):
            raise ValueError(
                f'`public_url`: expected an address like "https://monitor.example.com", got {self.public_url!r}'
            )
        for name in self.allowed_hosts:
            if not HOSTNAME.match(name.rstrip(".")):
                raise ValueError(f'`allowed_hosts`: expected host names like "monitor.example.com", got {name!r}')
        for origin in self.allowed_origins:
            if not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(
                    f'`allowed_origins`: expected origins like "https://monitor.example.com", got {origin!r}'
                )

    @property
    def address(self) -> ListenAddress:
        return parse_listen(self.listen)


class GrpcSettings(_Section, frozen=True):
    listen: str = "127.0.0.1:50051"
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # A bigger agent message ends its call with RESOURCE_EXHAUSTED (purerpc's own limit is 32 MiB).
    max_message_bytes: Annotated[int, msgspec.Meta(ge=4096, le=32 * 1024 * 1024)] = 1024 * 1024
    # Agent calls open at once, authenticated or not; one more gets RESOURCE_EXHAUSTED.
    max_concurrent_streams: PositiveInt = 10_000
    # Agent connections open at once; one more is closed as soon as it is accepted. With the
    # handshake timeout this bounds what unauthenticated sockets can cost.
    max_connections: PositiveInt = 10_000
    # A new connection must finish its TLS handshake and open its first call within this time,
    # or it is dropped (idle sockets cost the daemon without ever authenticating).
    handshake_timeout_seconds: PositiveSeconds = 10.0
    # Unacknowledged sends older than this drop the connection (a vanished agent host).
    tcp_user_timeout_seconds: PositiveSeconds = 30.0
    # The agents' address for this daemon, "host:port", in the install command the dashboard
    # shows; "" = the host the browser used with the port of `listen`.
    public_address: str = ""

    def __post_init__(self) -> None:
        _check_listen("listen", self.listen)
        if self.public_address:
            try:
                port = parse_listen(self.public_address).port
            except ValueError as exc:
                raise ValueError(f"`public_address`: {exc}") from None
            if port == 0:
                raise ValueError(f"`public_address`: the port must be 1-65535, got {self.public_address!r}")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            missing = "tls_key_file" if self.tls_cert_file else "tls_cert_file"
            raise ValueError(f"`{missing}`: set tls_cert_file and tls_key_file together (both for TLS, or neither)")

    @property
    def address(self) -> ListenAddress:
        return parse_listen(self.listen)


class DatabaseSettings(_Section, frozen=True):
    # "" = SQLite at {data_dir}/monitord.db; "sqlite:///abs/path.db"; "postgresql://user:pass@host:port/db"
    url: str = ""
    # PostgreSQL only: how long start-up keeps retrying an unreachable database before giving up,
    # and the most connections the daemon keeps open.
    connect_timeout_seconds: PositiveSeconds = 30.0
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    # Accepted agent samples waiting for the database (it is slow, locked or down). Beyond this
    # the oldest waiting samples are dropped, counted and not acked, so their agents re-send them.
    # About 630 bytes each in memory (tracemalloc), so the default holds ~60 MiB at most.
    buffer_samples: Annotated[int, msgspec.Meta(ge=100, le=10_000_000)] = 100_000
    # Every database call must finish within this, or it counts as the database failing (a
    # server that stopped answering without closing the connection): writes are retried, and
    # /api/health says why.
    timeout_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=300)] = 5.0
    # A failed write is retried after 0.1 s, then twice as long each time, up to this.
    retry_max_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=300)] = 5.0
    # On a graceful stop, how long the buffered samples may take to reach the database.
    stop_flush_seconds: Annotated[float, msgspec.Meta(ge=0, le=300)] = 5.0

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(
                '`url`: expected "" (embedded SQLite), "sqlite:///path.db" or '
                f'"postgresql://user:pass@host:port/db", got a value starting {self.url[:12]!r}'
            )
        if self.url.startswith(("postgresql://", "postgres://")) and "," not in urlsplit(self.url).netloc:
            try:
                _ = urlsplit(self.url).port  # parses the port; the message must not echo the URL
            except ValueError:
                raise ValueError("`url`: the port of the PostgreSQL URL must be a number from 0 to 65535") from None


class AuthSettings(_Section, frozen=True):
    token_ttl_seconds: PositiveInt = 43_200
    # "" = {data_dir}/jwt.key, generated on first start.
    jwt_key_file: str = ""
    login_max_failures: PositiveInt = 5
    login_window_seconds: PositiveSeconds = 300.0


class PushSettings(_Section, frozen=True):
    interval_seconds: PositiveSeconds = 2.0
    # A snapshot a client has not taken in this long means it stopped reading: it is cut off.
    send_timeout_seconds: PositiveSeconds = 10.0
    # Public status pages are pushed this often (issue 16), apart from the private push.
    status_page_interval_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 5.0
    # "shared": a client offering permessage-deflate gets each message compressed once for every
    # such client (server_no_context_takeover); "off": every client gets plain frames.
    compression: Literal["shared", "off"] = "shared"


class AgentsSettings(_Section, frozen=True):
    offline_after_seconds: PositiveSeconds = 15.0
    # Per agent: samples accepted per second, on average (a token bucket holding one second's
    # worth). Beyond it the daemon stops reading the stream for a while, so gRPC flow control
    # slows the agent down. A backfilled hour at 1 s takes ~18 s.
    max_samples_per_second: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)] = 200.0
    # Samples stamped further ahead of the daemon's clock are dropped (and counted).
    max_future_skew_seconds: PositiveSeconds = 300.0
    # Samples older than this are dropped (and counted): beyond any agent's buffer.
    max_sample_age_seconds: PositiveSeconds = 86_400.0
    # The single writer stores the samples of every agent together: it flushes when this many
    # are waiting, or this long after the first one arrived, whichever comes first.
    write_batch_samples: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 2000
    write_delay_seconds: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.05
    # An agent call is ended after about this long (±20 %, at random) and the agent reconnects,
    # so that agents spread over replicas that joined later (issue 19). Samples are acked as
    # usual; the agent re-sends what was not, and re-sent samples are stored once.
    call_max_seconds: Annotated[float, msgspec.Meta(ge=1, le=7 * 86_400)] = 1800.0


class MetricsSettings(_Section, frozen=True):
    # "" = GET /metrics is off. Set it to turn the endpoint on; scrapers send it as a bearer token.
    bearer_token: str = ""

    def __post_init__(self) -> None:
        if self.bearer_token and (len(self.bearer_token) < 16 or not self.bearer_token.isprintable()):
            raise ValueError('`bearer_token`: expected at least 16 printable characters, or "" to turn /metrics off')


class RetentionSettings(_Section, frozen=True):
    """How long each tier of metric history is kept (issue 8).

    The tiers nest: raw samples roll up into 1-minute buckets, and those into 1-hour buckets, so
    each tier must outlive the one it is computed from. Raw samples are kept at least 2 hours
    because agents backfill up to an hour of buffered samples after a reconnect, and a late
    sample can only reach the rollups while the raw samples of its minute are still there.
    """

    raw_hours: Annotated[int, msgspec.Meta(ge=2, le=24 * 3660)] = 48
    minute_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 14
    hour_days: Annotated[int, msgspec.Meta(ge=1, le=36_600)] = 400

    def __post_init__(self) -> None:
        if self.minute_days * 24 <= self.raw_hours:
            raise ValueError(
                f"`minute_days`: must keep 1-minute rollups longer than raw samples "
                f"(raw_hours = {self.raw_hours}), got {self.minute_days} days"
            )
        if self.hour_days < self.minute_days:
            raise ValueError(
                f"`hour_days`: must keep 1-hour rollups at least as long as 1-minute ones "
                f"(minute_days = {self.minute_days}), got {self.hour_days}"
            )


class Settings(_Section, frozen=True):
    """Everything the daemon reads from its config file (CONTRACT §3)."""

    data_dir: str = "./data"
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    grpc: GrpcSettings = msgspec.field(default_factory=GrpcSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    push: PushSettings = msgspec.field(default_factory=PushSettings)
    agents: AgentsSettings = msgspec.field(default_factory=AgentsSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def jwt_key_path(self) -> Path:
        return Path(self.auth.jwt_key_file) if self.auth.jwt_key_file else self.data_path / "jwt.key"


def _check_listen(key: str, value: str) -> None:
    try:
        parse_listen(value)
    except ValueError as exc:
        raise ValueError(f"`{key}`: {exc}") from None


def load_settings(path: str | Path | None) -> Settings:
    """Read and validate the daemon config; defaults when `path` is None.

    Raises ConfigError with a one-line message naming the file, the key and what was expected.
    """
    if path is None:
        return Settings()
    return decode_toml_file(path, Settings)
