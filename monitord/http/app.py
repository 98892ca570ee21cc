"""The quart-trio app: REST API, dashboard and the response headers every page gets."""

from __future__ import annotations

from pathlib import Path

from quart import Response

from monitord.http import (
    routes_agent,
    routes_alerts,
    routes_auth,
    routes_dashboard,
    routes_health,
    routes_history,
    routes_metrics,
    routes_public_status,
    routes_servers,
    routes_status_pages,
    routes_tags,
    routes_users,
    websocket,
)
from monitord.http.compression import gzip_json
from monitord.http.context import AppState, MonitordApp
from monitord.http.errors import install_error_handlers
from monitord.http.routes_dashboard import DASHBOARD_DIR

MAX_REQUEST_BODY_BYTES = 64 * 1024

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def create_app(state: AppState, dashboard_dir: Path = DASHBOARD_DIR) -> MonitordApp:
    """Build the app around the daemon's parts; it owns no tasks of its own."""
    app = MonitordApp(__name__, static_folder=None)
    app.state = state
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_REQUEST_BODY_BYTES, BODY_TIMEOUT=30, RESPONSE_TIMEOUT=60, DASHBOARD_DIR=dashboard_dir
    )
    install_error_handlers(app)
    for module in (
        routes_auth,
        routes_users,
        routes_servers,
        routes_tags,
        routes_history,
        routes_health,
        routes_metrics,
        routes_agent,
        routes_status_pages,
        routes_public_status,
        routes_alerts,
        websocket,
        routes_dashboard,
    ):
        app.register_blueprint(module.blueprint)

    @app.after_request
    async def add_security_headers(response: Response) -> Response:
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.content_type and response.content_type.startswith("application/json"):
            response.headers.setdefault("Cache-Control", "no-store")
        return await gzip_json(response)

    return app
