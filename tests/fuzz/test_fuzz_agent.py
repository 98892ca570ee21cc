"""Agent messages from hypothesis: random and mutated protobuf, on the decoder and on real calls.

What an agent sends is decoded by `CallStream.receive_event` (protobuf parse) and then read by
`host_facts` and `check_samples`; those must turn any bytes into either data or a DecodeError.
On a real call against the real daemon process (tests/fuzz/conftest.py), any frames end in a
status the daemon chose, never INTERNAL or a Python repr, and the next agent is served as usual;
any `authorization` value but the right one is UNAUTHENTICATED.
"""

from __future__ import annotations

import re

import trio
from google.protobuf.message import DecodeError
from hypothesis import assume, given
from hypothesis import strategies as st
from purerpc.grpclib.status import Status, StatusCode

from monitord.config import ListenAddress
from monitord.ingest.validation import check_samples, host_facts
from monitord.models import now_ms
from monitord.proto import monitord_pb2 as pb
from tests.agents.conftest import HELLO, agent_call, metrics, sample
from tests.fuzz.conftest import FuzzTarget

VALID_FRAMES = [
    HELLO.SerializeToString(),
    pb.AgentMessage(hello=pb.Hello(hostname="h", ip_addresses=["10.0.0.1", "::1"], cpu_cores=2)).SerializeToString(),
    metrics(sample(1, 0), sample(2, 0)).SerializeToString(),
    metrics(sample(2**63, 0, cpu_usage_percent=-1.0)).SerializeToString(),
    pb.AgentMessage().SerializeToString(),
]


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A valid frame with a few bytes flipped, inserted, removed or cut off."""
    frame = bytearray(draw(st.sampled_from(VALID_FRAMES)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(frame)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if kind == "flip" and position < len(frame):
            frame[position] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            frame[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del frame[position : position + draw(st.integers(1, 8))]
        else:
            del frame[position:]
    return bytes(frame)


FRAMES = st.one_of(st.binary(max_size=300), mutated_frames(), st.sampled_from(VALID_FRAMES))


@given(FRAMES)
def test_the_decoder_gives_a_message_or_a_decode_error(data: bytes) -> None:
    message = pb.AgentMessage()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return
    host_facts(message.hello)
    check_samples(message.metrics.samples, last_seq=None, now_ms=now_ms(), max_future_ms=5000, max_age_ms=86_400_000)


class RawMessage:
    """Serialized bytes that purerpc's send_message sends as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:
        return self.data


# Every message the daemon may end a call with; anything else would be a leak or a bug.
CLEAN_STATUS = re.compile(
    r"|malformed message|the first message must be hello|empty message|message larger than \d+ bytes"
    r"|missing or invalid agent token"
)


async def _call(grpc: ListenAddress, authorization: str, frames: list[bytes]) -> Status:
    """Send `frames` on one call, end our side, and return the status the daemon ended it with."""
    with trio.fail_after(10):
        async with agent_call(grpc, None, authorization=authorization) as call:
            for frame in frames:
                await call.send(RawMessage(frame))  # type: ignore[arg-type]
            try:
                await call.stream.close()
            except TypeError:
                pass  # the daemon already ended the call
            return await call.ended_with()


async def _still_serving(grpc: ListenAddress, token: str) -> None:
    with trio.fail_after(10):
        async with agent_call(grpc, token) as call:
            await call.send(HELLO)
            reply = await call.receive()
    assert reply is not None and reply.WhichOneof("payload") == "welcome"


def _assert_clean(status: Status) -> None:
    assert status.status_code not in (StatusCode.INTERNAL, StatusCode.UNKNOWN), status.status_message
    assert CLEAN_STATUS.fullmatch(status.status_message), status.status_message


@given(frames=st.lists(FRAMES, min_size=1, max_size=4), hello_first=st.booleans())
def test_any_frames_on_a_real_call_end_cleanly(fuzz_target: FuzzTarget, frames: list[bytes], hello_first: bool) -> None:
    sent = ([HELLO.SerializeToString()] if hello_first else []) + frames

    async def exchange() -> None:
        _assert_clean(await _call(fuzz_target.grpc, f"Bearer {fuzz_target.agent_token}", sent))
        await _still_serving(fuzz_target.grpc, fuzz_target.agent_token)

    trio.run(exchange)


# Header-safe text (h2 refuses control characters and surrounding whitespace before sending).
HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60).map(str.strip)
AUTHORIZATIONS = st.one_of(
    HEADER_TEXT,
    st.builds(
        lambda scheme, text: f"{scheme} {text}".strip(), st.sampled_from(["Bearer", "bearer", "Basic"]), HEADER_TEXT
    ),
    st.builds(
        lambda server, secret: f"Bearer {server}.{secret}".strip(),
        st.text("0123456789²³¹⁴٣１ -+_", min_size=1, max_size=20),
        HEADER_TEXT,
    ),
)


@given(authorization=AUTHORIZATIONS)
def test_any_wrong_authorization_is_unauthenticated(fuzz_target: FuzzTarget, authorization: str) -> None:
    assume(authorization and authorization.partition(" ")[2].strip() != fuzz_target.agent_token)

    async def exchange() -> None:
        status = await _call(fuzz_target.grpc, authorization, [HELLO.SerializeToString()])
        assert (status.status_code, status.status_message) == (
            StatusCode.UNAUTHENTICATED,
            "missing or invalid agent token",
        )

    trio.run(exchange)
