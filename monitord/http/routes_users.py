"""/api/users: accounts, managed by admins."""

from __future__ import annotations

import logging
import secrets

from quart import Blueprint, Response

from monitord.auth.passwords import hash_password
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.http.routes_auth import user_view
from monitord.models import Grant, Role, User, now_ms
from monitord.storage import AlreadyExists
from monitord.wire import (
    GrantView,
    PasswordResetRequest,
    PasswordResetResponse,
    UserCreateRequest,
    UserDetail,
    UserList,
    UserRoleRequest,
)

log = logging.getLogger("monitord.auth")
blueprint = Blueprint("users", __name__, url_prefix="/api/users")


@blueprint.get("")
@requires(Role.ADMIN)
async def list_users() -> Response:
    users = await app_state().storage.list_users()
    return json_response(UserList(users=[user_view(user) for user in users]))


@blueprint.post("")
@requires(Role.ADMIN)
async def create_user() -> Response:
    body = await json_body(UserCreateRequest)
    try:
        user = await app_state().storage.create_user(
            body.username, await hash_password(body.password), body.role, now_ms=now_ms()
        )
    except AlreadyExists:
        raise ApiError(409, "conflict", f"a user named {body.username!r} already exists") from None
    log.info("user %s created with role %s by %s", user.username, user.role, current_user().username)
    return json_response(user_view(user), status=201)


async def _existing_user(user_id: int) -> User:
    user = await app_state().storage.get_user(check_id(user_id))
    if user is None:
        raise ApiError(404, "not_found", "no such user")
    return user


async def _refuse_losing_the_last_admin(user: User, doing: str) -> None:
    """409 when `user` is the only admin: the daemon would have no one to administer it."""
    if user.role is not Role.ADMIN:
        return
    admins = [other for other in await app_state().storage.list_users() if other.role is Role.ADMIN]
    if len(admins) <= 1:
        raise ApiError(409, "last_admin", f"cannot {doing} the last admin; make another user an admin first")


@blueprint.patch("/<int:user_id>")
@requires(Role.ADMIN)
async def change_role(user_id: int) -> Response:
    """Change a user's role; their sessions are revoked (they sign in again with the new role)."""
    body = await json_body(UserRoleRequest)
    user = await _existing_user(user_id)
    if body.role is not user.role:
        await _refuse_losing_the_last_admin(user, "demote")
    updated = await app_state().storage.set_role(user.id, body.role)
    if updated is None:
        raise ApiError(404, "not_found", "no such user")
    if body.role is not user.role:
        app_state().audiences.revoke_user(user.id, "the user's role changed")
        log.info("user %s made %s by %s", user.username, body.role, current_user().username)
    return json_response(user_view(updated))


@blueprint.post("/<int:user_id>/password")
@requires(Role.ADMIN)
async def reset_password(user_id: int) -> Response:
    """Set a user's password (or generate one, returned once); all their sessions are revoked."""
    body = await json_body(PasswordResetRequest)
    user = await _existing_user(user_id)
    password = body.password if body.password is not None else secrets.token_urlsafe(12)
    updated = await app_state().storage.set_password(user.id, await hash_password(password))
    if updated is None:
        raise ApiError(404, "not_found", "no such user")
    app_state().audiences.revoke_user(user.id, "the password was reset")
    log.info("password of user %s reset by %s; their sessions are revoked", user.username, current_user().username)
    generated = password if body.password is None else None
    return json_response(PasswordResetResponse(user=user_view(updated), password=generated))


@blueprint.delete("/<int:user_id>")
@requires(Role.ADMIN)
async def delete_user(user_id: int) -> Response:
    if check_id(user_id) == current_user().id:
        raise ApiError(409, "conflict", "you cannot delete your own account")
    await _refuse_losing_the_last_admin(await _existing_user(user_id), "delete")
    if not await app_state().storage.delete_user(user_id):
        raise ApiError(404, "not_found", "no such user")
    app_state().audiences.revoke_user(user_id, "the user was deleted")
    app_state().grants.forget(user_id)
    log.info("user %d deleted by %s", user_id, current_user().username)
    return Response(b"", status=204)


# --- grants (issue 16) ---------------------------------------------------------------------


def _grant_view(grant: Grant) -> GrantView:
    return GrantView(all=grant.all, tags=sorted(grant.tags), server_ids=sorted(grant.server_ids))


@blueprint.get("/<int:user_id>")
@requires(Role.ADMIN)
async def get_user(user_id: int) -> Response:
    """The user with its grant (which servers it sees; admins see all whatever it says)."""
    user = await app_state().storage.get_user(check_id(user_id))
    if user is None:
        raise ApiError(404, "not_found", "no such user")
    grant = _grant_view(app_state().grants.grant_of(user.id))
    return json_response(UserDetail(id=user.id, username=user.username, role=user.role, grant=grant))


@blueprint.put("/<int:user_id>/grant")
@requires(Role.ADMIN)
async def set_grant(user_id: int) -> Response:
    """Replace the user's grant; its open live feeds of another visibility set close with 4403."""
    body = await json_body(GrantView)
    grant = Grant() if body.all else Grant(all=False, tags=frozenset(body.tags), server_ids=frozenset(body.server_ids))
    state = app_state()
    if not await state.storage.set_grant(check_id(user_id), grant):
        raise ApiError(404, "not_found", "no such user")
    state.grants.set(user_id, grant)
    user = await state.storage.get_user(user_id)
    if user is not None:
        state.audiences.access_changed(user_id, state.grants.for_user(user))
    log.info("grant of user %d set to %s by %s", user_id, grant.key, current_user().username)
    return json_response(_grant_view(grant))
