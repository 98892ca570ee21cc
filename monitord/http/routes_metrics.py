"""GET /metrics: Prometheus text format, behind its own bearer token (off when none is set)."""

from __future__ import annotations

import hmac

from quart import Blueprint, Response, request

from monitord.auth.sessions import bearer_token
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.telemetry import CONTENT_TYPE

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
async def metrics() -> Response:
    state = app_state()
    expected = state.settings.metrics.bearer_token
    if not expected:
        raise ApiError(404, "not_found", "the metrics endpoint is off; set metrics.bearer_token to turn it on")
    offered = bearer_token(request.headers.get("Authorization")) or ""
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthenticated",
            "send the metrics bearer token",
            {"WWW-Authenticate": 'Bearer realm="monitord-metrics"'},
        )
    body = await state.telemetry.exposition()
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
