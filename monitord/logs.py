"""Logging to stderr with levels. Secrets are never passed to a logger in the first place."""

from __future__ import annotations

import logging
import re
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries kept at WARNING whatever the level: purerpc and hpack are chatty at INFO (STACK trap
# 6), hypercorn repeats our own startup line, and hpack logs every header it encodes or decodes
# at DEBUG, the agents' `authorization: Bearer <token>` included.
QUIET_LOGGERS = ("purerpc", "hpack", "hpack.hpack", "h2", "monitord.hypercorn")


# Characters that end a line or drive a terminal, other than \n (handled below) and \t: a
# carriage return would let a value overwrite the start of its own line on a console.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class OneLineFormatter(logging.Formatter):
    """Keeps every record on one line, so a value with a newline cannot forge log entries.

    Newlines become a literal backslash-n (except between the lines of a traceback) and other
    control characters are escaped the same way (\\r, \\x1b).
    """

    def format(self, record: logging.LogRecord) -> str:
        text = _CONTROL.sub(_escaped, super().format(record))
        first, *rest = text.split("\n")
        if record.exc_info and rest:
            return text  # tracebacks stay readable; they never carry client input verbatim
        return first if not rest else first + "\\n" + "\\n".join(rest)


def set_levels(level: str) -> None:
    """Set the root logger to `level`, with the QUIET_LOGGERS held at WARNING."""
    logging.getLogger().setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging(level: str = "INFO") -> None:
    """Send every record to stderr, one line each (OneLineFormatter), from `level` up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    logging.getLogger().handlers[:] = [handler]
    set_levels(level)
