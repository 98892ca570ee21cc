"""JSON responses encoded straight from msgspec structs."""

from __future__ import annotations

from quart import Response

from monitord.wire import encoder


def json_response(value: object, status: int = 200) -> Response:
    return Response(encoder.encode(value), status=status, content_type="application/json")
