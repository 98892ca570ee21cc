"""Password hashing with Argon2id, run off the event loop (each hash costs tens of ms)."""

from __future__ import annotations

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


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    """Argon2id hash of `password`, computed in a worker thread."""
    return await trio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a None hash (unknown user) still costs one verification."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await trio.to_thread.run_sync(verify)
