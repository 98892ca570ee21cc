"""Simulated agents in one process: real gRPC calls, each reporting every interval.

    python -m bench.agent_fleet --address HOST:PORT --tokens FILE [--interval 1] [--batch 1]

Each agent opens its own connection with its own token (as a real agent does), says hello, then
every `--interval` seconds sends a batch of `--batch` samples stamped with the current time, at a
random phase so the fleet is not in lock step. An ack tells which samples are stored; the time
from sending a batch to its ack is the ingest latency.

With `--backlog N` each agent first re-sends N samples it buffered through an outage (one per
second before it reconnected, oldest first, at most 500 per message, as the real agent does),
then goes live; the report adds how long the fleet took until every backlog was acked.

Same protocol with the harness as bench/ws_fleet.py: `ready` on stdout once every agent had its
welcome, then one line `T0 T1` on stdin, answered with one JSON object about that window.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import trio
from purerpc.grpclib.events import MessageReceived, ResponseEnded

from bench.ws_fleet import percentile
from monitord.grpc_transport import open_channel
from monitord.models import METRIC_FIELDS
from monitord.proto import monitord_grpc
from monitord.proto import monitord_pb2 as pb

# Agents connect this far apart, so the daemon's accept backlog never overflows.
CONNECT_SPACING_SECONDS = 0.003

TEMPLATE = pb.Sample(
    **{
        **{name: 1 for name in METRIC_FIELDS},
        "cpu_usage_percent": 42.5,
        "memory_total_bytes": 8 << 30,
        "memory_usage_bytes": 3 << 30,
        "disk_total_bytes": 500 << 30,
        "disk_used_bytes": 100 << 30,
        "swap_total_bytes": 1 << 30,
    }
)


def sample(seq: int, timestamp_ms: int) -> pb.Sample:
    """A plausible sample numbered `seq`, taken at `timestamp_ms`."""
    message = pb.Sample()
    message.CopyFrom(TEMPLATE)
    message.seq = seq
    message.timestamp_ms = timestamp_ms
    return message


class Tally:
    """Sent and acked samples with wall-clock times, for the whole fleet."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, int]] = []  # (time, samples)
        self.acked: list[tuple[float, int, float]] = []  # (time, samples, seconds since sent)
        self.backlog_started: list[float] = []  # when each agent began re-sending its backlog
        self.caught_up: list[float] = []  # when each agent's backlog was acked
        # Each agent's highest acked seq: its seqs count from 1, so that is how many it got acked.
        self.highest_ack: dict[str, int] = {}


# The real agent's largest message (monitord/agent/run.py MAX_BATCH_SAMPLES).
BACKLOG_MESSAGE_SAMPLES = 500


async def agent(
    host: str,
    port: int,
    token: str,
    interval: float,
    batch: int,
    tally: Tally,
    delay: float,
    backlog: int = 0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """One agent's call, connecting after `delay` seconds, until cancelled. Raises if the call ends."""
    await trio.sleep(delay)
    async with open_channel(host, port) as channel:
        stream = await monitord_grpc.AgentServiceStub(channel).Connect(metadata=(("authorization", f"Bearer {token}"),))
        await stream.send_message(pb.AgentMessage(hello=pb.Hello(hostname="bench-agent", os_type="linux")))
        event = await stream.receive_event()
        while not isinstance(event, MessageReceived):
            if isinstance(event, ResponseEnded):
                raise RuntimeError(f"call ended before the welcome: {event.status}")
            event = await stream.receive_event()
        task_status.started()
        sent_at: dict[int, float] = {}  # last seq of each live batch in flight → when it was sent
        behind = backlog > 0

        async def receive_acks() -> None:
            nonlocal behind
            while True:
                event = await stream.receive_event()
                if isinstance(event, ResponseEnded):
                    raise RuntimeError(f"call ended: {event.status}")
                if isinstance(event, MessageReceived) and event.data.WhichOneof("payload") == "ack":
                    now = time.time()
                    tally.highest_ack[token] = event.data.ack.seq
                    if behind and event.data.ack.seq >= backlog:
                        tally.caught_up.append(now)
                        behind = False
                    for seq in [s for s in sent_at if s <= event.data.ack.seq]:
                        tally.acked.append((now, batch, now - sent_at.pop(seq)))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive_acks)
            seq = 0
            if backlog:
                tally.backlog_started.append(time.time())
                reconnected_ms = int(time.time() * 1000)
                while seq < backlog:
                    count = min(BACKLOG_MESSAGE_SAMPLES, backlog - seq)
                    samples = [sample(seq + i + 1, reconnected_ms - (backlog - seq - i) * 1000) for i in range(count)]
                    seq += count
                    await stream.send_message(pb.AgentMessage(metrics=pb.MetricsBatch(samples=samples)))
            await trio.sleep(random.random() * interval)
            next_at = trio.current_time()
            while True:
                now_ms = int(time.time() * 1000)
                samples = [sample(seq + i + 1, now_ms - batch + 1 + i) for i in range(batch)]
                seq += batch
                sent_at[seq] = time.time()
                await stream.send_message(pb.AgentMessage(metrics=pb.MetricsBatch(samples=samples)))
                tally.sent.append((time.time(), batch))
                next_at += interval
                await trio.sleep_until(next_at)


def summarize(tally: Tally, t0: float, t1: float) -> dict[str, float]:
    """Samples sent and stored (acked) in [t0, t1], per second, and the ack latency percentiles
    (of the live batches), and every sample acked since the start; with a backlog, how many agents caught up, when the first began
    re-sending and when the last was caught up (wall-clock seconds)."""
    span = t1 - t0
    acked = [(n, seconds) for at, n, seconds in tally.acked if t0 <= at <= t1]
    latencies = [seconds for _, seconds in acked]
    return {
        "sent_per_second": sum(n for at, n in tally.sent if t0 <= at <= t1) / span,
        "acked_per_second": sum(n for n, _ in acked) / span,
        "acked_total": sum(tally.highest_ack.values()),
        "ack_p50": percentile(latencies, 0.5),
        "ack_p99": percentile(latencies, 0.99),
        "backlog_agents": len(tally.backlog_started),
        "caught_up_agents": len(tally.caught_up),
        "backlog_started": min(tally.backlog_started, default=math.nan),
        "last_caught_up": max(tally.caught_up, default=math.nan),
    }


async def main(args: argparse.Namespace) -> None:
    host, port_text = args.address.rsplit(":", 1)
    tokens = Path(args.tokens).read_text().split()[args.first : args.first + args.agents]
    tally = Tally()
    async with trio.open_nursery() as nursery:
        async with trio.open_nursery() as starting:
            for index, token in enumerate(tokens):
                starting.start_soon(
                    nursery.start,
                    agent,
                    host,
                    int(port_text),
                    token,
                    args.interval,
                    args.batch,
                    tally,
                    index * CONNECT_SPACING_SECONDS,
                    args.backlog,
                )
        print("ready", flush=True)
        window = await trio.to_thread.run_sync(sys.stdin.readline)
        nursery.cancel_scope.cancel()
    t0, t1 = (float(value) for value in window.split())
    print(json.dumps(summarize(tally, t0, t1)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--tokens", required=True, help="file of agent tokens, one a line")
    parser.add_argument("--first", type=int, default=0, help="index of this fleet's first token")
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=1, help="samples per message")
    parser.add_argument("--backlog", type=int, default=0, help="samples each agent re-sends first")
    trio.run(main, parser.parse_args())
