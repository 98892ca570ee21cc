"""Logging to stderr with levels. Secrets are never passed to a logger in the first place."""

from __future__ import annotations

import logging
import sys


class _OneLineFormatter(logging.Formatter):
    """Keeps every record on one line, so a value with a newline cannot forge log entries."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        first, *rest = text.split("\n")
        if record.exc_info and rest:
            return text  # tracebacks stay readable; they never carry client input verbatim
        return first if not rest else first + "\\n" + "\\n".join(rest)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # purerpc and hpack are chatty at INFO (STACK trap 6); hypercorn repeats our own startup line.
    for noisy in ("purerpc", "hpack", "hpack.hpack", "h2", "monitord.hypercorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
