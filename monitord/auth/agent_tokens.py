"""Agent tokens: `<server id>.<secret>`, stored only as a SHA-256 hash of the secret.

The id lets the daemon find the server without searching; the secret is compared in constant
time. The secret has 256 bits of entropy, so a fast hash is the right tool (no key stretching
needed, unlike passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from monitord.token_format import split_agent_token

# split_agent_token is re-exported: the daemon's callers read tokens through this module.
__all__ = ["hash_secret", "new_agent_secret", "secret_matches", "split_agent_token"]

_SECRET_BYTES = 32
_UNKNOWN_SERVER_HASH = hashlib.sha256(b"no such server").hexdigest()


def new_agent_secret() -> tuple[str, str]:
    """A fresh secret and the hash to store; the hash does not depend on the server id, so a
    server can be stored with it before its id is known."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time check of `secret` against a stored hash; a None hash never matches."""
    expected = stored_hash if stored_hash is not None else _UNKNOWN_SERVER_HASH
    return hmac.compare_digest(hash_secret(secret), expected) and stored_hash is not None
