"""/api/servers: the monitored servers and their agent tokens."""

from __future__ import annotations

import logging

from quart import Blueprint, Response

from monitord.groups import visible_servers
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.http.visibility import caller_grant, visible_server
from monitord.models import Role
from monitord.wire import (
    AgentTokenResponse,
    ServerCreated,
    ServerList,
    ServerNameRequest,
    ServerPatchRequest,
    ServerWithDetails,
)

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
    return json_response(ServerList(servers=visible_servers(app_state().cache.servers(), caller_grant())))


@blueprint.post("")
@requires(Role.ADMIN)
async def create_server() -> Response:
    """Register a server; its agent token is in this response and nowhere else, ever."""
    body = await json_body(ServerNameRequest)
    registration = await app_state().servers.register(body.name.strip())
    log.info("server %d registered by %s", registration.server.id, current_user().username)
    view = _cached(registration.server.id)
    return json_response(ServerCreated(server=view, agent_token=registration.agent_token), status=201)


@blueprint.get("/<int:server_id>")
@requires(Role.VIEWER)
async def get_server(server_id: int) -> Response:
    return json_response(visible_server(server_id))


@blueprint.patch("/<int:server_id>")
@requires(Role.ADMIN)
async def change_server(server_id: int) -> Response:
    """Rename the server, replace its tags, or both (`{"name"}`, `{"tags"}`)."""
    body = await json_body(ServerPatchRequest)
    if body.name is None and body.tags is None:
        raise ApiError(400, "invalid_request", "expected `name` or `tags` in the body")
    registry = app_state().servers
    _cached(server_id)
    if body.name is not None and await registry.rename(server_id, body.name.strip()) is None:
        raise ApiError(404, "not_found", "no such server")
    if body.tags is not None and not await registry.set_tags(server_id, body.tags):
        raise ApiError(404, "not_found", "no such server")
    return json_response(_cached(server_id))


@blueprint.delete("/<int:server_id>")
@requires(Role.ADMIN)
async def delete_server(server_id: int) -> Response:
    if not await app_state().servers.delete(check_id(server_id)):
        raise ApiError(404, "not_found", "no such server")
    log.info("server %d deleted by %s", server_id, current_user().username)
    return Response(b"", status=204)


@blueprint.post("/<int:server_id>/token")
@requires(Role.ADMIN)
async def rotate_agent_token(server_id: int) -> Response:
    """Issue a new agent token; the old one stops working at once."""
    _cached(server_id)
    token = await app_state().servers.rotate_token(server_id)
    if token is None:
        raise ApiError(404, "not_found", "no such server")
    log.info("agent token of server %d rotated by %s", server_id, current_user().username)
    return json_response(AgentTokenResponse(agent_token=token))
