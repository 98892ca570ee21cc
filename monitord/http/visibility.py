"""What the calling user may see: every route that names a server asks here.

An invisible server answers exactly like a nonexistent one (the same 404 and body), so a
restricted viewer cannot tell the two apart.
"""

from __future__ import annotations

from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user
from monitord.models import Grant
from monitord.wire import ServerWithDetails


def caller_grant() -> Grant:
    """The grant of the authenticated caller (everything for an admin)."""
    return app_state().grants.for_user(current_user())


def no_such_server() -> ApiError:
    return ApiError(404, "not_found", "no such server")


def visible_server(server_id: int) -> ServerWithDetails:
    """The server's view, or the one 404 when it does not exist or the caller may not see it."""
    view = app_state().cache.get(check_id(server_id))
    if view is None or not caller_grant().allows(view.id, view.tags):
        raise no_such_server()
    return view
