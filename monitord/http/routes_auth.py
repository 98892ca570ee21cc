"""/api/auth: log in, who am I, change my password."""

from __future__ import annotations

import logging

from quart import Blueprint, Response, request

from monitord.auth.login_limiter import LoginAttempt, LoginLimiter, LoginThrottled
from monitord.auth.passwords import hash_password, verify_password
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.models import Role, User
from monitord.wire import LoginRequest, LoginResponse, PasswordChangeRequest, UserView

log = logging.getLogger("monitord.auth")
blueprint = Blueprint("auth", __name__, url_prefix="/api/auth")


def user_view(user: User) -> UserView:
    return UserView(id=user.id, username=user.username, role=user.role)


def _client_address() -> str:
    return request.remote_addr or "unknown"


@blueprint.post("/login")
async def login() -> Response:
    body = await json_body(LoginRequest)
    state = app_state()
    client = _client_address()
    # Counted before the first await, so concurrent guesses cannot outrun the throttle.
    with _begin_attempt(state.login_limiter, client, body.username) as attempt:
        user = await state.storage.get_user_by_name(body.username)
        if not await verify_password(user.password_hash if user else None, body.password) or user is None:
            # The username is attacker-chosen: bound it and keep it on one line.
            log.warning("failed login for %.64r from %s", body.username, client)
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        attempt.succeeded()
    token, expires_at = state.sessions.tokens.issue(user)
    log.info("user %s logged in from %s", user.username, client)
    return json_response(LoginResponse(token=token, expires_at=expires_at, user=user_view(user)))


def _begin_attempt(limiter: LoginLimiter, client: str, username: str) -> LoginAttempt:
    try:
        return limiter.begin(client, username)
    except LoginThrottled as exc:
        raise ApiError(429, "too_many_attempts", str(exc), {"Retry-After": str(exc.retry_after)}) from None


@blueprint.get("/me")
@requires(Role.VIEWER)
async def me() -> Response:
    return json_response(user_view(current_user()))


@blueprint.put("/password")
@requires(Role.VIEWER)
async def change_password() -> Response:
    """Change the caller's own password; every session issued before is revoked."""
    body = await json_body(PasswordChangeRequest)
    user = current_user()
    if not await verify_password(user.password_hash, body.current_password):
        raise ApiError(403, "invalid_credentials", "the current password is wrong")
    updated = await app_state().storage.set_password(user.id, await hash_password(body.new_password))
    if updated is None:
        raise ApiError(401, "unauthenticated", "the user no longer exists")
    token, expires_at = app_state().sessions.tokens.issue(updated)
    app_state().audiences.revoke_user(user.id)
    log.info("user %s changed their password; older sessions are revoked", user.username)
    return json_response(LoginResponse(token=token, expires_at=expires_at, user=user_view(updated)))
