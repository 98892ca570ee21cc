"""/api/health: is the daemon able to do its job? No auth, no secrets."""

from __future__ import annotations

import time

import trio
from quart import Blueprint, Response

from monitord import __version__
from monitord.health import DatabaseState
from monitord.http.context import app_state
from monitord.http.responses import json_response
from monitord.storage import StorageError
from monitord.wire import Health

blueprint = Blueprint("health", __name__, url_prefix="/api")

DATABASE_PING_TIMEOUT_SECONDS = 2.0


@blueprint.get("/health")
async def health() -> Response:
    """`ok`, or `degraded` with the database's state and the reason in words.

    The sample writer knows first when writes fail (it writes every fraction of a second while
    agents report), so its state wins; a ping covers a database nobody has written to lately.
    """
    state = app_state()
    writer = state.writer
    database, reason = DatabaseState.OK, ""
    if writer is not None and writer.state is not DatabaseState.OK:
        database, reason = writer.state, writer.reason
    else:
        with trio.move_on_after(DATABASE_PING_TIMEOUT_SECONDS) as timeout:
            try:
                await state.storage.ping()
            except StorageError as exc:
                database, reason = DatabaseState.UNAVAILABLE, str(exc)
        if timeout.cancelled_caught:
            database, reason = DatabaseState.UNAVAILABLE, f"no answer within {DATABASE_PING_TIMEOUT_SECONDS:g} s"
    replicas = ""
    if state.replicas is not None:
        replicas = "ok" if state.replicas.listening else "degraded"
        if not state.replicas.listening and not reason:
            reason = f"not hearing the other replicas: {state.replicas.reason}"
    return json_response(
        Health(
            status="ok" if database is DatabaseState.OK and replicas != "degraded" else "degraded",
            version=__version__,
            database=database.value,
            uptime_seconds=round(time.monotonic() - state.started_at, 3),
            servers=len(state.cache),
            buffered_samples=writer.buffered_samples if writer is not None else 0,
            overflowed_samples=writer.overflowed_samples if writer is not None else 0,
            reason=reason,
            replicas=replicas,
        ),
        status=200,
    )
