"""RESULTS.md, the short table printed at the end, and the target checks (bench/targets.toml)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.alerts_eval import AlertsRun
from bench.grants_push_cost import GrantsRun
from bench.leg_fleet_scale import BEFORE, BROWSER_LIKE, V2
from bench.leg_footprint import Footprint
from bench.leg_ingest import IngestRun
from bench.leg_install import InstallSize
from bench.leg_push import PushCell, SideBySide, as_row
from bench.leg_replicas import ReplicaRun
from bench.leg_replicas import markdown as replicas_markdown

MB = 1e6

# Issue 17's "before": the figure-1 cells of the last full run before it (bench/RESULTS.md of the
# ingest/push merge base, quoted in the issue), v1 with half the clients offering deflate, declined.
BEFORE_ISSUE_17 = {
    (1000, 1000): {"KB/client/tick": 915, "ms CPU/tick": 396, "core": "20%", "delivered": "100%", "all ticks": "1000/1000"},
    (10_000, 1000): {"KB/client/tick": 9267, "ms CPU/tick": 1843, "core": "92%", "delivered": "52%", "all ticks": "31/1000"},
}  # fmt: skip
BEFORE_SIDE = "push vs polling 12.5-15.2x, encode once vs per client 8.6x (half the clients browser-like)"
BEFORE_FIRST_LOAD = "the dashboard's JavaScript served uncompressed: 322 KB (gzip: 108 KB)"


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
    fleet: dict[str, PushCell] = field(default_factory=dict)  # figure 8, by cell name
    alerts: AlertsRun | None = None
    grants: GrantsRun | None = None
    browser_render: dict[str, Any] | None = None
    first_load: dict[str, Any] | None = None
    profile: tuple[str, int, list[tuple[str, float]], list[tuple[str, float]]] | None = None
    skipped: list[str] = field(default_factory=list)
    figure_seconds: dict[str, float] = field(default_factory=dict)
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
        found.append(
            Check(
                "push vs polling, browser-like, issue 17's goal (x cheaper)",
                results.side.ratio("poll"),
                targets["push_vs_poll_goal"]["min_ratio"],
                True,
            )
        )
        found.append(
            Check(
                "encode once vs per client, CPU per delivered update (x cheaper)",
                results.side.ratio("per-client-encode"),
                targets["push_encode_once"]["min_ratio"],
                True,
            )
        )
    found += _fleet_checks(results, targets)
    if (alerts := results.alerts) is not None:
        limits = targets["alerts"]
        found.append(
            Check(
                "alerts: evaluation, share of a core",
                alerts.eval_cpu_share_of_core_mean,
                limits["max_core_share"],
                False,
            )
        )
        found.append(Check("alerts: added RSS MB", alerts.added_rss_mb, limits["max_added_mb"], False))
        found.append(
            Check(
                "alerts: notification latency p99 beyond forSeconds, s",
                alerts.latency_after_for_seconds_p99,
                limits["max_latency_p99_over_for_seconds"],
                False,
            )
        )
    if results.browser_render is not None:
        found.append(
            Check(
                f"Chromium, {results.browser_render['servers']:,} servers over v2: median message to paint, ms",
                float(results.browser_render["pushToPaintMs"]["median"]),
                targets["browser_v2_render"]["max_median_ms"],
                False,
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


def _fleet_checks(results: Results, targets: dict[str, Any]) -> list[Check]:
    """Issue 17's push targets on figure 8's cells."""
    found = []
    for name, key in ((BROWSER_LIKE, "push_deflate_browser_like"), (V2, "push_v2")):
        cell = results.fleet.get(name)
        if cell is None:
            continue
        d, limits = cell.delivery, targets[key]
        label = f"push {name}, {cell.servers:,} x {cell.clients:,}"
        found.append(Check(f"{label}: clients missing a tick", d.clients - d.complete_clients, 0, False))
        found.append(Check(f"{label}: share of a core", cell.core_share, limits["max_core_share"], False))
        if "max_kb_per_client_tick" in limits:
            kb = d.bytes_per_message / 1000
            found.append(Check(f"{label}: KB per client per tick", kb, limits["max_kb_per_client_tick"], False))
        if "max_gap_p99_seconds" in limits:
            found.append(Check(f"{label}: inter-arrival p99 s", d.gap_p99, limits["max_gap_p99_seconds"], False))
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
    if results.figure_seconds:
        out += ["## Time per figure", ""]
        out += _table([{"figure": name, "s": f"{seconds:.0f}"} for name, seconds in results.figure_seconds.items()])
        out += [""]

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
            "answers each with the shared, once-per-tick compressed frame, issue 17).",
            "",
            "Left out: " + ", ".join(f"{s:,} x {c:,}" for s, c in sorted(BEFORE_ISSUE_17)) + ", measured at "
            "fleet scale (every client browser-like, every server reporting each tick) in figure 8.",
        ]
    out += [""]

    side = results.side
    out += ["## 2 and 3. Side by side in one window: push, polling, per-client encoding", ""]
    if side is not None:
        out += [
            f"{side.servers} servers, {side.clients} dashboards per design, {side.seconds:.0f} s; three "
            "daemons on copies of the same data at the same time. Every dashboard is browser-like "
            "(issue 17): it offers permessage-deflate, and a poller accepts gzip. *push*: the daemon as "
            "shipped. *poll*: the same daemon, each dashboard sending GET /api/servers every 2 s on a "
            "keep-alive connection. *per-client-encode*: the push with the snapshot encoded for each "
            "client (bench/variants.py), the seed's design, uncompressed as it shipped. Per-client "
            "encoding grows with the clients while the shared frame does not, so its ratio at "
            f"{side.clients} clients understates the one at 1000.",
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
            f"Encode once against encode per client: **{side.ratio('per-client-encode'):.1f}x**. "
            f"Before issue 17: {BEFORE_SIDE}.",
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
    every_cell = [*results.matrix, *results.fleet.values()]
    big = [cell for cell in every_cell if cell.servers == max(c.servers for c in every_cell)]
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
    out += _fleet_markdown(results)
    out += _alerts_markdown(results.alerts)
    out += _grants_markdown(results.grants)
    out += _browser_markdown(results)
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


def _fleet_markdown(results: Results) -> list[str]:
    out = [
        "## 8. The push at fleet scale (issue 17)",
        "",
        "bench/leg_fleet_scale.py: every server reports a new sample every tick (bench/variants.py), "
        "every client offers permessage-deflate like a browser. *v1 plain (before)*: the daemon with "
        '`push.compression = "off"`, the frames the seed sent. Columns as in figure 1; snapshot KB is '
        "what a client receives per tick on the wire.",
        "",
    ]
    if not results.fleet:
        return [*out, "(not measured)", ""]
    rows = []
    for name, cell in results.fleet.items():
        d = cell.delivery
        rows.append({"cell": name, **as_row(cell), "deflate accepted": f"{d.deflate_accepted}/{d.deflate_offered}"})
    out += _table(rows)
    out += [
        "",
        "Before and after, side by side: *before* is the figure-1 cell of the last full run before "
        "issue 17 (the numbers quoted in the issue: v1, half the clients offering deflate, which the "
        "daemon declined, servers not churning); *after* is this run's cell at the same size.",
        "",
    ]
    pairs = []
    for (servers, clients), before in BEFORE_ISSUE_17.items():
        for name, cell in results.fleet.items():
            if (cell.servers, cell.clients) == (servers, clients) and name != BEFORE:
                d = cell.delivery
                after = {
                    "KB/client/tick": round(d.bytes_per_message / 1000),
                    "ms CPU/tick": round(cell.cpu_per_tick * 1000),
                    "core": f"{cell.core_share:.0%}",
                    "delivered": f"{d.delivered_share:.0%}",
                    "all ticks": f"{d.complete_clients}/{d.clients}",
                }
                pairs.append({"S x C": f"{servers:,} x {clients:,}", "run": "before (issue 17)", **before})
                pairs.append({"S x C": f"{servers:,} x {clients:,}", "run": f"after: {name}", **after})
    out += _table(pairs) if pairs else ["(no cell at the sizes of the before figures)"]
    return [*out, ""]


def _alerts_markdown(alerts: AlertsRun | None) -> list[str]:
    out = ["## 9. Alert evaluation (issue 15)", ""]
    if alerts is None:
        return [*out, "(not measured)", ""]
    return [
        *out,
        f"bench/alerts_eval.py: {alerts.servers:,} servers with a new sample each second, {alerts.rules} rules "
        "(half over 5-minute windows), all scoped to every server. Phase 1 times the engine's `evaluate` "
        f"alone over {alerts.ticks} ticks; phase 2 runs the real evaluator and delivery tasks on SQLite "
        f"with a loopback webhook receiver, {alerts.trials} trials of one server crossing a "
        f"forSeconds={alerts.for_seconds} rule.",
        "",
        *_table(
            [
                {
                    "evaluation, share of a core": f"{alerts.eval_cpu_share_of_core_mean:.1%}",
                    "slowest tick p99 s": f"{alerts.eval_cpu_seconds_p99:.3f}",
                    "added RSS MB": f"{alerts.added_rss_mb:.0f}",
                    "latency beyond forSeconds p50/p99/max s": f"{alerts.latency_after_for_seconds_p50:.2f}/"
                    f"{alerts.latency_after_for_seconds_p99:.2f}/{alerts.latency_after_for_seconds_max:.2f}",
                }
            ]
        ),
        "",
        "Goals: evaluation ≤ 5 % of a core, ≤ 100 MB added, p99 latency ≤ forSeconds + 2 s.",
        "",
    ]


def _grants_markdown(grants: GrantsRun | None) -> list[str]:
    out = ["## 10. Per-grant encoding and the public status page push (issue 16)", ""]
    if grants is None:
        return [*out, "(not measured)", ""]
    build = grants.build_ms
    out += [
        f"bench/grants_push_cost.py: {grants.servers:,} servers tagged over {grants.grants} tags, "
        f"{grants.clients:,} clients per run, one daemon per run. *single*: every client the admin, one "
        f"encoding per tick (before issue 16). *grants*: the clients spread over {grants.grants} viewers, each "
        "granted all tags but one, so one encoding per grant per tick. *public*: anonymous clients of one "
        f"public status page showing every server, pushed every {grants.public_interval:g} s (private push "
        f"every {grants.interval:g} s). CPU per tick has the daemon's idle CPU subtracted.",
        "",
        f"In-process build + encode per tick: single {build['single']:.1f} ms, per grant ({grants.grants} "
        f"encodings) {build['per grant']:.1f} ms, one per client ({grants.clients:,}, extrapolated) "
        f"{build['per client']:.0f} ms.",
        "",
    ]
    out += _table(
        [
            {
                "run": cost.mode,
                "ms CPU per tick": f"{cost.cpu_per_tick * 1000:.0f}",
                "ms per client": f"{cost.ms_per_client:.2f}",
                "KB per frame": f"{cost.kb_per_frame:.0f}",
                "frames received / expected": f"{cost.frames}/{cost.expected_frames:.0f}",
            }
            for cost in grants.modes.values()
        ]
    )
    return [*out, ""]


def _browser_markdown(results: Results) -> list[str]:
    out = ["## 11. The dashboard in Chromium (issue 17)", ""]
    render, load = results.browser_render, results.first_load
    if render is None and load is None:
        return [*out, "(not measured)", ""]
    if render is not None:
        paint = render["pushToPaintMs"]
        out += [
            f"`SERVERS={render['servers']} PROTOCOL={render['protocol']} node web/bench/browserListRender.mjs` "
            f"({render['browser']}, {render['pushes']} pushes): message → paint median **{paint['median']} ms**, "
            f"p95 {paint['p95']} ms, max {paint['max']} ms; first push {render['firstPushToPaintMs']} ms; "
            f"{render['renderedRows']} rows rendered; delta frame {render['frameBytes'] / 1000:,.0f} KB.",
            "",
        ]
    if load is not None:
        out += [
            "`node web/bench/firstLoad.mjs` against the daemon with "
            f"{load['servers']:,} servers, cold cache: "
            f"login page {load['loginPageHttpBytes'] / 1000:,.0f} KB in {load['loginPageMs']} ms; "
            f"to the server list **{load['httpBytesToList'] / 1000:,.0f} KB** over HTTP ({load['httpResponses']} "
            f"responses) in {load['totalMs']} ms. Before issue 17: {BEFORE_FIRST_LOAD}.",
            "",
        ]
    return out


def short_table(results: Results, found: list[Check]) -> str:
    """The few lines printed at the end of a run."""
    lines = ["", "monitord bench summary"]
    for cell in results.matrix:
        d = cell.delivery
        lines.append(
            f"  push S={cell.servers:>5} C={cell.clients:>4}: {cell.cpu_per_tick * 1000:7.0f} ms CPU/tick, "
            f"{cell.core_share:4.0%} core, delivered {d.delivered_share:4.0%}, RSS {cell.daemon_peak_rss / MB:,.0f} MB"
        )
    for name, cell in results.fleet.items():
        d = cell.delivery
        lines.append(
            f"  fleet {name}, S={cell.servers} C={cell.clients}: {cell.cpu_per_tick * 1000:.0f} ms CPU/tick, "
            f"{cell.core_share:.0%} core, {d.bytes_per_message / 1000:,.0f} KB/client/tick, "
            f"all ticks {d.complete_clients}/{d.clients}, gap p99 {d.gap_p99:.2f} s"
        )
    if (a := results.alerts) is not None:
        lines.append(
            f"  alerts {a.servers} servers x {a.rules} rules: {a.eval_cpu_share_of_core_mean:.1%} core, "
            f"+{a.added_rss_mb:.0f} MB, latency beyond forSeconds p99 {a.latency_after_for_seconds_p99:.2f} s"
        )
    if (g := results.grants) is not None:
        lines += [f"  grants {cost.line().strip()}" for cost in g.modes.values()]
    if results.browser_render is not None:
        lines.append(f"  Chromium v2 message->paint median {results.browser_render['pushToPaintMs']['median']} ms")
    if results.first_load is not None:
        lines.append(f"  first load: {results.first_load['httpBytesToList'] / 1000:,.0f} KB to the list")
    lines += [f"  took {seconds:.0f} s: {name}" for name, seconds in results.figure_seconds.items()]
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
