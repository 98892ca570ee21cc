"""Groups and per-user visibility (issue 16): which servers each user may see.

A viewer's `Grant` names tags and server ids (or everything); admins see every server. The
`GrantBook` keeps the grants in memory, so every request and every push tick asks it without a
database read; the API changes the database and the book together.
"""

from monitord.groups.grants import GrantBook, visible_servers

__all__ = ["GrantBook", "visible_servers"]
