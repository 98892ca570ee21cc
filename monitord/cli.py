"""The command line: run the daemon, manage users and servers in its database, copy databases.

Every failure a user can cause (a typo, a bad file, a taken port) ends with one line on stderr
and a non-zero status: 2 for a bad command line or config, 1 for a runtime failure.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, cast

import msgspec
import trio

from monitord import __version__
from monitord.auth.bootstrap import write_secret_file
from monitord.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from monitord.config import ConfigError, DatabaseSettings, Settings, load_settings
from monitord.errors import StartupError
from monitord.limits import raise_open_files_limit
from monitord.logs import setup_logging
from monitord.models import Role, now_ms
from monitord.servers import ServerRegistry
from monitord.storage import AlreadyExists, StorageError, open_database, open_storage, redact_url
from monitord.storage.transfer import DEFAULT_BATCH_SIZE, TransferStorage, copy_database
from monitord.wire import ServerName, Username

log = logging.getLogger("monitord")

EXIT_FAILURE = 1
EXIT_USAGE = 2
DAEMON_GC_THRESHOLDS = (50_000, 20, 20)


class UsageError(Exception):
    """A bad command line; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    config_help = "TOML config file (default: built-in defaults)"
    config = _Parser(add_help=False)
    config.add_argument("--config", metavar="FILE", help=config_help)
    # Subcommands accept --config too; SUPPRESS keeps them from resetting a top-level value.
    sub_config = _Parser(add_help=False)
    sub_config.add_argument("--config", metavar="FILE", help=config_help, default=argparse.SUPPRESS)

    parser = _Parser(
        prog="python -m monitord",
        description="monitord daemon: real-time server monitoring. Without a command, runs the daemon.",
        parents=[config],
    )
    parser.add_argument("--version", action="version", version=f"monitord {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    user = commands.add_parser("user", help="manage dashboard users").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    add_user = user.add_parser("add", parents=[sub_config], help="create a user")
    add_user.add_argument("name")
    add_user.add_argument("--role", required=True, choices=[role.value for role in Role])
    add_user.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from the first line of stdin"
    )
    passwd = user.add_parser("passwd", parents=[sub_config], help="set a user's password (revokes their sessions)")
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from the first line of stdin"
    )

    server = commands.add_parser("server", help="manage monitored servers").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    add_server = server.add_parser("add", parents=[sub_config], help="register a server and print its agent token")
    add_server.add_argument("name")
    add_server.add_argument("--token-file", metavar="PATH", help="also write the agent token to PATH (mode 0600)")

    db = commands.add_parser("db", help="database tools").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    copy = db.add_parser(
        "copy",
        help="copy users, servers and metric history to another database (resumable)",
        description="Copy users, servers (ids kept) and metric history from one database to another, "
        "e.g. SQLite to PostgreSQL or back. Stop the daemon first. An interrupted copy continues "
        "where it stopped when run again. Database URLs: sqlite:///abs/path.db or "
        "postgresql://user:pass@host:port/dbname.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="the database to copy")
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="an empty database, or one an earlier (interrupted) copy wrote to",
    )
    copy.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"samples per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    copy.add_argument(
        "--connect-timeout-seconds",
        type=float,
        default=10.0,
        metavar="S",
        help="how long to retry an unreachable PostgreSQL (default 10)",
    )
    return parser


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise UsageError(
            f"the password read from stdin must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def _validated(value: str, kind: type, what: str) -> str:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        raise UsageError(
            f"{what} {value!r} is not allowed (letters, digits and . _ @ - for usernames; "
            "no control characters, at most 100 characters for server names)"
        ) from None


async def _add_user(settings: Settings, name: str, role: Role, password: str) -> None:
    async with open_storage(settings) as storage:
        try:
            user = await storage.create_user(name, await hash_password(password), role, now_ms=now_ms())
        except AlreadyExists:
            raise UsageError(f"a user named {name!r} already exists") from None
    print(f"user {user.username} created with role {user.role}")


async def _set_password(settings: Settings, name: str, password: str) -> None:
    async with open_storage(settings) as storage:
        user = await storage.get_user_by_name(name)
        if user is None:
            raise UsageError(f"no user named {name!r}")
        await storage.set_password(user.id, await hash_password(password))
    print(f"password of {name} changed; their open sessions are revoked")


async def _add_server(settings: Settings, name: str, token_file: str | None) -> None:
    async with open_storage(settings) as storage:
        registration = await ServerRegistry(storage).register(name)
    if token_file:
        write_secret_file(Path(token_file), registration.agent_token)
    print(f"server {registration.server.id} registered: {registration.server.name}")
    print(f"agent token (shown once): {registration.agent_token}")


def _database_url(value: str, option: str) -> str:
    """Check a --from/--to URL the way database.url is checked; a missing SQLite source is an error."""
    if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise UsageError(f'{option}: expected "sqlite:///abs/path.db" or "postgresql://user:pass@host:port/db"')
    try:
        DatabaseSettings(url=value)
    except ValueError as exc:  # the message never echoes the URL, which may hold a password
        raise UsageError(f"{option}: {str(exc).removeprefix('`url`: ')}") from None
    if option == "--from" and value.startswith("sqlite:///") and not Path(value.removeprefix("sqlite://")).is_file():
        raise UsageError(f"--from: no SQLite database at {value.removeprefix('sqlite://')}")
    return value


async def _copy_database(source_url: str, target_url: str, batch_size: int, connect_timeout_seconds: float) -> None:
    database = DatabaseSettings(connect_timeout_seconds=connect_timeout_seconds)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    progress(f"copying {redact_url(source_url)} to {redact_url(target_url)}")
    async with open_database(source_url, database) as source, open_database(target_url, database) as target:
        report = await copy_database(
            cast(TransferStorage, source), cast(TransferStorage, target), batch_size=batch_size, progress=progress
        )
    counts = report.verified
    resumed = (
        f" ({report.already_there:,} samples were already there from an earlier run)" if report.already_there else ""
    )
    print(
        f"verified: {counts.users:,} users, {counts.servers:,} servers and {counts.samples:,} samples "
        f"in both databases{resumed}"
    )


def _run_daemon(settings: Settings) -> None:
    from monitord import daemon

    before, after = raise_open_files_limit()
    if after != before:
        log.info("open files limit raised from %d to %d (every agent and dashboard is a socket)", before, after)

    # Each agent connection keeps hundreds of live objects (HTTP/2 state, tasks); with the default
    # thresholds the cyclic GC rescans them all many times a second. Collecting less often cut the
    # daemon's CPU per agent message by about a third with 1000 agents (bench/ingest.py).
    gc.set_threshold(*DAEMON_GC_THRESHOLDS)
    trio.run(daemon.run, settings)


def _dispatch(args: argparse.Namespace) -> None:
    settings = load_settings(args.config)
    if args.command is None:
        _run_daemon(settings)
    elif args.command == "user" and args.action == "add":
        name = _validated(args.name, Username, "username")
        trio.run(_add_user, settings, name, Role(args.role), _read_password())
    elif args.command == "user" and args.action == "passwd":
        trio.run(_set_password, settings, args.name, _read_password())
    elif args.command == "server" and args.action == "add":
        trio.run(_add_server, settings, _validated(args.name, ServerName, "server name"), args.token_file)
    elif args.command == "db" and args.action == "copy":
        source, target = _database_url(args.source, "--from"), _database_url(args.target, "--to")
        if source == target:
            raise UsageError("--from and --to name the same database")
        if args.batch_size < 1 or not args.connect_timeout_seconds > 0:
            raise UsageError("--batch-size and --connect-timeout-seconds must be positive")
        trio.run(_copy_database, source, target, args.batch_size, args.connect_timeout_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m monitord`; returns the exit status."""
    setup_logging()
    status = 0
    try:
        _dispatch(_parser().parse_args(argv))
    except* (UsageError, ConfigError) as group:
        for exc in group.exceptions:
            print(f"monitord: {exc}", file=sys.stderr)
        status = EXIT_USAGE
    except* (StartupError, StorageError, OSError) as failures:
        for failure in failures.exceptions:
            log.error("%s", _one_line(failure))
        status = EXIT_FAILURE
    except* KeyboardInterrupt:  # Ctrl-C before the signal watcher took over
        status = EXIT_FAILURE
    return status


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc).replace("\n", " ")
