"""Turning a bearer JWT into the user it speaks for; shared by the HTTP API and the WebSocket."""

from __future__ import annotations

from monitord.auth.jwt_tokens import Claims, InvalidToken, TokenIssuer
from monitord.models import User
from monitord.storage import Storage


class SessionAuthenticator:
    """Verifies session tokens against the key and the user's current token version."""

    def __init__(self, tokens: TokenIssuer, storage: Storage) -> None:
        self.tokens = tokens
        self._storage = storage

    async def authenticate(self, token: str) -> tuple[User, Claims]:
        """The user and claims of a valid, unrevoked token; raises InvalidToken otherwise."""
        claims = self.tokens.verify(token)
        user = await self._storage.get_user(claims.user_id)
        if user is None or user.token_version != claims.token_version:
            raise InvalidToken("the session was revoked; log in again")
        return user, claims


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
