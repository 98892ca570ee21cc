"""/api/tags: the server tags, their colours and how many servers carry each (issue 16).

A restricted viewer sees only the tags of servers it may see, counted over those servers, so
neither a tag nor a count reveals a server outside its grant.
"""

from __future__ import annotations

from collections import Counter

import msgspec
from quart import Blueprint, Response

from monitord.groups import visible_servers
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import json_body, requires
from monitord.http.responses import json_response
from monitord.http.visibility import caller_grant
from monitord.models import Role
from monitord.wire import TagList, TagName, TagPatchRequest, TagView

blueprint = Blueprint("tags", __name__, url_prefix="/api/tags")


@blueprint.get("")
@requires(Role.VIEWER)
async def list_tags() -> Response:
    state = app_state()
    tags = await state.storage.list_tags()
    grant = caller_grant()
    if grant.all:
        return json_response(TagList(tags=[TagView(name=t.name, color=t.color, count=t.count) for t in tags]))
    counts = Counter(tag for view in visible_servers(state.cache.servers(), grant) for tag in view.tags)
    return json_response(
        TagList(tags=[TagView(name=t.name, color=t.color, count=counts[t.name]) for t in tags if counts[t.name]])
    )


@blueprint.patch("/<name>")
@requires(Role.ADMIN)
async def set_tag_color(name: str) -> Response:
    """Set the tag's colour (`#rrggbb`, or "" for none)."""
    body = await json_body(TagPatchRequest)
    try:
        msgspec.convert(name, TagName)
    except msgspec.ValidationError:
        raise ApiError(404, "not_found", "no such tag") from None
    state = app_state()
    if not await state.storage.set_tag_color(name, body.color):
        raise ApiError(404, "not_found", "no such tag")
    tag = next(t for t in await state.storage.list_tags() if t.name == name)
    return json_response(TagView(name=tag.name, color=tag.color, count=tag.count))
