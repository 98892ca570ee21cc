"""The command line: run the daemon, or manage users and servers in its database.

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
from typing import NoReturn

import msgspec
import trio

from monitord import __version__
from monitord.auth.agent_tokens import new_agent_token
from monitord.auth.bootstrap import write_secret_file
from monitord.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from monitord.config import ConfigError, Settings, load_settings
from monitord.http.serve import StartupError
from monitord.logs import setup_logging
from monitord.models import Role, now_ms
from monitord.storage import AlreadyExists, StorageError, open_storage
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
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", metavar="FILE", help=config_help)
    # Subcommands accept --config too; SUPPRESS keeps them from resetting a top-level value.
    sub_config = argparse.ArgumentParser(add_help=False)
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
    add_user.add_argument("--password-stdin", action="store_true", required=True,
                          help="read the password from the first line of stdin")
    passwd = user.add_parser("passwd", parents=[sub_config], help="set a user's password (revokes their sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True,
                        help="read the password from the first line of stdin")

    server = commands.add_parser("server", help="manage monitored servers").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    add_server = server.add_parser("add", parents=[sub_config], help="register a server and print its agent token")
    add_server.add_argument("name")
    add_server.add_argument("--token-file", metavar="PATH",
                            help="also write the agent token to PATH (mode 0600)")
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
        raise UsageError(f"{what} {value!r} is not allowed (letters, digits and . _ @ - for usernames; "
                         "no control characters, at most 100 characters for server names)") from None


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
        record = await storage.create_server(name, "!", now_ms=now_ms())
        token, token_hash = new_agent_token(record.id)
        await storage.set_agent_token_hash(record.id, token_hash)
    if token_file:
        write_secret_file(Path(token_file), token)
    print(f"server {record.id} registered: {record.name}")
    print(f"agent token (shown once): {token}")


def _run_daemon(settings: Settings) -> None:
    from monitord import daemon

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
    except* (StartupError, StorageError, OSError) as group:
        for exc in group.exceptions:
            log.error("%s", _one_line(exc))
        status = EXIT_FAILURE
    except* KeyboardInterrupt:  # Ctrl-C before the signal watcher took over
        status = EXIT_FAILURE
    return status


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc).replace("\n", " ")
