"""GET /api/servers/{id}/metrics: one server's metric history over a range (CONTRACT §4).

The parameters and how a range becomes a tier and a step are in monitord/history/ranges.py.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from monitord.history.ranges import HistoryRequestError, parse_history_query, to_point
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import requires
from monitord.http.responses import json_response
from monitord.http.visibility import visible_server
from monitord.models import Role, now_ms
from monitord.wire import MetricsHistory

blueprint = Blueprint("history", __name__, url_prefix="/api/servers")


@blueprint.get("/<int:server_id>/metrics")
@requires(Role.VIEWER)
async def server_metrics(server_id: int) -> Response:
    """The points of one server in [from, to), one per `step` seconds with samples in it."""
    state = app_state()
    visible_server(server_id)
    try:
        query = parse_history_query(request.args, state.settings.retention, now_ms())
    except HistoryRequestError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    # A StorageError becomes the one 503 answer of every route (errors.py).
    buckets = await state.storage.history(
        server_id, query.tier, query.from_ms, query.to_ms, query.step_ms, maximum=query.maximum
    )
    return json_response(
        MetricsHistory(
            points=[to_point(bucket) for bucket in buckets],
            step=query.step_ms // 1000,
            tier=query.tier.value,
        )
    )
