"""Agent tokens: `<server id>.<secret>`, stored only as a SHA-256 hash of the secret.

The id lets the daemon find the server without searching; the secret is compared in constant
time. The secret has 256 bits of entropy, so a fast hash is the right tool (no key stretching
needed, unlike passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_SECRET_BYTES = 32
_UNKNOWN_SERVER_HASH = hashlib.sha256(b"no such server").hexdigest()


def new_agent_secret() -> tuple[str, str]:
    """A fresh secret and the hash to store; the hash does not depend on the server id, so a
    server can be stored with it before its id is known."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return secret, hash_secret(secret)


def agent_token(server_id: int, secret: str) -> str:
    """The token an agent presents: the server id, then the secret."""
    return f"{server_id}.{secret}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_agent_token(token: str) -> tuple[int, str] | None:
    """(server id, secret) from a well-formed token, else None."""
    server_id, dot, secret = token.partition(".")
    # isdigit() alone admits digits int() refuses, such as "²".
    if not dot or not (server_id.isascii() and server_id.isdigit()) or len(server_id) > 18:
        return None
    if not secret or len(secret) > 128:
        return None
    return int(server_id), secret


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time check of `secret` against a stored hash; a None hash never matches."""
    expected = stored_hash if stored_hash is not None else _UNKNOWN_SERVER_HASH
    return hmac.compare_digest(hash_secret(secret), expected) and stored_hash is not None
