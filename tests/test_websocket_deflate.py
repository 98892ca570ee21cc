"""The shared permessage-deflate of /ws/servers: the handshake answers, three real decoders, the
switch that turns it off, and compressed client frames refused without being inflated."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
import trio
from websockets.sync.client import connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from monitord.http.ws_deflate import negotiate
from monitord.push.frames import OutgoingMessage, deflated_text_frame
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import raw_handshake, read_data_frame, read_frame, subprotocols

SHARED = "permessage-deflate; server_no_context_takeover"


def _offer_headers(running: RunningDaemon, token: str, offer: str | None) -> dict[str, str]:
    headers = {"Sec-WebSocket-Protocol": ", ".join(subprotocols(token)), "Origin": f"http://{running.endpoints.http}"}
    if offer is not None:
        headers["Sec-WebSocket-Extensions"] = offer
    return headers


@pytest.mark.parametrize(
    "offer,answer",
    [
        ("permessage-deflate; client_max_window_bits", SHARED),  # Chromium, Firefox
        ("permessage-deflate", SHARED),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover", SHARED),
        ("permessage-deflate; server_max_window_bits=15", SHARED),
        ("permessage-deflate; client_max_window_bits=10", SHARED),  # we never inflate client frames
        ("x-webkit-deflate-frame, permessage-deflate", SHARED),
        ("permessage-deflate; server_max_window_bits=10", None),  # a 15-bit window is invalid for it
        ("permessage-deflate; server_max_window_bits=10, permessage-deflate", SHARED),  # its fallback
        ("permessage-deflate; server_max_window_bits", None),  # the value is required
        ("permessage-deflate; client_max_window_bits=99", None),
        ("permessage-deflate; server_no_context_takeover=1", None),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
        ("permessage-deflate; unknown_param", None),
        ("x-webkit-deflate-frame", None),
        (None, None),
    ],
)
async def test_the_handshake_answers_each_offer_exactly(
    running: RunningDaemon, admin_token: str, offer: str | None, answer: str | None
) -> None:
    status, headers, stream = await raw_handshake(running, _offer_headers(running, admin_token, offer))
    async with stream:
        assert status == 101
        assert headers.get("sec-websocket-extensions") == answer
        with trio.fail_after(5):
            first, _ = await _read_raw(stream)
    assert first & 0x40 == (0x40 if answer else 0)  # RSV1: the message is compressed


async def _read_raw(stream: trio.SocketStream) -> tuple[int, bytes]:
    """The first header byte (FIN, RSV, opcode) and the payload of the next non-ping frame."""

    async def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = await stream.receive_some(count - len(data))
            assert chunk, "the connection closed mid-frame"
            data += chunk
        return data

    while True:
        first, second = await exactly(2)
        length = second & 0x7F
        if length >= 126:
            length = int.from_bytes(await exactly(2 if length == 126 else 8), "big")
        payload = await exactly(length)
        if first & 0x0F != 0x9:
            return first, payload


async def test_compressed_frames_inflate_to_the_snapshot_a_plain_client_gets(
    running: RunningDaemon, admin_token: str
) -> None:
    _, _, stream = await raw_handshake(
        running, _offer_headers(running, admin_token, "permessage-deflate; client_max_window_bits")
    )
    async with stream:
        with trio.fail_after(5):
            first, payload = await _read_raw(stream)
    assert first == 0xC1  # FIN, RSV1, text
    snapshot = json.loads(zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff"))
    assert snapshot["type"] == "fullServerList"


async def test_wsproto_decodes_every_shared_frame(running: RunningDaemon, admin_token: str) -> None:
    address = running.endpoints.http
    client = WSConnection(ConnectionType.CLIENT)
    stream = await trio.open_tcp_stream(address.host, address.port)
    request = Request(
        host=f"{address.host}:{address.port}",
        target="/ws/servers",
        subprotocols=subprotocols(admin_token),
        extensions=[PerMessageDeflate()],
        extra_headers=[(b"origin", f"http://{address}".encode())],
    )
    messages: list[str] = []
    accepted: AcceptConnection | None = None
    async with stream:
        await stream.send_all(client.send(request))
        with trio.fail_after(10):
            while len(messages) < 2:  # the client's own snapshot, then a tick's shared frame
                client.receive_data(await stream.receive_some(65536))
                text = ""
                for event in client.events():
                    if isinstance(event, AcceptConnection):
                        accepted = event
                    elif isinstance(event, TextMessage):
                        text += event.data
                        if event.message_finished:
                            messages.append(text)
                            text = ""
    assert accepted is not None
    assert [type(extension) for extension in accepted.extensions] == [PerMessageDeflate]
    assert [json.loads(message)["type"] for message in messages] == ["fullServerList"] * 2


async def test_the_websockets_client_decodes_the_shared_frames(running: RunningDaemon, admin_token: str) -> None:
    address = running.endpoints.http

    def receive_two() -> tuple[str | None, list[str]]:
        with connect(
            f"ws://{address}/ws/servers",
            subprotocols=subprotocols(admin_token),  # type: ignore[arg-type]  # free-form names
            origin=f"http://{address}",  # type: ignore[arg-type]
            compression="deflate",
            open_timeout=10,
        ) as websocket:
            extensions = websocket.response.headers.get("Sec-WebSocket-Extensions")
            return extensions, [str(websocket.recv(timeout=10)) for _ in range(2)]

    extensions, messages = await trio.to_thread.run_sync(receive_two)
    assert extensions == SHARED
    assert [json.loads(message)["type"] for message in messages] == ["fullServerList"] * 2


async def test_with_compression_off_every_offer_is_declined(tmp_path: Path, daemons: DaemonStarter) -> None:
    running = await daemons(make_settings(tmp_path / "data", push={"compression": "off"}))
    token = await running.login()
    status, headers, stream = await raw_handshake(
        running, _offer_headers(running, token, "permessage-deflate; client_max_window_bits")
    )
    async with stream:
        assert status == 101
        assert "sec-websocket-extensions" not in headers
        with trio.fail_after(5):
            opcode, payload = await read_data_frame(stream)
    assert opcode == 0x1
    assert json.loads(payload)["type"] == "fullServerList"  # plain JSON, not deflated bytes


async def test_a_compressed_client_frame_is_refused_with_1008_and_never_inflated(
    running: RunningDaemon, admin_token: str
) -> None:
    _, _, stream = await raw_handshake(running, _offer_headers(running, admin_token, "permessage-deflate"))
    # A bomb: 1 KiB that would inflate to 100 MiB, as one masked text frame with RSV1.
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = (bomb.compress(b"\0" * (100 * 2**20)) + bomb.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert len(payload) < 200_000
    mask = b"\x01\x02\x03\x04"
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    header = bytes([0xC1, 0x80 | 127]) + len(payload).to_bytes(8, "big") + mask
    async with stream:
        await stream.send_all(header + masked)
        with trio.fail_after(5):
            while True:
                opcode, body = await read_frame(stream)
                if opcode == 0x8:  # close
                    break
    assert int.from_bytes(body[:2], "big") == 1008


def test_negotiate_reads_every_header_line() -> None:
    assert negotiate([b"x-other", b"permessage-deflate; client_max_window_bits"])
    assert not negotiate([b"x-other"])
    assert not negotiate([])


async def test_a_message_is_deflated_once_however_many_clients_wait_for_it() -> None:
    message = OutgoingMessage(json.dumps({"servers": ["web"] * 1000}).encode())
    frames: list[bytes] = []

    async def want() -> None:
        frames.append(await message.deflated_frame())

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(want)
    assert len({id(frame) for frame in frames}) == 1  # the same bytes object: one compression
    assert frames[0] == deflated_text_frame(message.payload)
