"""Fuzzing setup: hypothesis profiles, and one real daemon process the examples hammer.

`make test` runs the `ci` profile (a few hundred examples per target, seconds each);
`make fuzz` runs the `fuzz` profile for much longer. The daemon is a real process so that every
example goes through real sockets and its stderr can be checked for tracebacks at the end.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, settings

from monitord.config import ListenAddress, parse_listen
from tests.processes import child_env, monitord_command

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("fuzz", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass
class FuzzTarget:
    """The daemon under fuzzing, with a client for each role."""

    base_url: str
    admin: httpx.Client
    viewer: httpx.Client
    server_id: int
    admin_token: str
    grpc: ListenAddress
    agent_token: str


def _client(base_url: str, token: str) -> httpx.Client:
    """A client with a new connection per request. A reused keep-alive connection races the
    server closing it (hypercorn's 5 s idle timeout, or a close after a refused body): the
    request then meets "Server disconnected", a flake that says nothing about the daemon."""
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """A real daemon process with an admin, a viewer and one server; checked for tracebacks."""
    directory = tmp_path_factory.mktemp("fuzz")
    config = directory / "monitord.toml"
    # Throttling would turn most login examples into 429s; the limiter has its own tests.
    config.write_text(
        f'data_dir = "{directory / "data"}"\n[http]\nlisten = "127.0.0.1:0"\n'
        'public_requests_per_second = 1000000.0\n[grpc]\nlisten = "127.0.0.1:0"\n'
        "[auth]\nlogin_max_failures = 1000000\n"
    )
    stderr_path = directory / "stderr.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ready_socket:
        ready_socket.bind(str(directory / "notify.sock"))
        ready_socket.settimeout(30)
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [*monitord_command(), "--config", str(config)],
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**child_env(), "NOTIFY_SOCKET": str(directory / "notify.sock")},
            )
        try:
            status = ""
            while "READY=1" not in status:  # the daemon says when it listens (sd_notify)
                status = ready_socket.recv(4096).decode()
            url = re.search(r"dashboard on (http://\S+)", status)
            assert url is not None
            password = (directory / "data" / "initial-admin-password").read_text().strip()
            with httpx.Client(base_url=url[1]) as client:
                admin = client.post("/api/auth/login", json={"username": "admin", "password": password}).json()["token"]
                auth = {"Authorization": f"Bearer {admin}"}
                client.post(
                    "/api/users",
                    headers=auth,
                    json={"username": "viewer", "password": "viewer-password", "role": "viewer"},
                )
                viewer = client.post(
                    "/api/auth/login", json={"username": "viewer", "password": "viewer-password"}
                ).json()["token"]
                created = client.post("/api/servers", headers=auth, json={"name": "fuzzed"}).json()
            grpc = re.search(r"agents \(gRPC\) on (\S+)", stderr_path.read_text())
            assert grpc is not None
            with (
                _client(url[1], admin) as as_admin,
                _client(url[1], viewer) as as_viewer,
            ):
                yield FuzzTarget(
                    url[1],
                    as_admin,
                    as_viewer,
                    created["server"]["id"],
                    admin,
                    parse_listen(grpc[1]),
                    created["agentToken"],
                )
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
    log = stderr_path.read_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
