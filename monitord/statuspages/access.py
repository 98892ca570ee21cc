"""Who may read a status page: anyone, whoever knows its password, or whoever holds its share link.

Credentials never travel in a URL:
- a password page takes the password in `Authorization: Basic` (any user name), or a page token
  from `POST /api/public/status/{slug}/token` as `Authorization: Bearer <token>`;
- a share-link page takes its share token as a Bearer token: the dashboard link carries it in
  the URL fragment (`/status/{slug}#key=…`), which browsers never send to a server.
On the WebSocket, where browsers cannot set headers, the token is the subprotocol `token.<…>`.

A page token is `<page id>.<expiry>.<mac>`, an HMAC over the page, the expiry and the page's
password hash under a key of this process: a new password, or a restart, ends every token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

from monitord.auth.passwords import verify_password
from monitord.models import StatusPageRecord
from monitord.statuspages.settings import Access, PageSettings

PAGE_TOKEN_SECONDS = 3600


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


class PageTokens:
    """Issues and checks short-lived page tokens for password pages."""

    def __init__(self, key: bytes | None = None, ttl_seconds: int = PAGE_TOKEN_SECONDS) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self.ttl_seconds = ttl_seconds

    def _mac(self, page: StatusPageRecord, expires: int) -> str:
        message = f"{page.id}.{expires}.{page.password_hash}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, page: StatusPageRecord) -> tuple[str, int]:
        """A token for `page` and its expiry (Unix seconds)."""
        expires = int(time.time()) + self.ttl_seconds
        return f"{page.id}.{expires}.{self._mac(page, expires)}", expires

    def valid(self, page: StatusPageRecord, token: str) -> float | None:
        """Seconds the token has left for `page`, or None when it is not one of its live tokens."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != str(page.id) or not parts[1].isdigit() or len(parts[1]) > 12:
            return None
        expires = int(parts[1])
        if not hmac.compare_digest(parts[2], self._mac(page, expires)):
            return None
        left = expires - time.time()
        return left if left > 0 else None


class Credential:
    """What a request offered: a password (Basic) and/or a token (Bearer or subprotocol)."""

    def __init__(self, password: str | None = None, token: str | None = None) -> None:
        self.password = password
        self.token = token

    @classmethod
    def from_header(cls, header: str | None) -> Credential:
        if not header:
            return cls()
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return cls(token=value.strip())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return cls()
            return cls(password=decoded.partition(":")[2])
        return cls()


async def admitted_for(
    page: StatusPageRecord, settings: PageSettings, credential: Credential, tokens: PageTokens
) -> float | None:
    """How many seconds `credential` may read `page` (inf: no limit), or None when it may not."""
    if settings.access is Access.PUBLIC:
        return float("inf")
    if settings.access is Access.LINK:
        if not settings.share_token or credential.token is None:
            return None
        if not hmac.compare_digest(credential.token.encode(), settings.share_token.encode()):
            return None
        if settings.link_expires_at is None:
            return float("inf")
        left = (settings.link_expires_at - datetime.now(UTC)).total_seconds()
        return left if left > 0 else None
    # A password page.
    if credential.token is not None:
        return tokens.valid(page, credential.token)
    password_ok = (
        credential.password is not None
        and bool(page.password_hash)
        and await verify_password(page.password_hash, credential.password)
    )
    return float(tokens.ttl_seconds) if password_ok else None
