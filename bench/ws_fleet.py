"""Dashboard clients in one process: WebSocket subscribers, or pollers of GET /api/servers.

    python -m bench.ws_fleet --address HOST:PORT --token JWT --clients N [--mode push|poll] ...

Protocol with the harness: once every client is connected (or `--connect-seconds` passed; the
report says how many got in) it prints `ready` on stdout; it then
reads one line `T0 T1` (wall-clock seconds) from stdin, and prints one JSON object with what
arrived inside that window, and exits.

Push clients speak WebSocket over a raw socket and read only frame headers, so the fleet stays
cheap at 1000 clients x megabytes per tick. With `--deflate half` (the default) every other one
offers permessage-deflate and an Origin like a browser, with `all` every one does, with `none`
none; the report counts the handshakes the daemon answered with the extension.
`--protocol v2` offers monitord.v2 (and v1); its frames are the snapshot, then deltas.
`--probes` of them also decode every message, to time each server's newest sample from its
timestamp (taken at the agent) to its arrival here. Poll clients send GET /api/servers on a
keep-alive connection every interval, the design the push replaces.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import time
from datetime import datetime

import msgspec
import trio

HANDSHAKE_CONCURRENCY = 32


class FrameCounter:
    """Counts the server's text frames from the byte stream, reading only frame headers.

    `arrivals` holds the wall-clock time each text frame was complete; with `keep_payload`,
    `on_text(payload, arrival)` gets each text frame's bytes.
    """

    def __init__(self, on_text=None) -> None:  # type: ignore[no-untyped-def]
        self.text_frames = 0
        self.bytes = 0
        self.arrivals: list[float] = []
        self.cut_off = False  # the daemon reset the connection (it gave up on this client)
        self._on_text = on_text
        self._payload = bytearray()
        self._header = bytearray()
        self._remaining = 0
        self._is_text = False

    def feed(self, data: bytes) -> None:
        self.bytes += len(data)
        position, end = 0, len(data)
        while position < end:
            if self._remaining:
                step = min(self._remaining, end - position)
                if self._on_text is not None and self._is_text:
                    self._payload += data[position : position + step]
                self._remaining -= step
                position += step
                if not self._remaining:
                    self._frame_done()
                continue
            self._header.append(data[position])
            position += 1
            length = self._payload_length()
            if length is not None:
                self._is_text = self._header[0] & 0x0F == 0x1
                self._remaining = length
                self._header.clear()
                if not length:
                    self._frame_done()

    def _frame_done(self) -> None:
        if not self._is_text:
            return
        now = time.time()
        self.text_frames += 1
        self.arrivals.append(now)
        if self._on_text is not None:
            self._on_text(bytes(self._payload), now)
            self._payload.clear()

    def _payload_length(self) -> int | None:
        header = self._header
        if len(header) < 2:
            return None
        short = header[1] & 0x7F
        extra = 2 if short == 126 else 8 if short == 127 else 0
        if len(header) < 2 + extra:
            return None
        return short if not extra else int.from_bytes(header[2 : 2 + extra], "big")


class _Metrics(msgspec.Struct, rename="camel"):
    time: datetime


class _Server(msgspec.Struct, rename="camel"):
    id: int
    latest_metrics: _Metrics | None


class _Message(msgspec.Struct):
    servers: list[_Server]


class LatencyProbe:
    """Decodes each snapshot; for every server whose newest sample changed, sample age on arrival."""

    def __init__(self) -> None:
        self._decoder = msgspec.json.Decoder(_Message)
        self._seen: dict[int, datetime] = {}
        self.latencies: list[tuple[float, float]] = []  # (arrival, seconds since the sample)

    def __call__(self, payload: bytes, arrival: float) -> None:
        for server in self._decoder.decode(payload).servers:
            metrics = server.latest_metrics
            if metrics is None or self._seen.get(server.id) == metrics.time:
                continue
            if server.id in self._seen:  # the first sight of a server is not an update
                self.latencies.append((arrival, arrival - metrics.time.timestamp()))
            self._seen[server.id] = metrics.time


class HandshakeStats:
    def __init__(self) -> None:
        self.connected = 0
        self.deflate_offered = 0
        self.deflate_accepted = 0


async def _read_head(stream: trio.SocketStream) -> tuple[bytes, bytes]:
    """The HTTP head up to the blank line, and whatever bytes came after it."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("closed during the HTTP head")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


async def push_client(
    host: str,
    port: int,
    token: str,
    counter: FrameCounter,
    offer_deflate: bool,
    stats: HandshakeStats,
    connected: trio.Semaphore,
    protocols: str,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """One WebSocket subscriber: handshake, then count frames until cancelled or cut off."""
    async with connected:
        stream = await trio.open_tcp_stream(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        browser_like = (
            f"Origin: http://{host}:{port}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            if offer_deflate
            else ""
        )
        await stream.send_all(
            f"GET /ws/servers HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {protocols}, bearer.{token}\r\n{browser_like}\r\n".encode()
        )
        head, rest = await _read_head(stream)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head.splitlines()[0]!r}")
    stats.connected += 1
    stats.deflate_offered += offer_deflate
    stats.deflate_accepted += b"permessage-deflate" in head.lower()
    task_status.started()
    async with stream:
        counter.feed(rest)
        try:
            while data := await stream.receive_some(1 << 20):
                counter.feed(data)
        except trio.BrokenResourceError:
            counter.cut_off = True


async def poll_client(
    host: str,
    port: int,
    token: str,
    interval: float,
    counter: FrameCounter,
    stats: HandshakeStats,
    browser_like: bool = False,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """One poller: GET /api/servers every `interval` on one keep-alive connection until cancelled.
    `browser_like` accepts gzip as browsers do (the daemon then compresses every answer)."""
    stream = await trio.open_tcp_stream(host, port)
    accept_encoding = "Accept-Encoding: gzip, deflate, br\r\n" if browser_like else ""
    request = (
        f"GET /api/servers HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: application/json\r\n{accept_encoding}\r\n"
    ).encode()
    stats.connected += 1
    task_status.started()
    await trio.sleep(random.random() * interval)  # dashboards are not in step
    async with stream:
        next_at = trio.current_time()
        while True:
            await stream.send_all(request)
            head, body = await _read_head(stream)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"poll refused: {head.splitlines()[0]!r}")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            received = len(body)
            while received < length:
                chunk = await stream.receive_some(1 << 20)
                if not chunk:
                    raise ConnectionError("closed mid-body")
                received += len(chunk)
            counter.bytes += len(head) + length
            counter.text_frames += 1
            counter.arrivals.append(time.time())
            next_at += interval
            await trio.sleep_until(next_at)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarize(counters: list[FrameCounter], probes: list[LatencyProbe], t0: float, t1: float) -> dict[str, object]:
    """What arrived in [t0, t1]: messages per client, bytes, inter-arrival and latency percentiles."""
    per_client = [sum(t0 <= at <= t1 for at in c.arrivals) for c in counters]
    gaps = [
        b - a for c in counters for a, b in zip(c.arrivals, c.arrivals[1:], strict=False) if t0 <= b <= t1 and a >= t0
    ]
    latencies = [seconds for p in probes for at, seconds in p.latencies if t0 <= at <= t1]
    total_bytes = sum(c.bytes for c in counters)
    total_frames = sum(c.text_frames for c in counters)
    return {
        "messages": per_client,
        "bytes_per_message": total_bytes / total_frames if total_frames else 0,
        "gap_p50": percentile(gaps, 0.5),
        "gap_p99": percentile(gaps, 0.99),
        "latency_p50": percentile(latencies, 0.5),
        "latency_p99": percentile(latencies, 0.99),
        "latency_count": len(latencies),
        "cut_off": sum(c.cut_off for c in counters),
    }


async def main(args: argparse.Namespace) -> None:
    host, port_text = args.address.rsplit(":", 1)
    port = int(port_text)
    stats = HandshakeStats()
    offers = [args.deflate == "all" or (args.deflate == "half" and index % 2 == 1) for index in range(args.clients)]
    # Probes decode v1 snapshots, so only clients getting plain v1 frames carry one.
    probing = [i for i in range(args.clients) if not offers[i] and args.protocol == "v1"][: args.probes]
    probes = [LatencyProbe() for _ in probing]
    by_client = dict(zip(probing, probes, strict=True))
    counters = [FrameCounter(by_client.get(i)) for i in range(args.clients)]
    protocols = "monitord.v2, monitord.v1" if args.protocol == "v2" else "monitord.v1"
    connecting = trio.Semaphore(HANDSHAKE_CONCURRENCY)
    async with trio.open_nursery() as nursery:
        # A daemon too busy to accept everyone in time is measured with the clients it accepted.
        with trio.move_on_after(args.connect_seconds):
            async with trio.open_nursery() as starting:
                for index, counter in enumerate(counters):
                    if args.mode == "push":
                        starting.start_soon(
                            nursery.start,
                            push_client,
                            host,
                            port,
                            args.token,
                            counter,
                            offers[index],
                            stats,
                            connecting,
                            protocols,
                        )
                    else:
                        starting.start_soon(
                            nursery.start,
                            poll_client,
                            host,
                            port,
                            args.token,
                            args.interval,
                            counter,
                            stats,
                            offers[index],
                        )
        print("ready", flush=True)
        window = await trio.to_thread.run_sync(sys.stdin.readline)
        nursery.cancel_scope.cancel()
    t0, t1 = (float(value) for value in window.split())
    report = summarize(counters, probes, t0, t1)
    report.update(
        connected=stats.connected, deflate_offered=stats.deflate_offered, deflate_accepted=stats.deflate_accepted
    )
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--mode", choices=["push", "poll"], default="push")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument(
        "--connect-seconds",
        type=float,
        default=60.0,
        help="report ready after this long even if not every client got in",
    )
    parser.add_argument("--probes", type=int, default=0, help="clients that decode messages to time samples")
    parser.add_argument("--protocol", choices=["v1", "v2"], default="v1")
    parser.add_argument("--deflate", choices=["half", "all", "none"], default="half")
    trio.run(main, parser.parse_args())
