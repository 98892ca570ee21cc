"""/api/users: accounts, managed by admins."""

from __future__ import annotations

import logging

from quart import Blueprint, Response

from monitord.auth.passwords import hash_password
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.http.routes_auth import user_view
from monitord.models import Role, now_ms
from monitord.storage import AlreadyExists
from monitord.wire import UserCreateRequest, UserList

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


@blueprint.delete("/<int:user_id>")
@requires(Role.ADMIN)
async def delete_user(user_id: int) -> Response:
    if check_id(user_id) == current_user().id:
        raise ApiError(409, "conflict", "you cannot delete your own account")
    if not await app_state().storage.delete_user(user_id):
        raise ApiError(404, "not_found", "no such user")
    app_state().hub.revoke_user(user_id, "the user was deleted")
    log.info("user %d deleted by %s", user_id, current_user().username)
    return Response(b"", status=204)
