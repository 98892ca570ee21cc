"""Errors shared by the daemon's parts and its command line (a neutral module: it imports nothing)."""

from __future__ import annotations


class StartupError(Exception):
    """A component could not start; the message is one line for the operator."""
