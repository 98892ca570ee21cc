"""Logging to stderr with levels. Secrets are never passed to a logger in the first place."""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries kept at WARNING whatever the level: purerpc and hpack are chatty at INFO (STACK trap
# 6), hypercorn repeats our own startup line, and hpack logs every header it encodes or decodes
# at DEBUG, the agents' `authorization: Bearer <token>` included.
QUIET_LOGGERS = ("purerpc", "hpack", "hpack.hpack", "h2", "monitord.hypercorn")


class OneLineFormatter(logging.Formatter):
    """Keeps every record on one line, so a value with a newline cannot forge log entries."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
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
