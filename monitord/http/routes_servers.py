"""/api/servers: the monitored servers and their agent tokens."""

from __future__ import annotations

import logging

from quart import Blueprint, Response

from monitord.auth.agent_tokens import new_agent_token
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.models import Role, now_ms
from monitord.wire import AgentTokenResponse, ServerCreated, ServerList, ServerNameRequest, ServerWithDetails

log = logging.getLogger("monitord.servers")
blueprint = Blueprint("servers", __name__, url_prefix="/api/servers")


def _cached(server_id: int) -> ServerWithDetails:
    view = app_state().cache.get(check_id(server_id))
    if view is None:
        raise ApiError(404, "not_found", "no such server")
    return view


@blueprint.get("")
@requires(Role.VIEWER)
async def list_servers() -> Response:
    return json_response(ServerList(servers=app_state().cache.servers()))


@blueprint.post("")
@requires(Role.ADMIN)
async def create_server() -> Response:
    """Register a server; its agent token is in this response and nowhere else, ever."""
    body = await json_body(ServerNameRequest)
    state = app_state()
    # The id is part of the token, so the row is created first with a placeholder hash that no
    # secret can match, then given the real hash.
    record = await state.storage.create_server(body.name.strip(), "!", now_ms=now_ms())
    token, token_hash = new_agent_token(record.id)
    await state.storage.set_agent_token_hash(record.id, token_hash)
    view = state.cache.add(record)
    state.cache.set_token_hash(record.id, token_hash)
    log.info("server %d registered by %s", record.id, current_user().username)
    return json_response(ServerCreated(server=view, agent_token=token), status=201)


@blueprint.get("/<int:server_id>")
@requires(Role.VIEWER)
async def get_server(server_id: int) -> Response:
    return json_response(_cached(server_id))


@blueprint.patch("/<int:server_id>")
@requires(Role.ADMIN)
async def rename_server(server_id: int) -> Response:
    body = await json_body(ServerNameRequest)
    record = await app_state().storage.rename_server(check_id(server_id), body.name.strip())
    if record is None:
        raise ApiError(404, "not_found", "no such server")
    view = app_state().cache.rename(server_id, record.name)
    return json_response(view or _cached(server_id))


@blueprint.delete("/<int:server_id>")
@requires(Role.ADMIN)
async def delete_server(server_id: int) -> Response:
    state = app_state()
    if not await state.storage.delete_server(check_id(server_id)):
        raise ApiError(404, "not_found", "no such server")
    state.cache.remove(server_id)
    state.agent_sessions.close(server_id)
    log.info("server %d deleted by %s", server_id, current_user().username)
    return Response(b"", status=204)


@blueprint.post("/<int:server_id>/token")
@requires(Role.ADMIN)
async def rotate_agent_token(server_id: int) -> Response:
    """Issue a new agent token; the old one stops working at once."""
    state = app_state()
    _cached(server_id)
    token, token_hash = new_agent_token(server_id)
    if not await state.storage.set_agent_token_hash(server_id, token_hash):
        raise ApiError(404, "not_found", "no such server")
    state.cache.set_token_hash(server_id, token_hash)
    state.agent_sessions.close(server_id)
    log.info("agent token of server %d rotated by %s", server_id, current_user().username)
    return json_response(AgentTokenResponse(agent_token=token))
