"""The one-command agent install (issue 14): the script, the wheelhouse, the token check, and
the command the dashboard shows.

`/agent/*` needs no sign-in: the script and the wheels carry no secret and reveal only the
daemon's version, and the token check answers only valid or not for a token the caller holds
(256-bit secrets: nothing to guess). Everything is read-only.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

from quart import Blueprint, Response, current_app, request, send_from_directory

from monitord import __version__
from monitord.auth.agent_tokens import secret_matches, split_agent_token
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import requires
from monitord.http.hosts import host_name
from monitord.http.responses import json_response
from monitord.models import Role
from monitord.servers import ServerRegistryBusy
from monitord.storage import StorageError
from monitord.wire import AgentInstallInfo

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Built by `make agent-bundle` (tools/agent_bundle.py); packaged with the daemon like the dashboard.
WHEELHOUSE_DIR = PACKAGE_DIR / "static" / "agent-wheels"
_INSTALL_DIR = PACKAGE_DIR / "agent_install"
_WHEEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\.whl")
_MAX_TOKEN_BYTES = 512

blueprint = Blueprint("agent_install", __name__)


@cache
def install_script() -> str:
    """install.sh with the daemon's version and the agent's systemd unit filled in."""
    template = (_INSTALL_DIR / "install.sh").read_text(encoding="utf-8")
    unit = (_INSTALL_DIR / "monitord-agent.service").read_text(encoding="utf-8").rstrip("\n")
    return template.replace("@VERSION@", __version__).replace("@UNIT@", unit)


def _wheelhouse() -> Path:
    directory: Path = current_app.config.get("AGENT_WHEELHOUSE_DIR", WHEELHOUSE_DIR)
    return directory


def _wheel_names() -> list[str]:
    try:
        return sorted(path.name for path in _wheelhouse().iterdir() if _WHEEL_NAME.fullmatch(path.name))
    except OSError:
        return []


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no such file")


@blueprint.get("/agent/install.sh")
async def get_install_script() -> Response:
    return Response(
        install_script(), content_type="text/x-shellscript; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@blueprint.get("/agent/wheels/")
async def list_wheels() -> Response:
    """A PEP 503-style page of links, which `pip --find-links` reads."""
    links = "\n".join(f'<a href="{name}">{name}</a><br>' for name in _wheel_names())
    page = f"<!doctype html>\n<html><head><title>monitord agent wheels</title></head><body>\n{links}\n</body></html>\n"
    return Response(page, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@blueprint.get("/agent/wheels/<name>")
async def get_wheel(name: str) -> Response:
    # Only names listed in the folder are served: nothing else, and no path, can be asked for.
    if name not in _wheel_names():
        raise _not_found()
    response = await send_from_directory(_wheelhouse(), name, mimetype="application/zip")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.post("/agent/token-check")
async def check_token() -> Response:
    """204 when the agent token in the body (text/plain) is valid now, else 401."""
    body = await request.get_data(as_text=False)
    assert isinstance(body, bytes)  # as_text=False
    token = body[:_MAX_TOKEN_BYTES].decode("utf-8", errors="replace").strip()
    parsed = split_agent_token(token)
    if parsed is None:
        raise ApiError(401, "invalid_token", "the agent token is not valid")
    server_id, secret = parsed
    try:
        token_hash = await app_state().servers.token_hash(server_id)
    except (StorageError, ServerRegistryBusy):
        raise ApiError(503, "unavailable", "the token cannot be checked now; retry") from None
    if not secret_matches(secret, token_hash):
        raise ApiError(401, "invalid_token", "the agent token is not valid")
    return Response(b"", status=204)


def install_info(scheme: str, host_header: str) -> AgentInstallInfo:
    """The addresses and the command for a dashboard reached at scheme://host_header."""
    settings = app_state().settings
    daemon_url = settings.http.public_url.rstrip("/") or f"{scheme}://{host_header}"
    if settings.grpc.public_address:
        grpc_address = settings.grpc.public_address
    else:
        bound = app_state().grpc_bound.address
        port = bound.port if bound is not None else settings.grpc.address.port
        name = host_name(host_header)
        grpc_address = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
    tls = bool(settings.grpc.tls_cert_file)
    script_url = shlex.quote(f"{daemon_url}/agent/install.sh")
    command = (
        f'sudo sh -c "$(curl -fsSL {script_url} || echo exit 1)" install.sh'
        f" --url {shlex.quote(daemon_url)} --grpc {shlex.quote(grpc_address)}" + (" --tls" if tls else "")
    )
    return AgentInstallInfo(
        version=__version__, daemon_url=daemon_url, grpc_address=grpc_address, tls=tls, install_command=command
    )


@blueprint.get("/api/agent/install")
@requires(Role.ADMIN)
async def get_install_info() -> Response:
    return json_response(install_info(request.scheme, request.host))
