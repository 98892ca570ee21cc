"""bench/push_cost.py still runs: a tiny configuration, checked for a complete report."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.processes import REPO, child_env


def test_the_push_cost_bench_reports_a_figure() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "push_cost.py"),
            "--servers",
            "20",
            "--clients",
            "3",
            "--ticks",
            "3",
            "--interval",
            "0.2",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"snapshot: \d+ KB; frames received \d+ of \d+ expected", result.stdout)
    assert re.search(r"push cost: -?\d+ ms CPU per tick", result.stdout), result.stdout
