"""The live agent call of each server: at most one, and revocable at once (monitord.servers)."""

from __future__ import annotations

import trio
from purerpc.grpclib.status import Status, StatusCode


class AgentSession:
    """One authenticated agent call. The call's handler runs inside `cancel_scope`."""

    def __init__(self, server_id: int) -> None:
        self.server_id = server_id
        self.cancel_scope = trio.CancelScope()
        # Set when something outside the call ended it; the handler answers with this status.
        self.end_status: Status | None = None
        self.end_reason = ""

    def end(self, reason: str, status: Status) -> None:
        """Stop the call; its handler sends `status` to the agent. The first reason wins."""
        if self.end_status is None:
            self.end_status = status
            self.end_reason = reason
        self.cancel_scope.cancel()


class AgentSessions:
    """Registry of live agent calls by server id.

    The gRPC handler opens a session once the token checks out and releases it when the call
    ends; the server registry calls `close` when a server is deleted or its token rotated. It holds
    cancel scopes, never a nursery: each call runs in its own connection's task.
    """

    def __init__(self) -> None:
        self._by_server: dict[int, AgentSession] = {}

    def __len__(self) -> int:
        return len(self._by_server)

    def __contains__(self, server_id: int) -> bool:
        return server_id in self._by_server

    def open(self, server_id: int) -> AgentSession:
        """Register a new call for `server_id`, ending the one it replaces (one call per server)."""
        previous = self._by_server.get(server_id)
        if previous is not None:
            previous.end("replaced", Status(StatusCode.ABORTED, "replaced by a newer call from this server's agent"))
        session = AgentSession(server_id)
        self._by_server[server_id] = session
        return session

    def release(self, session: AgentSession) -> None:
        """Forget `session` (its call ended); a newer session of the same server stays."""
        if self._by_server.get(session.server_id) is session:
            del self._by_server[session.server_id]

    def close(self, server_id: int) -> bool:
        """End the server's call now because its token no longer holds (deleted or rotated).

        Returns whether a call was open.
        """
        session = self._by_server.pop(server_id, None)
        if session is None:
            return False
        session.end("revoked", Status(StatusCode.UNAUTHENTICATED, "this agent's token was revoked"))
        return True
