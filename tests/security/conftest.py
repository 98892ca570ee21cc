"""Fixtures for the security tests: the daemon's own logging, captured line by line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from monitord.logs import LOG_FORMAT, QUIET_LOGGERS, OneLineFormatter, set_levels


class CapturedLog(logging.Handler):
    """Every record from every logger, formatted as the daemon writes it to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(OneLineFormatter(LOG_FORMAT))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[CapturedLog]:
    """The daemon's logging configured for DEBUG (monitord.logs.set_levels), captured.

    Levels are restored afterwards, so other tests see pytest's defaults again.
    """
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", *QUIET_LOGGERS)}
    captured = CapturedLog()
    root.addHandler(captured)
    set_levels("DEBUG")
    try:
        yield captured
    finally:
        root.removeHandler(captured)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
