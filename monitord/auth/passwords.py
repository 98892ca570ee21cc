"""Password hashing with Argon2id, run off the event loop (each hash costs tens of ms)."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's Argon2id baseline (19 MiB, 2 passes, 1 lane): ~30 ms here, where argon2-cffi's
# default (64 MiB, 3 passes) costs ~170 ms of a small server's CPU per login attempt.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("monitord timing equaliser")

MAX_PASSWORD_LENGTH = 1024
MIN_PASSWORD_LENGTH = 8

# Hashes running at once, per trio run: one per core, and at most 2. Each holds 19 MiB, so
# trio's default of 40 threads let a flood of unauthenticated logins take ~760 MiB and every
# core. Two threads still hash ~60 passwords a second; logins and password changes are rare.
MAX_HASHING_THREADS = 2
_hashing_threads: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar("monitord_hashing_threads")

T = TypeVar("T")


async def hash_password(password: str) -> str:
    """Argon2id hash of `password`, computed in a worker thread (MAX_HASHING_THREADS at most)."""
    return await _run_hashing(partial(_hasher.hash, password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a None hash (unknown user) still costs one verification."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await _run_hashing(verify)


async def _run_hashing(function: Callable[[], T]) -> T:
    """Run `function` in a thread of the hashing limiter, waiting for one to be free."""
    try:
        limiter = _hashing_threads.get()
    except LookupError:
        limiter = trio.CapacityLimiter(min(_usable_cores(), MAX_HASHING_THREADS))
        _hashing_threads.set(limiter)
    return await trio.to_thread.run_sync(function, limiter=limiter)


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
