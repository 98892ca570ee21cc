"""The agent token's format, `<server id>.<secret>`: the agent checks its config with it, the
daemon finds the server by the id. Neutral ground for both sides (the hashing stays in
`monitord.auth.agent_tokens`)."""

from __future__ import annotations


def format_agent_token(server_id: int, secret: str) -> str:
    """The token an agent presents for `server_id`."""
    return f"{server_id}.{secret}"


def split_agent_token(token: str) -> tuple[int, str] | None:
    """(server id, secret) from a well-formed token, else None."""
    server_id, dot, secret = token.partition(".")
    # isdigit() alone admits digits int() refuses, such as "²".
    if not dot or not (server_id.isascii() and server_id.isdigit()) or len(server_id) > 18:
        return None
    if not secret or len(secret) > 128:
        return None
    return int(server_id), secret
