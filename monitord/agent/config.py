"""The agent's settings (CONTRACT §3): TOML decoded once, strict, errors in one line."""

from __future__ import annotations

import math
import ssl
from pathlib import Path
from typing import Annotated

import msgspec

from monitord.token_format import split_agent_token
from monitord.tomlconfig import ConfigError, ListenAddress, decode_toml_file, parse_listen

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]


class AgentSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Everything the agent reads from its config file."""

    # The daemon's gRPC address, "host:port"; or a list of them (several daemons on one
    # PostgreSQL, no load balancer): tried in order, the next at once when one fails, with
    # backoff once all have.
    server: str | list[str] = "127.0.0.1:50051"
    # The agent token printed by `monitord server add`: from a file (re-read at every connect,
    # so a rotated token only needs the file replaced) or inline. Exactly one of the two.
    token_file: str = ""
    token: str = ""
    interval_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 1.0
    # TLS to the daemon; `ca_file` "" trusts the system's CAs.
    tls: bool = False
    ca_file: str = ""
    # How much to keep while the daemon is away; the oldest samples go first beyond it.
    buffer_seconds: Seconds = 3600.0
    # Reconnect delays: full jitter, doubling from 1 s up to this cap.
    reconnect_max_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    # After the daemon rejects the token: one log line, then a retry this often (never a hot loop).
    rejected_retry_seconds: Annotated[float, msgspec.Meta(ge=1, le=86_400)] = 300.0
    # Unacknowledged sends older than this drop the connection (a vanished daemon host).
    tcp_user_timeout_seconds: Seconds = 30.0
    # The TCP connect and the TLS handshake must finish within this, or the attempt counts as
    # failed and is retried with backoff (a host that drops packets, a peer that never answers).
    connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 10.0

    def __post_init__(self) -> None:
        servers = self.servers
        if not servers:
            raise ValueError("`server`: expected a daemon address, or a list of at least one")
        for server in servers:
            try:
                address = parse_listen(server)
            except ValueError as exc:
                raise ValueError(f"`server`: {exc}") from None
            if address.port == 0:
                raise ValueError(f"`server`: the port must be 1-65535, got {server!r}")
        if bool(self.token_file) == bool(self.token):
            raise ValueError("`token_file`: set token_file or token (exactly one)")
        if self.token and split_agent_token(self.token) is None:
            raise ValueError("`token`: expected `<server id>.<secret>` as printed by `monitord server add`")
        if self.ca_file and not self.tls:
            raise ValueError("`ca_file`: only used with tls = true")

    @property
    def servers(self) -> list[str]:
        """The daemon addresses, in the order they are tried."""
        return [self.server] if isinstance(self.server, str) else list(self.server)

    @property
    def addresses(self) -> list[ListenAddress]:
        return [parse_listen(server) for server in self.servers]

    @property
    def buffer_samples(self) -> int:
        return max(1, math.ceil(self.buffer_seconds / self.interval_seconds))


def read_token(settings: AgentSettings) -> str:
    """The agent token, from `token` or `token_file`.

    Raises ConfigError (`token_file: ...`, one line) when the file cannot be read or does not
    hold a token.
    """
    if settings.token:
        return settings.token
    path = Path(settings.token_file)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"token_file: {path}: file not found") from None
    except PermissionError:
        raise ConfigError(f"token_file: {path}: permission denied") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
        raise ConfigError(f"token_file: {path}: cannot read: {reason}") from None
    if split_agent_token(token) is None:
        raise ConfigError(f"token_file: {path}: expected `<server id>.<secret>` as printed by `monitord server add`")
    return token


def client_tls_context(settings: AgentSettings) -> ssl.SSLContext | None:
    """The TLS context for the daemon connection, or None without TLS.

    Raises ConfigError naming `ca_file` when it cannot be loaded.
    """
    if not settings.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=settings.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"ca_file: {settings.ca_file}: {reason}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    return context


def load_agent_settings(path: str | Path) -> AgentSettings:
    """Read and validate the agent config, including the token file and the CA file.

    Raises ConfigError with one line naming the file, the key and what was expected.
    """
    settings = decode_toml_file(path, AgentSettings)
    try:
        read_token(settings)
        client_tls_context(settings)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return settings
