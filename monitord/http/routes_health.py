"""/api/health: is the daemon able to do its job? No auth, no secrets."""

from __future__ import annotations

import time

import trio
from quart import Blueprint, Response

from monitord import __version__
from monitord.http.context import app_state
from monitord.http.responses import json_response
from monitord.storage import StorageError
from monitord.wire import Health

blueprint = Blueprint("health", __name__, url_prefix="/api")

DATABASE_PING_TIMEOUT_SECONDS = 2.0


@blueprint.get("/health")
async def health() -> Response:
    state = app_state()
    database = "ok"
    with trio.move_on_after(DATABASE_PING_TIMEOUT_SECONDS) as timeout:
        try:
            await state.storage.ping()
        except StorageError as exc:
            database = str(exc)
    if timeout.cancelled_caught:
        database = f"no answer within {DATABASE_PING_TIMEOUT_SECONDS:g} s"
    status = "ok" if database == "ok" else "degraded"
    return json_response(
        Health(
            status=status,
            version=__version__,
            database=database,
            uptime_seconds=round(time.monotonic() - state.started_at, 3),
            servers=len(state.cache),
        ),
        status=200,
    )
