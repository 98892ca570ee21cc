"""Figure 8 (issue 17): the push cells at fleet scale, side by side in one run.

    python -m bench.leg_fleet_scale [--clients 1000] [--small 1000] [--large 10000] [--seconds 20]

Every cell is the real daemon (churning: each server reports a new sample every tick, see
bench/variants.py) with real WebSocket clients from bench/ws_fleet.py:
- `v1 plain (before)`: S_small servers, the daemon with push.compression = "off" (the seed's
  frames), every client browser-like (offers permessage-deflate);
- `deflate browser-like`: S_small servers, every client offers permessage-deflate (v1);
- `v2`: S_large servers, every client speaks monitord.v2 and offers deflate;
- `v1 + deflate`: S_large servers, every client v1 and offers deflate.
bench/run.py runs these as figure 8 and checks them against bench/targets.toml; run alone, this
prints each cell's figures as JSON lines and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trio

from bench.fixtures import build_sqlite_fixture
from bench.leg_push import INTERVAL_SECONDS, PushCell, as_row, push_cell

BEFORE = "v1 plain (before)"
BROWSER_LIKE = "deflate browser-like"
V2 = "v2"
V1_DEFLATE = "v1 + deflate"


@dataclass(frozen=True)
class CellSpec:
    name: str
    large: bool  # S_large servers (else S_small)
    options: dict[str, str]


CELLS = (
    CellSpec(BEFORE, False, {"deflate": "all", "compression": "off"}),
    CellSpec(BROWSER_LIKE, False, {"deflate": "all"}),
    CellSpec(V2, True, {"protocol": "v2", "deflate": "all"}),
    CellSpec(V1_DEFLATE, True, {"deflate": "all"}),
)


def fleet_scale(
    workdir: Path,
    fixtures: dict[int, Path],
    *,
    small: int,
    large: int,
    clients: int,
    settle: float,
    seconds: float,
    profile_cell: str = "",
    profile_to: Path | None = None,
    only: list[str] | None = None,
) -> dict[str, PushCell]:
    """Each cell of CELLS in turn (those in `only` if given), by name; `fixtures` maps a server
    count to a fixture of that size (both sizes must be there). py-spy records `profile_cell`."""
    cells = {}
    for spec in CELLS:
        if only and spec.name not in only:
            continue
        servers = large if spec.large else small
        cells[spec.name] = push_cell(
            workdir,
            fixtures[servers],
            servers,
            clients,
            settle=settle,
            seconds=seconds,
            churn=True,
            profile_to=profile_to if spec.name == profile_cell else None,
            **spec.options,  # type: ignore[arg-type]
        )
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=6.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", action="append", help="run only the named cells")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitord-fleet-scale-") as temp:
        workdir = Path(temp)
        fixtures = {
            servers: trio.run(build_sqlite_fixture, workdir / f"fixture-{servers}", servers)
            for servers in {args.small, args.large}
        }
        cells = fleet_scale(
            workdir,
            fixtures,
            small=args.small,
            large=args.large,
            clients=args.clients,
            settle=args.settle,
            seconds=args.seconds,
            only=args.only,
        )
    rows = [{"cell": name, **as_row(cell)} for name, cell in cells.items()]
    for row in rows:
        print(json.dumps(row), flush=True)
    columns = list(rows[0]) if rows else []
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    print(f"\n(push interval {INTERVAL_SECONDS} s; snapshot KB = bytes on the wire per message per client)")


if __name__ == "__main__":
    main()
