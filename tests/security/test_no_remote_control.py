"""Nothing the daemon or the dashboard sends can make an agent run a command or read a file.

Three walls, each tested: the protocol has no message that could carry an order (checked on the
compiled descriptors, field by field); the agent, fed every server message with hostile values
by a fake daemon, does nothing but what the contract allows while an audit hook watches for
processes, code execution and file access; and the HTTP app has exactly the routes listed here,
so no exec or file route can slip in unnoticed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any, ClassVar, cast

import anyio
import anyio.abc
import httpx
import trio
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from purerpc.grpclib.events import MessageReceived, RequestEnded, RequestReceived
from purerpc.grpclib.status import Status, StatusCode

from monitord.agent.config import AgentSettings
from monitord.agent.run import Agent
from monitord.config import ListenAddress
from monitord.grpc_transport import CallStream, GrpcSocket, server_config
from monitord.http.app import create_app
from monitord.http.context import AppState
from monitord.proto import monitord_pb2 as pb
from tests.conftest import RunningDaemon

# Every field a daemon can send to an agent, by message: ids, a version string, a size and a seq.
SERVER_TO_AGENT_FIELDS = {
    "monitord.v1.ServerMessage": {"welcome", "ack"},
    "monitord.v1.Welcome": {"server_id", "daemon_version", "max_message_bytes"},
    "monitord.v1.Ack": {"seq"},
}


def _reachable_fields(message: Descriptor, seen: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every (message, field names) reachable from `message`, nested messages included."""
    if message.full_name in seen:
        return seen
    seen[message.full_name] = {field.name for field in message.fields}
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            _reachable_fields(field.message_type, seen)
    return seen


def test_the_only_rpc_is_the_reporting_stream() -> None:
    services = pb.DESCRIPTOR.services_by_name
    assert list(services) == ["AgentService"]
    methods = services["AgentService"].methods
    assert [method.name for method in methods] == ["Connect"]
    (connect,) = methods
    assert (connect.input_type.full_name, connect.output_type.full_name) == (
        "monitord.v1.AgentMessage",
        "monitord.v1.ServerMessage",
    )
    assert connect.client_streaming and connect.server_streaming


def test_no_server_message_can_carry_a_command_or_a_path() -> None:
    assert _reachable_fields(pb.ServerMessage.DESCRIPTOR, {}) == SERVER_TO_AGENT_FIELDS
    # The only text is the version, shown in logs; the rest are numbers.
    texts = {
        (message.full_name, field.name)
        for message in (pb.ServerMessage.DESCRIPTOR, pb.Welcome.DESCRIPTOR, pb.Ack.DESCRIPTOR)
        for field in message.fields
        if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
    }
    assert texts == {("monitord.v1.Welcome", "daemon_version")}


# --- the agent against a hostile daemon -------------------------------------------------------

# Audit events that mean "ran something" or "changed the file system".
_FORBIDDEN_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.startfile",
    "pty.spawn",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.symlink",
    "os.link",
    "os.truncate",
    "shutil.rmtree",
    "shutil.move",
    "shutil.copyfile",
    "ctypes.dlopen",
)


class AuditLog:
    """Audit events raised while `watching`; a hook cannot be removed, so one serves all tests."""

    events: ClassVar[list[tuple[str, tuple[Any, ...]]]] = []
    active = False

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if cls.active and (event in ("open", "exec", "compile") or event.startswith(_FORBIDDEN_EVENTS)):
            cls.events.append((event, args))


sys.addaudithook(AuditLog.hook)


@contextmanager
def watching() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    AuditLog.events = []
    AuditLog.active = True
    try:
        yield AuditLog.events
    finally:
        AuditLog.active = False


def _tag(field: int, wire_type: int) -> bytes:
    return bytes([field << 3 | wire_type])


def _length_delimited(field: int, data: bytes) -> bytes:
    assert len(data) < 128
    return _tag(field, 2) + bytes([len(data)]) + data


class RawMessage:
    """Serialized bytes that purerpc's send_message sends as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:
        return self.data


class HostileDaemon:
    """A gRPC server speaking the agent protocol with every server message, oddly filled.

    After the agent's hello it sends: a welcome with extreme numbers, a version made of shell
    and path syntax and unknown fields (a would-be `command`, a file path); acks of 0 and of the
    largest seq (the agent may drop its whole buffer: that is what an ack means); a second
    welcome with unknown fields; a message with no known payload; then, after the agent's
    next batches, it ends the call with a status message made of shell syntax.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.batch_sizes: list[int] = []
        self.calls = 0

    def messages(self) -> list[Any]:
        version = f"$(touch {self.marker}) `id` ; cat {self.marker} ../../etc/shadow"
        unknown = _length_delimited(9, b"rm -rf /") + _length_delimited(10, self.marker.encode()[:100])
        welcome = pb.ServerMessage(
            welcome=pb.Welcome(server_id=-(2**63), daemon_version=version, max_message_bytes=0)
        ).SerializeToString()
        welcome_with_unknowns = _length_delimited(1, pb.Welcome(server_id=7).SerializeToString() + unknown)
        return [
            RawMessage(welcome + unknown + _length_delimited(3, _length_delimited(1, b"/bin/sh -c id"))),
            pb.ServerMessage(ack=pb.Ack(seq=0)),
            pb.ServerMessage(ack=pb.Ack(seq=2**64 - 1)),
            RawMessage(welcome_with_unknowns),
            RawMessage(unknown),
            pb.ServerMessage(),
        ]

    async def serve(self, *, task_status: trio.TaskStatus[ListenAddress] = trio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener:
            task_status.started(ListenAddress("127.0.0.1", port))
            await listener.serve(self._connection)

    async def _connection(self, stream: anyio.abc.SocketStream) -> None:
        # The listen loop reads the socket for every call, so each call runs in its own task.
        async with stream, GrpcSocket(server_config(1024 * 1024), stream) as grpc_socket:
            async with trio.open_nursery() as nursery, aclosing(grpc_socket.listen()) as calls:
                async for call in calls:
                    nursery.start_soon(self._call, call)

    async def _call(self, stream: CallStream) -> None:
        try:
            await self._exchange(stream)
        finally:
            stream.release()

    async def _exchange(self, stream: CallStream) -> None:
        self.calls += 1
        stream.expect_message_type(pb.AgentMessage)
        assert isinstance(await stream.receive_event(), RequestReceived)
        await stream.start_response()
        hello = await stream.receive_event()
        assert isinstance(hello, MessageReceived) and hello.data.WhichOneof("payload") == "hello"
        for message in self.messages():
            await stream.send_message(message)
        batches = 0
        while batches < 3:
            event = await stream.receive_event()
            if isinstance(event, RequestEnded):
                return
            if isinstance(event, MessageReceived) and event.data.WhichOneof("payload") == "metrics":
                self.batch_sizes.append(len(event.data.metrics.samples))
                batches += 1
        await stream.finish(Status(StatusCode.UNAVAILABLE, f"$(touch {self.marker}); exec /bin/sh {self.marker}"))


async def test_the_agent_only_does_what_the_protocol_allows_whatever_the_daemon_sends(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    marker = str(tmp_path / "pwned")
    daemon = HostileDaemon(marker)
    address = await nursery.start(daemon.serve)
    agent = Agent(AgentSettings(server=str(address), token="1.secret", interval_seconds=0.1, reconnect_max_seconds=1))
    with watching() as events, trio.fail_after(30):
        scope = trio.CancelScope()

        async def run_agent() -> None:
            with scope:
                await agent.run()

        nursery.start_soon(run_agent)
        while daemon.calls < 2 or len(daemon.batch_sizes) < 4:
            await trio.sleep(0.05)
        scope.cancel()

    # What the protocol lets a daemon change: the server id, the batch size and the buffer.
    assert agent.server_id == -(2**63)  # the first welcome's; a later one changes nothing
    assert daemon.batch_sizes and max(daemon.batch_sizes) == 1  # max_message_bytes 0 -> one sample a message
    assert not Path(marker).exists()
    forbidden = [(event, args) for event, args in events if event.startswith(_FORBIDDEN_EVENTS)]
    assert forbidden == []
    opened = [str(args[0]) for event, args in events if event == "open"]
    assert not [path for path in opened if "pwned" in path or "shadow" in path], opened
    # Code compiled or run from text (not an imported module file) would be an eval of input.
    executed = [args for event, args in events if event in ("exec", "compile")]
    assert not [args for args in executed if not str(getattr(args[0], "co_filename", args[-1])).endswith(".py")]


# --- the HTTP surface -------------------------------------------------------------------------

# CONTRACT §4 and §5, plus the routes later issues added: user management and password change
# (issue 2), Prometheus /metrics (issue 7) and the dashboard's hashed assets.
ROUTES = {
    ("/api/auth/login", "POST"),
    ("/api/auth/me", "GET"),
    ("/api/auth/password", "PUT"),
    ("/api/users", "GET"),
    ("/api/users", "POST"),
    ("/api/users/<int:user_id>", "DELETE"),
    ("/api/servers", "GET"),
    ("/api/servers", "POST"),
    ("/api/servers/<int:server_id>", "GET"),
    ("/api/servers/<int:server_id>", "PATCH"),
    ("/api/servers/<int:server_id>", "DELETE"),
    ("/api/servers/<int:server_id>/token", "POST"),
    ("/api/servers/<int:server_id>/metrics", "GET"),
    ("/api/health", "GET"),
    ("/metrics", "GET"),
    # alerts (issue 15); channel tests are admin-only and answer no target body (tests/alerts/test_api.py)
    ("/api/alerts/channels", "GET"),
    ("/api/alerts/channels", "POST"),
    ("/api/alerts/channels/<int:channel_id>", "PATCH"),
    ("/api/alerts/channels/<int:channel_id>", "DELETE"),
    ("/api/alerts/channels/<int:channel_id>/test", "POST"),
    ("/api/alerts/rules", "GET"),
    ("/api/alerts/rules", "POST"),
    ("/api/alerts/rules/preview", "POST"),
    ("/api/alerts/rules/<int:rule_id>", "PATCH"),
    ("/api/alerts/rules/<int:rule_id>", "DELETE"),
    ("/api/alerts/active", "GET"),
    ("/api/alerts/events", "GET"),
    ("/api/alerts/silences", "GET"),
    ("/api/alerts/silences", "POST"),
    ("/api/alerts/silences/<int:silence_id>", "DELETE"),
    # Administration and the agent install (issue 14): the script and wheels are read-only files.
    ("/api/users/<int:user_id>", "PATCH"),
    ("/api/users/<int:user_id>/password", "POST"),
    ("/api/agent/install", "GET"),
    ("/agent/install.sh", "GET"),
    ("/agent/wheels/", "GET"),
    ("/agent/wheels/<name>", "GET"),
    ("/agent/token-check", "POST"),
    # Tags, grants and status pages (issue 16).
    ("/api/users/<int:user_id>", "GET"),
    ("/api/users/<int:user_id>/grant", "PUT"),
    ("/api/tags", "GET"),
    ("/api/tags/<name>", "PATCH"),
    ("/api/status-pages", "GET"),
    ("/api/status-pages", "POST"),
    ("/api/status-pages/<int:page_id>", "GET"),
    ("/api/status-pages/<int:page_id>", "PATCH"),
    ("/api/status-pages/<int:page_id>", "DELETE"),
    ("/api/public/status/<slug>", "GET"),
    ("/api/public/status/<slug>/token", "POST"),
    ("/ws/public/status/<slug>", "WEBSOCKET"),
    ("/ws/servers", "WEBSOCKET"),
    ("/", "GET"),
    ("/assets/<path:name>", "GET"),
    ("/<path:path>", "GET"),
}


def test_the_app_has_exactly_the_known_routes() -> None:
    app = create_app(cast(AppState, None))
    routes = set()
    for rule in app.url_map.iter_rules():
        methods = {"WEBSOCKET"} if rule.websocket else set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        routes |= {(rule.rule, method) for method in methods}
    assert routes == ROUTES


async def test_dashboard_routes_serve_no_file_outside_the_build(running: RunningDaemon) -> None:
    secret = Path(running.settings.data_dir) / "initial-admin-password"
    password = secret.read_text().strip()
    async with httpx.AsyncClient(base_url=running.base_url, timeout=10) as client:
        for path in (
            "/assets/..%2f..%2f..%2fconfig.py",
            "/assets/%2e%2e/%2e%2e/%2e%2e/config.py",
            "/..%2f..%2f..%2f..%2fetc%2fpasswd",
            f"/{'..%2f' * 8}{str(secret).lstrip('/').replace('/', '%2f')}",
            "/assets/" + "%2e%2e/" * 8 + str(secret).lstrip("/"),
            "/%2fetc%2fpasswd",
            "/config.py",
        ):
            response = await client.get(path)
            assert response.status_code in (200, 404), (path, response.status_code)
            assert password not in response.text and "root:" not in response.text
            assert "Settings" not in response.text, path
