"""The grants of restricted viewers, and the filter every surface applies with them."""

from __future__ import annotations

from collections.abc import Iterable

from monitord.models import EVERYTHING, Grant, Role, User
from monitord.wire import ServerWithDetails


class GrantBook:
    """Restricted grants by user id; a user absent here (and every admin) sees every server.

    Only trio tasks of one run use it.
    """

    def __init__(self, grants: dict[int, Grant] | None = None) -> None:
        self._grants = dict(grants or {})

    def grant_of(self, user_id: int) -> Grant:
        """The grant stored for `user_id` (what the API shows), whatever the user's role."""
        return self._grants.get(user_id, EVERYTHING)

    def for_user(self, user: User) -> Grant:
        """What `user` may see: everything for an admin, else the stored grant."""
        return EVERYTHING if user.role is Role.ADMIN else self.grant_of(user.id)

    def set(self, user_id: int, grant: Grant) -> None:
        if grant.all:
            self._grants.pop(user_id, None)
        else:
            self._grants[user_id] = grant

    def forget(self, user_id: int) -> None:
        self._grants.pop(user_id, None)


def visible_servers(servers: Iterable[ServerWithDetails], grant: Grant) -> list[ServerWithDetails]:
    """The servers `grant` lets its holder see, in the given order."""
    if grant.all:
        return list(servers)
    return [view for view in servers if grant.allows(view.id, view.tags)]
