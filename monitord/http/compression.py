"""Fewer bytes on the wire for HTTP: gzip for JSON responses, pre-compressed dashboard files.

- JSON (the REST API, errors included) is gzipped when the client accepts gzip and the body is
  at least `MIN_COMPRESSED_BYTES`: below that the header and round trip cost more than they
  save. The compression runs in a worker thread (a 1000-point history range is ~200 KB).
- The dashboard build ships each file with `.br` and `.gz` siblings made at build time
  (web/scripts/precompress.mjs); `precompressed` serves the best one the client accepts. Both
  say `Vary: Accept-Encoding`, so caches keep the encodings apart.
"""

from __future__ import annotations

import gzip
import mimetypes
from pathlib import Path

import trio
from quart import Response, request, send_from_directory
from quart.wrappers.response import DataBody

MIN_COMPRESSED_BYTES = 1024
GZIP_LEVEL = 6
# Best first: brotli is ~15 % smaller than gzip on the dashboard's JavaScript.
_PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))


def _accepts(encoding: str) -> bool:
    return request.accept_encodings.quality(encoding) > 0


def _add_vary(response: Response) -> None:
    if "accept-encoding" not in response.vary:
        response.vary.add("Accept-Encoding")


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, GZIP_LEVEL)


async def gzip_json(response: Response) -> Response:
    """`response` gzipped when it is JSON of at least MIN_COMPRESSED_BYTES and gzip is accepted."""
    if not (response.content_type or "").startswith("application/json") or "Content-Encoding" in response.headers:
        return response
    if not isinstance(response.response, DataBody):
        return response  # a stream or a file: left as it is
    _add_vary(response)
    if not _accepts("gzip"):
        return response
    body = await response.get_data(as_text=False)
    if len(body) < MIN_COMPRESSED_BYTES:
        return response
    response.set_data(await trio.to_thread.run_sync(_gzip, body))
    response.headers["Content-Encoding"] = "gzip"
    return response


async def precompressed(directory: Path, name: str) -> Response:
    """`directory/name` as send_from_directory serves it, or its pre-compressed sibling when the
    client accepts that encoding (same content type, `Content-Encoding` set)."""
    for encoding, suffix in _PRECOMPRESSED:
        if _accepts(encoding) and (directory / (name + suffix)).is_file():
            # send_from_directory still does the path-safety check, on the sibling's name.
            response = await send_from_directory(directory, name + suffix)
            content_type, _ = mimetypes.guess_type(name)
            response.content_type = content_type or "application/octet-stream"
            if content_type and content_type.startswith("text/"):
                response.content_type = f"{content_type}; charset=utf-8"
            response.headers["Content-Encoding"] = encoding
            break
    else:
        response = await send_from_directory(directory, name)
    _add_vary(response)
    return response
