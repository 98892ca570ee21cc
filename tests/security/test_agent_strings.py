"""Strings an agent sends are hostile input: stored bounded, logged on one line, served as JSON text.

A `hello` carries free text (hostname, OS, kernel, CPU model...). Whatever it holds, the daemon
keeps a cleaned, bounded copy (monitord/ingest/validation.py: control characters become spaces,
whitespace collapses, each field has a length cap), logs it on one line and hands it to REST and
WebSocket clients as a JSON string. Bytes that are not UTF-8 are not a protobuf string at all:
the call ends with INVALID_ARGUMENT and the daemon serves on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
import trio
from purerpc.grpclib.status import StatusCode

from monitord.ingest.validation import FACT_LENGTHS
from monitord.logs import LOG_FORMAT, OneLineFormatter
from monitord.proto import monitord_pb2 as pb
from tests.agents.conftest import agent_call, register_server
from tests.conftest import RunningDaemon
from tests.live_feed_helpers import feed
from tests.security.conftest import CapturedLog

TEN_KB = "x" * 10 * 1024
# What an agent says -> what every client must read back.
HOSTNAMES = {
    "markup": ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    "shell": ("$(id)`id`;id|id", "$(id)`id`;id|id"),
    "forged log line": ("a\nb\r\nFAKE LOG LINE", "a b FAKE LOG LINE"),
    "terminal escapes and bidi override": ("\x1b[2Jhost\u202egpj.exe\x00", "[2Jhost gpj.exe"),
    "10 KB": (TEN_KB, "x" * FACT_LENGTHS["hostname"]),
    "quotes and backslashes": ('"},{"id":1,"x":"\\', '"},{"id":1,"x":"\\'),
}


def _hello(hostname: str) -> pb.AgentMessage:
    """A hello whose every text field is `hostname` (so each field's cap is exercised too)."""
    return pb.AgentMessage(
        hello=pb.Hello(
            **{name: hostname for name in FACT_LENGTHS},
            cpu_cores=4,
            ip_addresses=[hostname, "10.0.0.7"],
        )
    )


def _stored_facts(running: RunningDaemon, server_id: int) -> dict[str, str]:
    connection = sqlite3.connect(Path(running.settings.data_dir) / "monitord.db")
    try:
        columns = ", ".join(FACT_LENGTHS)
        row = connection.execute(f"SELECT {columns} FROM servers WHERE id = ?", (server_id,)).fetchone()
    finally:
        connection.close()
    return dict(zip(FACT_LENGTHS, row, strict=True))


async def _facts_once_written(running: RunningDaemon, server_id: int) -> dict[str, str]:
    """The stored facts, once the writer has stored the hello (it does so with its next write)."""
    with trio.fail_after(10):
        while not (stored := _stored_facts(running, server_id))["hostname"]:
            await trio.sleep(0.02)
    return stored


async def _pushed_server(running: RunningDaemon, token: str, server_id: int, hostname: str) -> dict[str, object]:
    """The server as the live feed pushes it, once the push carries `hostname`."""
    async with feed(running, token) as connection:
        with trio.fail_after(15):
            while True:
                message = json.loads(await connection.get_message())
                server = next(item for item in message["servers"] if item["id"] == server_id)
                if server["hostname"] == hostname:
                    return server  # type: ignore[no-any-return]


@pytest.mark.parametrize(("sent", "expected"), list(HOSTNAMES.values()), ids=list(HOSTNAMES))
async def test_hostile_host_facts_are_stored_bounded_logged_once_and_served_as_text(
    debug_log: CapturedLog, running: RunningDaemon, admin_token: str, sent: str, expected: str
) -> None:
    assert running.endpoints.grpc is not None
    server_id, agent_token = await register_server(running)
    async with agent_call(running.endpoints.grpc, agent_token) as call:
        await call.send(_hello(sent))
        reply = await call.receive()
        assert reply is not None and reply.WhichOneof("payload") == "welcome"

    stored = await _facts_once_written(running, server_id)
    assert stored["hostname"] == expected
    for name, limit in FACT_LENGTHS.items():
        assert len(stored[name]) <= limit
        assert stored[name] == expected[:limit].strip()

    async with running.client(admin_token) as client:
        response = await client.get(f"/api/servers/{server_id}")
    assert response.headers["content-type"].startswith("application/json")
    server = response.json()
    assert server["hostname"] == expected and server["cpuModel"] == expected[: FACT_LENGTHS["cpu_model"]].strip()
    assert server["ipAddress"] == "10.0.0.7"  # the hostile entry is no address and is skipped
    pushed = await _pushed_server(running, admin_token, server_id, expected)
    assert pushed["cpuModel"] == server["cpuModel"] and pushed["osType"] == server["osType"]

    hello_lines = [line for line in debug_log.lines if f"server {server_id}: agent" in line]
    assert len(hello_lines) == 1, hello_lines
    assert hello_lines[0].endswith(f"connected from host {expected}")
    for line in debug_log.lines:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line


def test_the_log_format_escapes_line_breaks_and_terminal_controls() -> None:
    record = logging.LogRecord(
        "monitord.test", logging.WARNING, __file__, 1, "host %s", ("a\nb\r\nFAKE\x1b[2J\u2028",), None
    )
    line = OneLineFormatter(LOG_FORMAT).format(record)
    assert line.endswith("host a\\nb\\r\\nFAKE\\x1b[2J\\u2028")
    assert not any(character in line for character in "\n\r\x1b\u2028")


def _hello_with_raw_hostname(hostname: bytes) -> bytes:
    """An AgentMessage{hello{hostname}} built by hand, so the bytes need not be UTF-8."""
    hello = b"\x0a" + _varint(len(hostname)) + hostname
    return b"\x0a" + _varint(len(hello)) + hello


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class RawMessage:
    """Serialized bytes that purerpc's send_message sends as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:
        return self.data


@pytest.mark.parametrize(
    "hostname", [b"\xff\xfe", b"host\xc0\x80", b"\xed\xa0\x80surrogate", b"<img src=x>\x80" * 100], ids=repr
)
async def test_a_hello_with_invalid_utf8_ends_the_call_cleanly_and_the_daemon_serves_on(
    running: RunningDaemon, hostname: bytes
) -> None:
    assert running.endpoints.grpc is not None
    server_id, agent_token = await register_server(running)
    async with agent_call(running.endpoints.grpc, agent_token) as call:
        await call.send(RawMessage(_hello_with_raw_hostname(hostname)))  # type: ignore[arg-type]
        status = await call.ended_with()
    assert (status.status_code, status.status_message) == (StatusCode.INVALID_ARGUMENT, "malformed message")
    assert running.endpoints.cache.get(server_id).hostname == ""

    async with agent_call(running.endpoints.grpc, agent_token) as call:
        await call.send(_hello("after"))
        reply = await call.receive()
        assert reply is not None and reply.WhichOneof("payload") == "welcome"
    assert running.endpoints.cache.get(server_id).hostname == "after"
