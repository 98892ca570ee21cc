"""Session tokens: HS256 JWTs with a pinned algorithm, required claims and per-user versions."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import jwt
import msgspec

from monitord.models import User, ms_to_datetime

ALGORITHM = "HS256"
ISSUER = "monitord"
LEEWAY_SECONDS = 10
KEY_BYTES = 32


class InvalidToken(Exception):
    """The token is malformed, forged, expired or revoked. The message is safe to show."""


class Claims(msgspec.Struct, frozen=True):
    user_id: int
    token_version: int
    expires_at: float


class TokenIssuer:
    """Issues and verifies session JWTs signed with one secret key."""

    def __init__(self, key: bytes, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError("the JWT key must be at least 32 bytes")
        self._key = key
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    def issue(self, user: User) -> tuple[str, datetime]:
        """A token for `user` and the moment it expires."""
        now = int(self._clock())
        expires = now + self._ttl_seconds
        token = jwt.encode(
            {"sub": str(user.id), "ver": user.token_version, "iat": now, "exp": expires, "iss": ISSUER},
            self._key,
            algorithm=ALGORITHM,
        )
        return token, ms_to_datetime(expires * 1000)

    def verify(self, token: str) -> Claims:
        """Decode and check signature, algorithm, issuer and times; raises InvalidToken."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss"], "verify_iat": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the session has expired; log in again") from None
        except jwt.PyJWTError:
            raise InvalidToken("invalid token") from None
        # PyJWT checks that iat is a number but not that it lies in the past.
        if payload["iat"] > self._clock() + LEEWAY_SECONDS:
            raise InvalidToken("invalid token")
        sub, version = payload["sub"], payload.get("ver")
        if not sub.isdigit() or type(version) is not int:
            raise InvalidToken("invalid token")
        return Claims(user_id=int(sub), token_version=version, expires_at=float(payload["exp"]))


def load_or_create_key(path: Path) -> bytes:
    """Read the JWT key at `path`, creating a random one (mode 0600) on first start.

    Raises OSError when the file cannot be read or written, ValueError when it is too short.
    """
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(KEY_BYTES).encode()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key + b"\n")
        return key
    if len(key) < KEY_BYTES:
        raise ValueError(f"{path}: the JWT key must be at least {KEY_BYTES} bytes")
    return key
