"""Figures 1, 2, 3 and 6: what the live push costs, against polling and per-client encoding.

Every figure runs the real daemon on a copy of a fixture with S servers and real clients from
bench/ws_fleet.py; the daemon's CPU and RSS come from /proc over one window shared by all the
processes of a figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import profiling
from bench.daemon import CHURN, MONITORD, PER_CLIENT_ENCODE, Daemon
from bench.fixtures import copy_fixture, write_config
from bench.fleets import Fleet, measure_window

INTERVAL_SECONDS = 2.0
CLIENTS_PER_FLEET = 500
# The daemon is stopped beyond this, so an unbounded design cannot take the shared machine down.
RSS_CAP_BYTES = 8 << 30


def ws_fleets(
    daemon: Daemon,
    token: str,
    clients: int,
    *,
    mode: str = "push",
    probes: int = 0,
    protocol: str = "v1",
    deflate: str = "half",
) -> list[Fleet]:
    """`clients` dashboard clients of `daemon`, split over processes of at most CLIENTS_PER_FLEET.
    `protocol` and `deflate` as bench/ws_fleet.py takes them."""
    processes = max(1, math.ceil(clients / CLIENTS_PER_FLEET))
    shares = [clients // processes + (index < clients % processes) for index in range(processes)]
    return [
        Fleet(
            "bench.ws_fleet",
            "--address",
            daemon.http,
            "--token",
            token,
            "--clients",
            share,
            "--mode",
            mode,
            "--interval",
            INTERVAL_SECONDS,
            "--probes",
            probes if index == 0 else 0,
            "--protocol",
            protocol,
            "--deflate",
            deflate,
        )
        for index, share in enumerate(shares)
    ]


@dataclass
class Delivery:
    """What a group of clients received in the window."""

    clients: int
    connected: int  # clients the daemon accepted within the fleet's connect time
    messages: int
    expected_per_client: int
    complete_clients: int  # clients that got every tick of the window
    gap_p50: float
    gap_p99: float
    bytes_per_message: float
    deflate_offered: int
    deflate_accepted: int
    cut_off: int  # clients whose connection the daemon reset

    @classmethod
    def of(cls, fleets: list[Fleet], wall: float) -> Delivery:
        reports = [fleet.report for fleet in fleets]
        per_client = [count for report in reports for count in report["messages"]]
        # The ticks inside the window: what the best-served client saw, at least the whole ticks
        # the window spans (a window of exactly 5 intervals can hold 5 or 6 ticks).
        ticks = max([math.floor(wall / INTERVAL_SECONDS), *per_client])
        weights = [len(report["messages"]) for report in reports]
        return cls(
            clients=len(per_client),
            connected=sum(report["connected"] for report in reports),
            messages=sum(per_client),
            expected_per_client=ticks,
            complete_clients=sum(count >= math.floor(ticks) for count in per_client),
            gap_p50=max(report["gap_p50"] for report in reports),
            gap_p99=max(report["gap_p99"] for report in reports),
            bytes_per_message=sum(r["bytes_per_message"] * w for r, w in zip(reports, weights, strict=False))
            / sum(weights),
            deflate_offered=sum(report["deflate_offered"] for report in reports),
            deflate_accepted=sum(report["deflate_accepted"] for report in reports),
            cut_off=sum(report["cut_off"] for report in reports),
        )

    @property
    def delivered_share(self) -> float:
        return self.messages / (self.clients * self.expected_per_client)


@dataclass
class PushCell:
    """Figure 1: one (servers, clients) point of the push cost matrix."""

    servers: int
    clients: int
    cpu_per_tick: float  # daemon CPU seconds per push tick, everything included
    core_share: float
    delivery: Delivery
    daemon_peak_rss: int
    startup_seconds: float
    fleet_core_share: float  # the clients' own CPU, summed over their processes
    rss_capped: bool


def push_cell(
    workdir: Path,
    fixture: Path,
    servers: int,
    clients: int,
    *,
    settle: float,
    seconds: float,
    profile_to: Path | None = None,
    protocol: str = "v1",
    deflate: str = "half",
    churn: bool = False,
    compression: str = "shared",
) -> PushCell:
    """Run the daemon on a copy of `fixture` with `clients` subscribers. With `profile_to`, py-spy
    records the daemon from the clients' arrival to the end of the window, into that file.
    `churn`: every server reports a new sample each tick (bench/variants.py); `compression` is
    the daemon's push.compression."""
    data = copy_fixture(fixture, workdir / f"push-{servers}x{clients}-{protocol}-{deflate}-{compression}")
    config = write_config(data, interval_seconds=INTERVAL_SECONDS, compression=compression)
    with Daemon(config, module=CHURN if churn else MONITORD) as daemon:
        fleets = ws_fleets(daemon, daemon.login(), clients, protocol=protocol, deflate=deflate)
        recording = profiling.Recording(daemon.pid, profile_to).start() if profile_to else None
        try:
            window = measure_window(fleets, [daemon.pid], settle=settle, seconds=seconds, rss_cap_bytes=RSS_CAP_BYTES)
        finally:
            if recording is not None:
                recording.stop()
    return PushCell(
        servers=servers,
        clients=clients,
        cpu_per_tick=window.cpu[daemon.pid] / (window.wall / INTERVAL_SECONDS),
        core_share=window.share(daemon.pid),
        delivery=Delivery.of(fleets, window.wall),
        daemon_peak_rss=window.peak_rss[daemon.pid],
        startup_seconds=daemon.startup_seconds,
        fleet_core_share=sum(window.share(fleet.pid) for fleet in fleets),
        rss_capped=window.rss_capped,
    )


@dataclass
class SideBySide:
    """Figures 2 and 3: three daemons on the same data in one window."""

    servers: int
    clients: int
    seconds: float
    cpu: dict[str, float]  # design → daemon CPU seconds in the window
    delivery: dict[str, Delivery]

    def cpu_per_update(self, design: str) -> float:
        return self.cpu[design] / max(1, self.delivery[design].messages)

    def ratio(self, slower: str, faster: str = "push") -> float:
        """How many times `faster` is cheaper per update (nan when it used no measurable CPU)."""
        baseline = self.cpu_per_update(faster)
        return self.cpu_per_update(slower) / baseline if baseline else math.nan


DESIGNS: dict[str, tuple[list[str], str]] = {
    "push": (MONITORD, "push"),  # the daemon as shipped
    "poll": (MONITORD, "poll"),  # the same daemon, dashboards polling GET /api/servers
    "per-client-encode": (PER_CLIENT_ENCODE, "push"),  # the push encoding per client
}


def side_by_side(
    workdir: Path, fixture: Path, servers: int, clients: int, *, settle: float, seconds: float, deflate: str = "half"
) -> SideBySide:
    """Push, polling and per-client encoding, each its own daemon, measured over one window.
    `deflate`: which clients are browser-like (offer deflate, pollers accept gzip)."""
    daemons = {
        design: Daemon(
            write_config(
                copy_fixture(fixture, workdir / f"side-{design}"),
                interval_seconds=INTERVAL_SECONDS,
                # The seed's design declined deflate; compressing its per-client messages would be
                # a design nobody shipped.
                compression="off" if design == "per-client-encode" else "shared",
            ),
            module=module,
        )
        for design, (module, _) in DESIGNS.items()
    }
    try:
        fleets: dict[str, list[Fleet]] = {}
        for design, daemon in daemons.items():
            fleets[design] = ws_fleets(
                daemon.start(), daemon.login(), clients, mode=DESIGNS[design][1], deflate=deflate
            )
        window = measure_window(
            [fleet for group in fleets.values() for fleet in group],
            [d.pid for d in daemons.values()],
            settle=settle,
            seconds=seconds,
        )
    finally:
        for daemon in daemons.values():
            daemon.stop()
    return SideBySide(
        servers=servers,
        clients=clients,
        seconds=window.wall,
        cpu={design: window.cpu[daemon.pid] for design, daemon in daemons.items()},
        delivery={design: Delivery.of(group, window.wall) for design, group in fleets.items()},
    )


def as_row(cell: PushCell) -> dict[str, Any]:
    """One line of the figure-1 table."""
    d = cell.delivery
    return {
        "S": cell.servers,
        "C": cell.clients,
        "snapshot KB": round(d.bytes_per_message / 1000),
        "ms CPU/tick": round(cell.cpu_per_tick * 1000),
        "core": f"{cell.core_share:.0%}",
        "delivered": f"{d.delivered_share:.0%}",
        "connected": f"{d.connected}/{d.clients}",
        "all ticks": f"{d.complete_clients}/{d.clients}",
        "cut off": d.cut_off,
        "gap p50/p99 s": f"{d.gap_p50:.2f}/{d.gap_p99:.2f}",
        "RSS MB": round(cell.daemon_peak_rss / 1e6),
        "clients' CPU": f"{cell.fleet_core_share:.0%}" + (" (RSS cap hit)" if cell.rss_capped else ""),
    }
