"""The public side of status pages: no login, rate-limited, an allow-listed view (issue 16).

    GET  /api/public/status/{slug}         the page (statuspages/public.py), CDN-cacheable if public
    POST /api/public/status/{slug}/token   a short-lived page token for a password page
    WS   /ws/public/status/{slug}          the same page pushed as {"type": "statusPage", …}

An unknown slug, a page whose access the request does not satisfy, and a malformed slug all
answer the same 404 (same status, headers and body), so nothing tells them apart.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from quart import Blueprint, Response, request, websocket

from monitord.auth.login_limiter import LoginThrottled
from monitord.http.context import AppState, app_state
from monitord.http.errors import ApiError
from monitord.http.guards import json_body
from monitord.http.hypercorn_ws import transport_abort, transport_send_frame
from monitord.http.live_feed import LiveFeed
from monitord.http.origins import OriginPolicy
from monitord.models import StatusPageRecord
from monitord.push.hub import HubClosed, TooManyFeeds
from monitord.statuspages.access import Credential, admitted_for
from monitord.statuspages.feeds import build_page, encode_push
from monitord.statuspages.settings import Access, PageSettings, decode_settings
from monitord.wire import encoder

blueprint = Blueprint("public_status", __name__)

SUBPROTOCOL = "monitord.status.v1"
TOKEN_PREFIX = "token."
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class PageToken(msgspec.Struct, rename="camel", kw_only=True):
    token: str
    expires_at: datetime


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no such status page")


def _client() -> str:
    return request.remote_addr or "unknown"


def _rate_limit(state: AppState, client: str) -> None:
    if not state.public_limiter.allow(client):
        raise ApiError(429, "too_many_requests", "too many requests; slow down", {"Retry-After": "1"})


async def _admit(
    state: AppState, slug: str, credential: Credential, client: str
) -> tuple[StatusPageRecord, PageSettings, float]:
    """The page, its settings and how long the credential may read it; the one 404 otherwise.

    A password try counts against the login limiter (per address and page), whatever the slug,
    so guessing is throttled without telling pages that exist from those that do not.
    """
    if credential.password is None:
        return await _check(state, slug, credential)
    try:
        attempt = state.login_limiter.begin(client, f"status-page:{slug}")
    except LoginThrottled as exc:
        raise ApiError(429, "too_many_attempts", str(exc), {"Retry-After": str(exc.retry_after)}) from None
    with attempt:
        admitted = await _check(state, slug, credential)
        attempt.succeeded()
    return admitted


async def _check(state: AppState, slug: str, credential: Credential) -> tuple[StatusPageRecord, PageSettings, float]:
    record = await state.storage.get_status_page_by_slug(slug) if _SLUG.match(slug) else None
    if record is None:
        raise _not_found()
    settings = decode_settings(record.config)
    left = await admitted_for(record, settings, credential, state.page_tokens)
    if left is None:
        raise _not_found()
    return record, settings, left


@blueprint.get("/api/public/status/<slug>")
async def public_page(slug: str) -> Response:
    state = app_state()
    client = _client()
    _rate_limit(state, client)
    _record, settings, _left = await _admit(
        state, slug, Credential.from_header(request.headers.get("Authorization")), client
    )
    page, _servers = await build_page(settings, state.cache, state.uptime)
    response = Response(encoder.encode(page), content_type="application/json")
    if settings.access is Access.PUBLIC:
        # A CDN may serve it for one push interval, and a little stale while it refetches.
        interval = round(state.settings.push.status_page_interval_seconds)
        response.headers["Cache-Control"] = f"public, max-age={interval}, stale-while-revalidate={4 * interval}"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Authorization"
    return response


@blueprint.post("/api/public/status/<slug>/token")
async def page_token(slug: str) -> Response:
    """Trade a password page's password for a token good for an hour (the dashboard's way in)."""
    state = app_state()
    client = _client()
    _rate_limit(state, client)
    body = await json_body(TokenRequest)
    record, settings, _left = await _admit(state, slug, Credential(password=body.password), client)
    if settings.access is not Access.PASSWORD:
        raise _not_found()
    token, expires = state.page_tokens.issue(record)
    response = Response(encoder.encode(PageToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))))
    response.content_type = "application/json"
    return response


def _offered_token(offered: list[str]) -> str | None:
    tokens = [item[len(TOKEN_PREFIX) :] for item in offered if item.startswith(TOKEN_PREFIX)]
    return tokens[0] if len(tokens) == 1 and tokens[0] else None


@blueprint.websocket("/ws/public/status/<slug>")
async def public_feed(slug: str) -> None:
    state = app_state()
    headers = websocket.headers
    if not OriginPolicy(state.settings.http.allowed_origins).allows(headers.getlist("Origin"), headers.get("Host")):
        raise ApiError(403, "forbidden_origin", "this origin may not open the live feed")
    client = websocket.remote_addr or "unknown"
    _rate_limit(state, client)
    offered = websocket.requested_subprotocols
    credential = Credential(token=_offered_token(offered))
    record, settings, left = await _admit(state, slug, credential, client)
    if SUBPROTOCOL not in offered:
        raise ApiError(400, "invalid_request", f"offer the {SUBPROTOCOL} subprotocol")
    pages = state.status_pages
    interval = state.settings.push.status_page_interval_seconds
    initial = pages.latest(record.id, interval)
    if initial is None:
        page, servers = await build_page(settings, state.cache, state.uptime)
        initial = encode_push(page, servers, state.cache.version)
    try:
        subscription = pages.subscribe(record.id, initial, client, state.settings.http.max_live_feeds_per_address)
    except HubClosed:
        raise ApiError(503, "unavailable", "the daemon is shutting down") from None
    except TooManyFeeds as exc:
        raise ApiError(429, "too_many_live_feeds", str(exc)) from None

    async def still_valid() -> bool:
        current = await state.storage.get_status_page_by_slug(slug)
        if current is None or current.id != record.id:
            return False
        return await admitted_for(current, decode_settings(current.config), credential, state.page_tokens) is not None

    try:
        await websocket.accept(subprotocol=SUBPROTOCOL)
        feed = LiveFeed(
            websocket._get_current_object(),  # type: ignore[attr-defined]
            subscription,
            abort=transport_abort(websocket.scope),
            send_frame=transport_send_frame(websocket.scope),
            send_timeout_seconds=state.settings.push.send_timeout_seconds,
        )
        await feed.run(
            session_ends_in_seconds=left if math.isfinite(left) else math.inf, session_still_valid=still_valid
        )
    finally:
        pages.unsubscribe(record.id, subscription)
