"""`python -m monitord.agent --config FILE`: run the agent until SIGTERM or Ctrl-C (status 0).

A bad command line or config exits with status 2 and one line on stderr naming the file, the
key and what was expected, like the daemon.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import trio

from monitord import __version__
from monitord.agent.config import AgentSettings, load_agent_settings
from monitord.logs import setup_logging
from monitord.tomlconfig import ConfigError

log = logging.getLogger("monitord.agent")

EXIT_USAGE = 2
PROG = "python -m monitord.agent"


class UsageError(Exception):
    """A bad command line; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="monitord agent: streams this host's metrics to the daemon.")
    parser.add_argument("--config", metavar="FILE", required=True, help="agent TOML config file")
    parser.add_argument("--version", action="version", version=f"monitord-agent {__version__}")
    return parser


async def run_until_signal(settings: AgentSettings) -> None:
    """Run the agent until SIGTERM or SIGINT, then stop (buffered samples are not kept)."""
    from monitord.agent.run import Agent

    agent = Agent(settings)
    # The receiver stays installed until everything has stopped, so a second signal during the
    # stop cannot kill the process with the default action (status 143 instead of 0).
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(agent.run)
            log.info(
                "monitord agent %s reporting to %s every %g s",
                __version__,
                ", ".join(settings.servers),
                settings.interval_seconds,
            )
            async for signum in signals:
                log.info("%s received: stopping", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    setup_logging()
    try:
        args = _parser().parse_args(argv)
        settings = load_agent_settings(args.config)
    except (UsageError, ConfigError) as exc:
        print(f"monitord-agent: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        trio.run(run_until_signal, settings)
    except KeyboardInterrupt:  # Ctrl-C before the signal receiver was installed
        pass
    log.info("monitord agent stopped")
    return 0
