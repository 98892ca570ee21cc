"""Issue 17's push cells at fleet scale, side by side in one run, against bench/targets.toml.

    python -m bench.leg_fleet_scale [--clients 1000] [--small 1000] [--large 10000] [--seconds 20]

Every cell is the real daemon (churning: each server reports a new sample every tick, see
bench/variants.py) with real WebSocket clients from bench/ws_fleet.py:
- `deflate browser-like`: S_small servers, every client offers permessage-deflate (v1);
- `v2`: S_large servers, every client speaks monitord.v2 and offers deflate;
- `v1 + deflate`: S_large servers, every client v1 and offers deflate;
- `v1 plain (before)`: S_small servers, the daemon with push.compression = "off" (the seed's
  frames), the same browser-like clients.
With `--side-by-side N`, also push vs polling vs per-client encoding (the seed's design) on
S_small servers with N browser-like clients each (deflate offered, gzip accepted), one window.
Prints a Markdown table and each cell's figures as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import tomllib
from pathlib import Path

import trio

from bench.fixtures import build_sqlite_fixture
from bench.leg_push import INTERVAL_SECONDS, PushCell, as_row, push_cell, side_by_side

HERE = Path(__file__).resolve().parent


def _cells(args: argparse.Namespace) -> list[tuple[str, int, dict[str, object]]]:
    return [
        ("v1 plain (before)", args.small, {"deflate": "all", "compression": "off"}),
        ("deflate browser-like", args.small, {"deflate": "all"}),
        ("v2", args.large, {"protocol": "v2", "deflate": "all"}),
        ("v1 + deflate", args.large, {"deflate": "all"}),
    ]


def _verdicts(name: str, cell: PushCell, targets: dict[str, dict[str, float]]) -> list[str]:
    d = cell.delivery
    every_tick = d.complete_clients == d.clients
    kb_per_tick = d.bytes_per_message / 1000
    if name == "deflate browser-like":
        target = targets["push_deflate_browser_like"]
        return [
            f"every tick: {'met' if every_tick else 'MISSED'}",
            f"core {cell.core_share:.0%} ≤ {target['max_core_share']:.0%}: "
            + ("met" if cell.core_share <= target["max_core_share"] else "MISSED"),
            f"{kb_per_tick:.0f} KB/client/tick ≤ {target['max_kb_per_client_tick']:.0f}: "
            + ("met" if kb_per_tick <= target["max_kb_per_client_tick"] else "MISSED"),
        ]
    if name == "v2":
        target = targets["push_v2"]
        return [
            f"every tick: {'met' if every_tick else 'MISSED'}",
            f"core {cell.core_share:.0%} ≤ {target['max_core_share']:.0%}: "
            + ("met" if cell.core_share <= target["max_core_share"] else "MISSED"),
            f"gap p99 {d.gap_p99:.2f} s ≤ {target['max_gap_p99_seconds']} s: "
            + ("met" if d.gap_p99 <= target["max_gap_p99_seconds"] else "MISSED"),
        ]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=6.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", action="append", help="run only the named cells")
    parser.add_argument("--side-by-side", type=int, default=0, help="clients per design; 0 skips it")
    args = parser.parse_args()
    targets = tomllib.loads((HERE / "targets.toml").read_text())
    rows = []
    with tempfile.TemporaryDirectory(prefix="monitord-fleet-scale-") as temp:
        workdir = Path(temp)
        fixtures: dict[int, Path] = {}
        for name, servers, options in _cells(args):
            if args.only and name not in args.only:
                continue
            if servers not in fixtures:
                fixtures[servers] = trio.run(build_sqlite_fixture, workdir / f"fixture-{servers}", servers)
            cell = push_cell(
                workdir,
                fixtures[servers],
                servers,
                args.clients,
                settle=args.settle,
                seconds=args.seconds,
                churn=True,
                **options,  # type: ignore[arg-type]
            )
            d = cell.delivery
            row = {"cell": name, **as_row(cell), "deflate": f"{d.deflate_accepted}/{d.deflate_offered}"}
            rows.append(row)
            print(json.dumps({**row, "verdicts": _verdicts(name, cell, targets)}), flush=True)
        if args.side_by_side:
            if args.small not in fixtures:
                fixtures[args.small] = trio.run(build_sqlite_fixture, workdir / f"fixture-{args.small}", args.small)
            both = side_by_side(
                workdir,
                fixtures[args.small],
                args.small,
                args.side_by_side,
                settle=args.settle,
                seconds=args.seconds,
                deflate="all",
            )
            figures = {
                "servers": args.small,
                "clients": args.side_by_side,
                "cpu_s": {k: round(v, 2) for k, v in both.cpu.items()},
                "updates": {k: d.messages for k, d in both.delivery.items()},
                "bytes_per_update": {k: round(d.bytes_per_message) for k, d in both.delivery.items()},
                "poll/push": round(both.ratio("poll"), 1),
                "per-client-encode/push": round(both.ratio("per-client-encode"), 1),
                "goals": [
                    f"poll/push ≥ {targets['push_vs_poll_goal']['min_ratio']}",
                    f"per-client-encode/push ≥ {targets['push_encode_once']['min_ratio']}",
                ],
            }
            print(json.dumps(figures), flush=True)
    columns = list(rows[0]) if rows else []
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    print(f"\n(push interval {INTERVAL_SECONDS} s; KB = bytes on the wire per message per client)")


if __name__ == "__main__":
    main()
