"""Authentication and authorisation for routes, and strict decoding of JSON bodies."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from quart import g, request

from monitord.auth.jwt_tokens import InvalidToken
from monitord.auth.sessions import bearer_token
from monitord.config import describe_validation_error
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.models import Role, User

View = TypeVar("View", bound=Callable[..., Awaitable[Any]])
Body = TypeVar("Body")

# The largest id SQLite and PostgreSQL bigint hold; larger path ids can name nothing.
MAX_ID = 2**63 - 1


def requires(role: Role) -> Callable[[View], View]:
    """Let the request through only with a valid session whose user has at least `role`.

    401 without a valid token, 403 when a viewer calls an admin route. The user is in `g.user`.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            user = await _authenticate()
            if role is Role.ADMIN and user.role is not Role.ADMIN:
                raise ApiError(403, "forbidden", "this action needs the admin role")
            g.user = user
            return await view(*args, **kwargs)

        # functools.wraps keeps the view's signature at run time; mypy sees the (*args, **kwargs) wrapper.
        return guarded  # type: ignore[return-value]

    return decorate


async def _authenticate() -> User:
    token = bearer_token(request.headers.get("Authorization"))
    challenge = {"WWW-Authenticate": 'Bearer realm="monitord"'}
    if token is None:
        raise ApiError(401, "unauthenticated", "log in first: send Authorization: Bearer <token>", challenge)
    try:
        user, _claims = await app_state().sessions.authenticate(token)
    except InvalidToken as exc:
        raise ApiError(401, "unauthenticated", str(exc), challenge) from None
    return user


def current_user() -> User:
    user: User = g.user
    return user


async def json_body(body_type: type[Body]) -> Body:
    """The request body decoded strictly into `body_type`; 400 with the reason otherwise."""
    data = await request.get_data(cache=False)
    if not data:
        raise ApiError(400, "invalid_request", "expected a JSON body")
    try:
        return msgspec.json.decode(data, type=body_type)
    except msgspec.ValidationError as exc:
        raise ApiError(
            400, "invalid_request", describe_validation_error(exc, root="body", object_word="an object")
        ) from None
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_request", "the body is not valid JSON") from None


def check_id(value: int) -> int:
    """A path id, or 404 when it is beyond what any row can have."""
    if value > MAX_ID:
        raise ApiError(404, "not_found", "no such item")
    return value
