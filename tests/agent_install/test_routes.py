"""/agent/* and /api/agent/install (issue 14): what is served, to whom, and nothing more."""

from __future__ import annotations

import msgspec
import pytest

from monitord import __version__
from monitord.config import Settings
from monitord.http.routes_agent import WHEELHOUSE_DIR
from tests.conftest import DaemonStarter, RunningDaemon, make_settings


async def test_the_install_script_needs_no_auth_and_reveals_only_the_version(running: RunningDaemon) -> None:
    async with running.client() as client:
        response = await client.get("/agent/install.sh")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-shellscript; charset=utf-8"
    script = response.text
    assert script.startswith("#!/bin/sh\n")
    assert f"VERSION='{__version__}'" in script
    assert "@VERSION@" not in script and "@UNIT@" not in script
    assert "ExecStart=/opt/monitord-agent/bin/python -m monitord.agent" in script
    # Nothing of this daemon: not its addresses, not its data folder.
    for secret in (str(running.endpoints.http.port), str(running.endpoints.grpc.port), running.settings.data_dir):
        assert secret not in script


async def test_the_wheelhouse_lists_wheels_and_serves_them_as_zip(running: RunningDaemon) -> None:
    wheels = sorted(path.name for path in WHEELHOUSE_DIR.glob("*.whl"))
    if not wheels:
        pytest.skip("no agent wheelhouse: run `make agent-bundle` (make test does)")
    async with running.client() as client:
        listing = await client.get("/agent/wheels/")
        wheel = await client.get(f"/agent/wheels/{wheels[0]}")
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "text/html; charset=utf-8"
    for name in wheels:
        assert f'<a href="{name}">{name}</a>' in listing.text
    assert ".built" not in listing.text
    assert wheel.status_code == 200
    assert wheel.headers["content-type"] == "application/zip"
    assert wheel.content == (WHEELHOUSE_DIR / wheels[0]).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/agent/wheels/.built",
        "/agent/wheels/..%2finstall.sh",
        "/agent/wheels/%2e%2e/%2e%2e/pyproject.toml",
        "/agent/wheels/..%2f..%2fconfig.py",
        "/agent/wheels/%2fetc%2fpasswd",
        "/agent/wheels/nope.whl",
        "/agent/monitord-agent.service",
    ],
)
async def test_anything_but_a_listed_wheel_is_404(running: RunningDaemon, path: str) -> None:
    async with running.client() as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert b"root:" not in response.content and b"[project]" not in response.content


async def test_the_wheelhouse_is_read_only(running: RunningDaemon) -> None:
    async with running.client() as client:
        for method in ("PUT", "POST", "DELETE"):
            assert (await client.request(method, "/agent/wheels/x.whl", content=b"PK")).status_code == 405
    assert not (WHEELHOUSE_DIR / "x.whl").exists()


async def test_the_token_check_accepts_only_the_current_token(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        created = (await client.post("/api/servers", json={"name": "checked"})).json()
        server_id, token = created["server"]["id"], created["agentToken"]
    async with running.client() as client:
        assert (await client.post("/agent/token-check", content=token)).status_code == 204
        rejected = await client.post("/agent/token-check", content=token + "x")
        assert rejected.status_code == 401
        assert rejected.json() == {"error": {"code": "invalid_token", "message": "the agent token is not valid"}}
        assert (await client.post("/agent/token-check", content="garbage")).status_code == 401
    async with running.client(admin_token) as client:
        assert (await client.post(f"/api/servers/{server_id}/token")).status_code == 200
    async with running.client() as client:
        assert (await client.post("/agent/token-check", content=token)).status_code == 401


async def test_the_install_command_uses_the_browsers_address(running: RunningDaemon, admin_token: str) -> None:
    async with running.client(admin_token) as client:
        info = (await client.get("/api/agent/install")).json()
    http, grpc = running.endpoints.http, running.endpoints.grpc
    assert info["daemonUrl"] == f"http://{http}"
    assert info["grpcAddress"] == f"127.0.0.1:{grpc.port}"
    assert info["tls"] is False
    assert info["installCommand"] == (
        f'sudo sh -c "$(curl -fsSL http://{http}/agent/install.sh || echo exit 1)" install.sh'
        f" --url http://{http} --grpc 127.0.0.1:{grpc.port}"
    )


async def test_public_url_and_public_address_override_the_guess(tmp_path: object, daemons: DaemonStarter) -> None:
    settings = make_settings(
        tmp_path,  # type: ignore[arg-type]
        http={"public_url": "https://monitor.example.com/"},
        grpc={"public_address": "agents.example.com:443"},
    )
    running = await daemons(settings)
    async with running.client(await running.login()) as client:
        info = (await client.get("/api/agent/install")).json()
    assert info["daemonUrl"] == "https://monitor.example.com"
    assert info["grpcAddress"] == "agents.example.com:443"
    assert "--url https://monitor.example.com --grpc agents.example.com:443" in info["installCommand"]


@pytest.mark.parametrize(
    "section,values,message",
    [
        ("http", {"public_url": "monitor.example.com"}, '`public_url`: expected an address like "https://'),
        ("http", {"public_url": "https://a.example.com/'; rm -rf /"}, "`public_url`: expected an address"),
        ("grpc", {"public_address": "agents.example.com"}, '`public_address`: expected "host:port"'),
        ("grpc", {"public_address": "agents.example.com:0"}, "`public_address`: the port must be 1-65535"),
    ],
)
def test_bad_public_addresses_are_config_errors(section: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message.replace("(", r"\(")):
        msgspec.convert({section: values}, Settings)
