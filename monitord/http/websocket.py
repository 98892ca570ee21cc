"""/ws/servers: the live server list over a WebSocket (CONTRACT §5).

The handshake is refused with a plain HTTP response, in the API's error format, before the
upgrade: 403 when the Origin is not allowed (origins.py), 401 without a valid, unrevoked and
unexpired `bearer.<JWT>` subprotocol, 400 when neither `monitord.v1` nor `monitord.v2` is
offered, 503 during shutdown, 429 when the user or the client address already holds its limit of
live feeds (`http.max_live_feeds_per_user`, `http.max_live_feeds_per_address`). Otherwise the
server selects `monitord.v2` when offered, else `monitord.v1` (the token is never echoed), and
the first snapshot goes out at once.
Each connection then runs one nursery (live_feed.py).
"""

from __future__ import annotations

import logging
import time

from quart import Blueprint, websocket

from monitord.auth.jwt_tokens import InvalidToken
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.hypercorn_ws import transport_abort, transport_deflate, transport_send_frame
from monitord.http.live_feed import LiveFeed
from monitord.http.origins import OriginPolicy
from monitord.push.delta import SUBPROTOCOL as SUBPROTOCOL_V2
from monitord.push.hub import FeedLimits, HubClosed, TooManyFeeds

log = logging.getLogger("monitord.push")
blueprint = Blueprint("websocket", __name__)

SUBPROTOCOL = "monitord.v1"
BEARER_PREFIX = "bearer."


def bearer_from_subprotocols(offered: list[str]) -> str | None:
    """The JWT of the single `bearer.<JWT>` subprotocol offered, else None."""
    tokens = [item[len(BEARER_PREFIX) :] for item in offered if item.startswith(BEARER_PREFIX)]
    if len(tokens) != 1 or not tokens[0]:
        return None
    return tokens[0]


@blueprint.websocket("/ws/servers")
async def live_servers() -> None:
    state = app_state()
    headers = websocket.headers
    if not OriginPolicy(state.settings.http.allowed_origins).allows(headers.getlist("Origin"), headers.get("Host")):
        raise ApiError(403, "forbidden_origin", "this origin may not open the live feed")
    offered = websocket.requested_subprotocols
    token = bearer_from_subprotocols(offered)
    if token is None:
        raise ApiError(401, "unauthenticated", f"offer the subprotocols {SUBPROTOCOL} and bearer.<token>")
    try:
        user, claims = await state.sessions.authenticate(token)
    except InvalidToken as exc:
        raise ApiError(401, "unauthenticated", str(exc)) from None
    # The JWT check allows clock-skew leeway; a session this server issued ends at `exp`.
    seconds_left = claims.expires_at - time.time()
    if seconds_left <= 0:
        raise ApiError(401, "unauthenticated", "the session has expired; log in again")
    if SUBPROTOCOL_V2 in offered:
        selected = SUBPROTOCOL_V2
    elif SUBPROTOCOL in offered:
        selected = SUBPROTOCOL
    else:
        raise ApiError(400, "invalid_request", f"offer the {SUBPROTOCOL} subprotocol (or {SUBPROTOCOL_V2})")
    audiences = state.audiences
    if audiences.closed:
        raise ApiError(503, "unavailable", "the daemon is shutting down")
    client = websocket.remote_addr or "unknown"
    http = state.settings.http
    # The user's grant picks the audience: the snapshot it gets holds only the servers it may see.
    grant = state.grants.for_user(user)
    try:
        # No await from the check to the subscription, so concurrent handshakes cannot overshoot.
        audiences.check_room(user.id, client, FeedLimits(http.max_live_feeds_per_user, http.max_live_feeds_per_address))
        subscription = audiences.subscribe(
            grant,
            user.id,
            state.cache,
            state.settings.push.interval_seconds,
            client=client,
            protocol="v2" if selected == SUBPROTOCOL_V2 else "v1",
            deflate=transport_deflate(websocket.scope),
            token_version=user.token_version,
        )
    except HubClosed:
        raise ApiError(503, "unavailable", "the daemon is shutting down") from None
    except TooManyFeeds as exc:
        raise ApiError(429, "too_many_live_feeds", str(exc)) from None
    # From here every way out (close, abort, error, cancel) unsubscribes, which frees the slot.
    try:
        await websocket.accept(subprotocol=selected)
        log.debug("live feed opened for %s from %s", user.username, client)
        feed = LiveFeed(
            # The proxy only works in this task's context; it is typed as the object it proxies.
            websocket._get_current_object(),  # type: ignore[attr-defined]
            subscription,
            abort=transport_abort(websocket.scope),
            send_frame=transport_send_frame(websocket.scope),
            send_timeout_seconds=state.settings.push.send_timeout_seconds,
        )
        request = await feed.run(
            session_ends_in_seconds=seconds_left,
            session_still_valid=lambda: _still_valid(token),
        )
        log.debug("live feed of %s ended: %s", user.username, request)
    finally:
        audiences.unsubscribe(grant, subscription)


async def _still_valid(token: str) -> bool:
    try:
        await app_state().sessions.authenticate(token)
    except InvalidToken:
        return False
    return True
