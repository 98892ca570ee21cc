"""Turning a bearer JWT into the user it speaks for; shared by the HTTP API and the WebSocket."""

from __future__ import annotations

from monitord.auth.jwt_tokens import Claims, InvalidToken, TokenIssuer
from monitord.models import User
from monitord.storage import Storage, StorageError


class SessionAuthenticator:
    """Verifies session tokens against the key and the user's current token version.

    The user is read from the database on every check, so a revocation (password change, user
    deleted) takes effect at once. While the database cannot be read, the user as last read is
    used instead: a revocation needs a working database too, so the last read is still current,
    and signed-in users keep reading the live data the daemon holds in memory through an outage.
    A user never read since start gets the StorageError (503).
    """

    def __init__(self, tokens: TokenIssuer, storage: Storage) -> None:
        self.tokens = tokens
        self._storage = storage
        self._last_read: dict[int, User] = {}

    async def authenticate(self, token: str) -> tuple[User, Claims]:
        """The user and claims of a valid, unrevoked token; raises InvalidToken otherwise, and
        StorageError when the database fails and this user was never read before."""
        claims = self.tokens.verify(token)
        user = await self._current_user(claims.user_id)
        if user is None or user.token_version != claims.token_version:
            raise InvalidToken("the session was revoked; log in again")
        return user, claims

    async def _current_user(self, user_id: int) -> User | None:
        try:
            user = await self._storage.get_user(user_id)
        except StorageError:
            if user_id not in self._last_read:
                raise
            return self._last_read[user_id]
        if user is None:
            self._last_read.pop(user_id, None)
        else:
            self._last_read[user_id] = user
        return user


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
