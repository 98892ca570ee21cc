"""bench/grants_push_cost.py still runs: a tiny configuration, checked for a complete report."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.processes import REPO, child_env


def test_the_grants_push_cost_bench_reports_every_figure() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "grants_push_cost.py"),
            *("--servers", "12", "--clients", "4", "--grants", "2", "--ticks", "2"),
            *("--interval", "0.2", "--public-interval", "1"),
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"in-process build\+encode per tick: single [\d.]+ ms; per grant \(2 grants\) [\d.]+ ms", result.stdout
    )
    for mode in ("single", "grants", "public"):
        assert re.search(rf"{mode}: +-?\d+ ms CPU per tick .* frames \d+ of \d+ expected", result.stdout), result.stdout
