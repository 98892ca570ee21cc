"""The gRPC listener: exact binding, TLS, and a reference gRPC implementation as the client."""

from __future__ import annotations

import importlib.util
import socket
import ssl
import subprocess
from pathlib import Path
from types import ModuleType

import grpc
import pytest
import trio
from trio.testing import MockClock

from monitord.errors import StartupError
from monitord.grpc_transport import TRANSPORT_ERRORS
from monitord.proto import monitord_pb2 as pb
from monitord.proto.regenerate import generate
from tests.agents.conftest import (
    HELLO,
    agent_call,
    agent_settings,
    jump_when_idle,
    metrics,
    register_server,
    running_agent,
    sample,
    stored_times,
    wait_for,
)
from tests.conftest import make_settings, start_daemon


def _leaf(group: BaseException) -> BaseException:
    while isinstance(group, BaseExceptionGroup):
        assert len(group.exceptions) == 1, group
        group = group.exceptions[0]
    return group


async def test_a_second_daemon_on_the_same_grpc_port_fails_loudly(tmp_path: Path, nursery: trio.Nursery) -> None:
    first = await start_daemon(nursery, make_settings(tmp_path / "one"))
    assert first.endpoints.grpc is not None
    port = first.endpoints.grpc.port
    with pytest.raises(BaseException) as raised:
        await start_daemon(nursery, make_settings(tmp_path / "two", grpc={"listen": f"127.0.0.1:{port}"}))
    error = _leaf(raised.value)
    assert isinstance(error, StartupError)
    assert str(error) == f"agents (gRPC): cannot listen on 127.0.0.1:{port}: Address already in use"


async def test_the_listener_binds_only_the_configured_host(tmp_path: Path, nursery: trio.Nursery) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    assert daemon.endpoints.grpc is not None and daemon.endpoints.grpc.host == "127.0.0.1"
    port = daemon.endpoints.grpc.port
    # The same port on another local address is free: nothing listens on every interface, and
    # without SO_REUSEPORT a second bind of 127.0.0.1 is refused (see the test above).
    other = _other_local_address()
    if other is None:
        pytest.skip("this host has no non-loopback IPv4 address to bind")
    with socket.socket() as probe:
        probe.bind((other, port))


def _other_local_address() -> str | None:
    import psutil

    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family == socket.AF_INET and not entry.address.startswith("127."):
                return str(entry.address)
    return None


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (made with the openssl CLI)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=monitord-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_agents_use_tls_when_the_daemon_has_a_certificate(
    tmp_path: Path, nursery: trio.Nursery, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    daemon = await start_daemon(
        nursery, make_settings(tmp_path / "data", grpc={"tls_cert_file": str(cert), "tls_key_file": str(key)})
    )
    server_id, token = await register_server(daemon)
    address = daemon.endpoints.grpc
    assert address is not None
    async with running_agent(nursery, agent_settings(address, token, tls=True, ca_file=str(cert))) as agent:
        await wait_for(lambda: agent.connected and stored_times(daemon.settings, server_id) != [], timeout=10)
    # A client that does not trust the certificate never gets to talk.
    with pytest.raises(BaseException) as raised:
        async with agent_call(address, token, ssl_context=ssl.create_default_context()):
            pass
    assert isinstance(_leaf(raised.value), ssl.SSLCertVerificationError)
    # Nor does a plaintext one: no welcome ever comes back, the connection just ends.
    replies: list[pb.ServerMessage | None] = []
    with trio.fail_after(5):
        try:
            async with agent_call(address, token) as call:
                await call.send(HELLO)
                replies.append(await call.receive())
        except* TRANSPORT_ERRORS:
            pass
    assert replies in ([], [None])


@pytest.fixture(scope="module")
def grpcio_stubs(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The reference grpcio stubs, generated from the .proto at test time (test-only)."""
    produced = generate(tmp_path_factory.mktemp("grpcio"), grpcio=True)
    spec = importlib.util.spec_from_file_location("monitord_pb2_grpc", produced / "monitord_pb2_grpc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grpcio_session(
    stubs: ModuleType, port: int, token: str, messages: list[pb.AgentMessage]
) -> list[pb.ServerMessage]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = stubs.AgentServiceStub(channel).Connect(
            iter(messages), metadata=(("authorization", f"Bearer {token}"),), timeout=30
        )
        return list(call)


async def test_the_reference_grpc_client_gets_welcome_and_ack(
    tmp_path: Path, nursery: trio.Nursery, grpcio_stubs: ModuleType
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data"))
    server_id, token = await register_server(daemon)
    assert daemon.endpoints.grpc is not None
    port = daemon.endpoints.grpc.port
    replies = await trio.to_thread.run_sync(
        _grpcio_session, grpcio_stubs, port, token, [HELLO, metrics(sample(1), sample(2, None))]
    )
    assert [reply.WhichOneof("payload") for reply in replies] == ["welcome", "ack"]
    assert replies[0].welcome.server_id == server_id and replies[1].ack.seq == 2
    assert len(stored_times(daemon.settings, server_id)) >= 1

    with pytest.raises(grpc.RpcError) as rejected:
        await trio.to_thread.run_sync(_grpcio_session, grpcio_stubs, port, f"{server_id}.wrong", [HELLO])
    assert rejected.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert rejected.value.details() == "missing or invalid agent token"

    with pytest.raises(grpc.RpcError) as oversize:
        big = metrics(*(sample(seq, None) for seq in range(1, 8001)))
        await trio.to_thread.run_sync(_grpcio_session, grpcio_stubs, port, token, [HELLO, big])
    assert oversize.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert oversize.value.details() == "message larger than 1048576 bytes"


async def test_a_connection_that_opens_no_call_is_dropped_after_the_handshake_timeout(
    tmp_path: Path, nursery: trio.Nursery, clock: MockClock
) -> None:
    daemon = await start_daemon(nursery, make_settings(tmp_path / "data", grpc={"handshake_timeout_seconds": 10.0}))
    assert daemon.endpoints.grpc is not None
    jump_when_idle(clock)
    started = trio.current_time()
    async with await trio.open_tcp_stream(daemon.endpoints.grpc.host, daemon.endpoints.grpc.port) as idle:
        with trio.fail_after(30):
            while await idle.receive_some():  # the server's HTTP/2 preface, then EOF
                pass
    assert 10.0 <= trio.current_time() - started < 10.5


@pytest.mark.parametrize("broken", ["missing", "not-a-certificate"])
async def test_unusable_tls_files_are_a_one_line_startup_error(
    tmp_path: Path, nursery: trio.Nursery, broken: str
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    if broken == "not-a-certificate":
        cert.write_text("hello\n")
        key.write_text("hello\n")
    settings = make_settings(tmp_path / "data", grpc={"tls_cert_file": str(cert), "tls_key_file": str(key)})
    with pytest.raises(BaseException) as raised:
        await start_daemon(nursery, settings)
    error = _leaf(raised.value)
    assert isinstance(error, StartupError)
    assert str(error).startswith(f"cannot use grpc TLS certificate/key {cert}")
    assert "\n" not in str(error)
