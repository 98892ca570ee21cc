"""RESULTS.md, the short table printed at the end, and the target checks (bench/targets.toml)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.leg_footprint import Footprint
from bench.leg_ingest import IngestRun
from bench.leg_install import InstallSize
from bench.leg_push import PushCell, SideBySide, as_row
from bench.leg_replicas import ReplicaRun
from bench.leg_replicas import markdown as replicas_markdown

MB = 1e6


@dataclass
class Results:
    """Everything one run measured; legs that did not run stay empty and say why in `skipped`."""

    command: str
    machine: dict[str, str]
    matrix: list[PushCell] = field(default_factory=list)
    side: SideBySide | None = None
    ingest: list[IngestRun] = field(default_factory=list)
    footprints: list[Footprint] = field(default_factory=list)
    install_sizes: list[InstallSize] = field(default_factory=list)
    install_footprints: list[Footprint] = field(default_factory=list)
    replicas: list[ReplicaRun] = field(default_factory=list)
    profile: tuple[str, int, list[tuple[str, float]], list[tuple[str, float]]] | None = None
    skipped: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0


@dataclass
class Check:
    name: str
    measured: float
    limit: float
    higher_is_better: bool

    @property
    def met(self) -> bool:
        if math.isnan(self.measured):
            return False
        return self.measured >= self.limit if self.higher_is_better else self.measured <= self.limit

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        return f"{'met   ' if self.met else 'MISSED'} {self.name}: {self.measured:.2f} (target {sign} {self.limit:g})"


def checks(results: Results, targets_file: Path) -> list[Check]:
    """The targets of `targets_file` that this run measured."""
    targets = tomllib.loads(targets_file.read_text())
    found = []
    if results.side is not None:
        found.append(
            Check(
                "push vs polling, CPU per delivered update (x cheaper)",
                results.side.ratio("poll"),
                targets["push_vs_poll"]["min_ratio"],
                True,
            )
        )
    limits = targets["ingest"]
    for run in results.ingest:
        sustained = run.sustained
        minimum = limits[
            "min_postgres_samples_per_second" if run.backend == "PostgreSQL" else "min_sqlite_samples_per_second"
        ]
        found.append(Check(f"ingest {run.backend}, sustained samples/s", sustained.acked_per_second, minimum, True))
        found.append(
            Check(
                f"ingest {run.backend}, ack p99 s at that rate", sustained.ack_p99, limits["max_ack_p99_seconds"], False
            )
        )
        found.append(
            Check(
                f"ingest {run.backend}, acked samples missing from the database",
                max(0, run.acked_total - run.stored_total),
                0,
                False,
            )
        )
    by_name = {footprint.name.split(" ")[0]: footprint for footprint in results.footprints}
    agent = by_name.get("monitord")
    if agent is not None and "Glances" in by_name:  # in the same window as the other tools
        found.append(Check("agent CPU % of a core", agent.core_share * 100, targets["agent"]["max_cpu_percent"], False))
        found.append(Check("agent RSS MB", agent.rss_bytes / MB, targets["agent"]["max_rss_mb"], False))
    for tool, key in (("Glances", "agent_vs_glances"), ("node_exporter", "agent_vs_node_exporter")):
        other = by_name.get(tool)
        if agent is None or other is None:
            continue
        limits = targets[key]
        found.append(
            Check(f"agent CPU / {tool} CPU", agent.core_share / other.core_share, limits["max_cpu_ratio"], False)
        )
        found.append(
            Check(f"agent RSS / {tool} RSS", agent.rss_bytes / other.rss_bytes, limits["max_rss_ratio"], False)
        )
    return found


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(not measured)"]
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in rows]
    return lines


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def markdown(results: Results, found: list[Check]) -> str:
    """The whole of RESULTS.md."""
    out = [
        "# monitord benchmark results",
        "",
        "Written by `bench/run.py` (issue 9); every figure comes from the real daemon run as a process, "
        "driven by real clients over its real sockets. Do not edit by hand: run the command below.",
        "",
        f"Command: `{results.command}` (took {results.elapsed_seconds / 60:.1f} min)",
        "",
        "## Machine",
        "",
    ]
    out += [f"- {key}: {value}" for key, value in results.machine.items()]
    out += [
        "",
        "**Load caveat.** Two cores, shared with other sessions running test suites while this ran: "
        "absolute CPU figures are noisy (±30% between runs is normal here). The side-by-side figures "
        "run their contenders at the same time over one measurement window, so their *ratios* hold "
        "under that noise; trust ratios over absolutes.",
        "",
    ]
    if results.skipped:
        out += ["## Not measured in this run", ""] + [f"- {reason}" for reason in results.skipped] + [""]
    out += ["## Targets", ""] + ([f"- {check.line()}" for check in found] or ["- none measured"]) + [""]

    out += [
        "## 1. Push cost per tick (2 s interval)",
        "",
        "S servers in the cache, C WebSocket clients; daemon CPU (user+system, every thread, from "
        "/proc/PID/stat) over the window divided by the ticks in it, so it includes everything the "
        "daemon did. *delivered* = messages received / (C × ticks); *all ticks* = clients that got "
        "every tick of the window; *gap* = inter-arrival time at the clients. Half the clients offer "
        "permessage-deflate and an Origin like a browser.",
        "",
    ]
    out += _table([as_row(cell) for cell in results.matrix])
    if results.matrix:
        offered = sum(cell.delivery.deflate_offered for cell in results.matrix)
        accepted = sum(cell.delivery.deflate_accepted for cell in results.matrix)
        out += [
            "",
            f"permessage-deflate: offered by {offered} clients, accepted by the daemon for {accepted} "
            "(the handshake answer is checked for a `Sec-WebSocket-Extensions` header: the daemon "
            "answers each with the shared, once-per-tick compressed frame, issue 17; "
            "bench/leg_fleet_scale.py has the fleet-scale cells).",
        ]
    out += [""]

    side = results.side
    out += ["## 2 and 3. Side by side in one window: push, polling, per-client encoding", ""]
    if side is not None:
        out += [
            f"{side.servers} servers, {side.clients} dashboards per design, {side.seconds:.0f} s; three "
            "daemons on copies of the same data at the same time. *push*: the daemon as shipped. *poll*: "
            "the same daemon, each dashboard sending GET /api/servers every 2 s on a keep-alive "
            "connection. *per-client-encode*: the push with the snapshot encoded for each client "
            "(bench/variants.py), the naive design.",
            "",
        ]
        out += _table(
            [
                {
                    "design": design,
                    "daemon CPU s": f"{side.cpu[design]:.2f}",
                    "updates delivered": d.messages,
                    "ms CPU per update": f"{side.cpu_per_update(design) * 1000:.2f}",
                    "vs push": f"{side.ratio(design):.1f}x",
                    "all ticks": f"{d.complete_clients}/{d.clients}",
                }
                for design, d in side.delivery.items()
            ]
        )
        out += [
            "",
            f"Push against polling: **{side.ratio('poll'):.1f}x** cheaper per delivered update. "
            f"Encode once against encode per client: **{side.ratio('per-client-encode'):.1f}x**.",
            "",
        ]
    else:
        out += ["(not measured)", ""]

    out += [
        "## 4. Ingest through gRPC, and sample-to-screen latency",
        "",
        "Simulated agents (bench/agent_fleet.py, several processes, one connection and token each) "
        "report every second; each step sends more samples per message until the daemon uses about "
        "one core or stops keeping up (acked < 97% of sent). A sample counts once acked, i.e. durably "
        "stored. *ack* = agent send → ack; *e2e* = sample timestamp at the agent → a WebSocket client "
        "receiving a snapshot that shows it (includes waiting for the next 2 s tick). *generator* = "
        "CPU of all agent processes (max of one process in brackets), read from /proc like the daemon's.",
        "",
    ]
    steps = [step for run in results.ingest for step in run.steps]
    if steps:
        busiest = max(step.generator_core_share for step in steps)
        verdict = (
            "below one core, with the rest of the machine left to the daemon: the generator is not "
            "what limits these figures"
            if busiest < 1
            else "a core or more: the generator may limit these figures"
        )
        out += [
            f"Load generator check: at most {busiest:.0%} of a core for all agent processes together "
            f"({max(step.generator_max_process_share for step in steps):.0%} for the busiest one), {verdict}.",
            "",
        ]
    for run in results.ingest:
        sustained = run.sustained
        out += [
            f"**{run.backend}**, {run.agents} agents: sustained **{sustained.acked_per_second:,.0f} samples/s** "
            f"at {sustained.core_share:.0%} of a core ({sustained.per_core:,.0f} samples/s per daemon core); "
            f"e2e p50/p99 {_ms(sustained.e2e_p50)}/{_ms(sustained.e2e_p99)} ms at that rate, "
            f"{_ms(run.steps[0].e2e_p50)}/{_ms(run.steps[0].e2e_p99)} ms at 1 sample/s per agent. "
            f"Counted back: {run.acked_total:,} samples acked, {run.stored_total:,} stored.",
            "",
        ]
        out += _table(
            [
                {
                    "samples/msg": s.batch,
                    "sent/s": f"{s.offered_per_second:,.0f}",
                    "stored/s": f"{s.acked_per_second:,.0f}",
                    "daemon core": f"{s.core_share:.0%}",
                    "kept up": "yes" if s.kept_up else "no",
                    "ack p50/p99 ms": f"{_ms(s.ack_p50)}/{_ms(s.ack_p99)}",
                    "e2e p50/p99 ms": f"{_ms(s.e2e_p50)}/{_ms(s.e2e_p99)}",
                    "generator": f"{s.generator_core_share:.0%} ({s.generator_max_process_share:.0%})",
                }
                for s in run.steps
            ]
        )
        out += [""]
        if (b := run.backfill) is not None:
            out += [
                f"Backfill: {b.agents:,} agents reconnect after an outage, {b.backlog} buffered samples each "
                f"(then 1 live sample/s): **{b.caught_up_agents:,} caught up within {b.catch_up_seconds:.1f} s** "
                f"({b.samples_per_second:,.0f} backlog samples/s) at {b.core_share:.0%} of a core; meanwhile "
                f"live acks p99 {_ms(b.live_ack_p99)} ms, e2e p50/p99 {_ms(b.e2e_p50)}/{_ms(b.e2e_p99)} ms.",
                "",
            ]
    if not results.ingest:
        out += ["(not measured)", ""]

    out += [
        "## 5. Agent footprint at a 1 s interval",
        "",
        "Measured at the same time over one window; CPU from /proc/PID/stat, RSS = peak VmRSS.",
        "",
    ]
    out += _table(
        [
            {"process": f.name, "CPU % of a core": f"{f.core_share * 100:.2f}", "RSS MB": f"{f.rss_bytes / MB:.1f}"}
            for f in results.footprints
        ]
    )
    out += [""]

    out += [
        "## 5b. The agent-only install beside the full install (issue 14)",
        "",
        "Installed packages summed from their files; the agent run from each install at once, 1 s interval.",
        "",
    ]
    out += _table(
        [
            {"install": i.name, "packages": str(i.packages), "MB": f"{i.size_bytes / MB:.1f}"}
            for i in results.install_sizes
        ]
    )
    out += [""]
    out += _table(
        [
            {"process": f.name, "CPU % of a core": f"{f.core_share * 100:.2f}", "RSS MB": f"{f.rss_bytes / MB:.1f}"}
            for f in results.install_footprints
        ]
    )
    out += [""]

    out += ["## 6. Daemon memory and cold start at 10,000 servers", ""]
    big = [cell for cell in results.matrix if cell.servers == max(c.servers for c in results.matrix)]
    if big:
        most = max(big, key=lambda cell: cell.clients)
        out += [
            f"- RSS with {most.servers:,} servers and {most.clients:,} clients: peak **{most.daemon_peak_rss / MB:,.0f} MB**"
            + (" (the RSS cap stopped the window early)" if most.rss_capped else ""),
            f"- cold start to ready with {big[0].servers:,} servers (process spawn → `ready` log line, "
            f"SQLite): **{min(cell.startup_seconds for cell in big):.2f} s** (best of {len(big)} starts)",
            "",
        ]
    if results.replicas:
        out += [replicas_markdown(results.replicas, "7.", results.command)]
    if results.profile is not None:
        what, total, own, inclusive = results.profile
        out += [
            "## Profile of the slowest part",
            "",
            f"py-spy ({total:,} samples at 100 Hz, all threads) of {what}.",
            "",
            "Functions by own time:",
            "",
        ]
        out += _table([{"share": f"{share:.0%}", "function": f"`{frame}`"} for frame, share in own])
        out += ["", "monitord / hypercorn / wsproto / h11 / quart frames by inclusive time:", ""]
        out += _table([{"share": f"{share:.0%}", "frame": f"`{frame}`"} for frame, share in inclusive])
        out += [""]
    return "\n".join(out) + "\n"


def short_table(results: Results, found: list[Check]) -> str:
    """The few lines printed at the end of a run."""
    lines = ["", "monitord bench summary"]
    for cell in results.matrix:
        d = cell.delivery
        lines.append(
            f"  push S={cell.servers:>5} C={cell.clients:>4}: {cell.cpu_per_tick * 1000:7.0f} ms CPU/tick, "
            f"{cell.core_share:4.0%} core, delivered {d.delivered_share:4.0%}, RSS {cell.daemon_peak_rss / MB:,.0f} MB"
        )
    if results.side is not None:
        lines.append(
            f"  push vs polling: {results.side.ratio('poll'):.1f}x cheaper per update; "
            f"encode once vs per client: {results.side.ratio('per-client-encode'):.1f}x"
        )
    for run in results.ingest:
        s = run.sustained
        lines.append(
            f"  ingest {run.backend}: {s.acked_per_second:,.0f} samples/s sustained at {s.core_share:.0%} core; "
            f"e2e p50/p99 {_ms(s.e2e_p50)}/{_ms(s.e2e_p99)} ms, ack p99 {_ms(s.ack_p99)} ms; "
            f"{run.acked_total:,} acked, {run.stored_total:,} stored"
        )
        if (b := run.backfill) is not None:
            lines.append(
                f"  backfill {run.backend}: {b.caught_up_agents}/{b.agents} agents caught up in {b.catch_up_seconds:.1f} s; "
                f"live e2e p50/p99 {_ms(b.e2e_p50)}/{_ms(b.e2e_p99)} ms meanwhile"
            )
    for f in [*results.footprints, *results.install_footprints]:
        lines.append(f"  {f.name}: {f.core_share * 100:.2f}% CPU, {f.rss_bytes / MB:.1f} MB RSS")
    for i in results.install_sizes:
        lines.append(f"  {i.name}: {i.packages} packages, {i.size_bytes / MB:.1f} MB")
    lines += [f"  skipped: {reason}" for reason in results.skipped]
    lines += [f"  {check.line()}" for check in found]
    return "\n".join(lines)
