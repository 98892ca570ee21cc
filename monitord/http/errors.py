"""One error format for every route: `{"error": {"code", "message"}}` with a fitting status."""

from __future__ import annotations

import logging

from quart import Quart, Response
from werkzeug.exceptions import HTTPException

from monitord.storage import StorageError
from monitord.wire import ErrorBody, ErrorResponse, encoder

log = logging.getLogger("monitord.http")


class ApiError(Exception):
    """An error to report to the client as-is; `message` must be safe to show."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = encoder.encode(ErrorResponse(error=ErrorBody(code=code, message=message)))
    return Response(body, status=status, content_type="application/json", headers=headers)


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def install_error_handlers(app: Quart) -> None:
    """Map ApiError, HTTP errors (404, 405, 413…), database outages (503) and anything unexpected
    to the one format."""

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        allowed = getattr(exc, "valid_methods", None)  # set on 405 only
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return error_response(status, _code_for(exc), exc.description or exc.name, headers)

    @app.errorhandler(StorageError)
    async def database_unavailable(exc: StorageError) -> Response:
        # An outage, not a bug: one line for the operator (health and /metrics say more), no
        # traceback, and a status a client knows to retry. The reason stays in the log.
        log.warning("request failed: the database is unavailable: %s", exc)
        return error_response(
            503, "database_unavailable", "the database is unavailable; try again shortly", {"Retry-After": "5"}
        )

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error while serving a request")
        return error_response(500, "internal_error", "internal error; the daemon log has details")
