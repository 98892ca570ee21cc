"""bench/history_size.py at a small scale: with every tier at its retention, the history stops
growing and stays within the stated budget (the full-scale year is the bench's job)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.postgres import ENVIRONMENT_VARIABLE
from tests.processes import REPO, child_env


def test_the_history_stays_within_its_budget_once_every_tier_is_full() -> None:
    # Ten days at one sample a minute; raw kept 2 h, minutes 1 day, hours 5 days: by the end
    # each tier has been trimmed for days, as a year would trim them.
    command = [
        sys.executable,
        str(REPO / "bench" / "history_size.py"),
        "--days",
        "10",
        "--interval",
        "60",
        "--raw-hours",
        "2",
        "--minute-days",
        "1",
        "--hour-days",
        "5",
        "--repeat",
        "1",
    ]
    postgres = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if postgres:
        command += ["--postgres", postgres]
    result = subprocess.run(command, capture_output=True, text=True, env=child_env(), timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    backends = re.findall(r"^(sqlite|postgresql): ", result.stdout, re.M)
    assert backends == (["sqlite", "postgresql"] if postgres else ["sqlite"])
    rows = re.findall(r"rows kept: raw (\d+), 1m ([\d,]+), 1h (\d+) \(budgeted (\d+), ([\d,]+), (\d+)\)", result.stdout)
    assert len(rows) == len(backends)
    for raw, minutes, hours, *budgeted in rows:
        kept = [int(value.replace(",", "")) for value in (raw, minutes, hours)]
        # Retention trimmed every tier to 2 h of raw samples, a day of minutes and 5 days of
        # hours (less the newest minute and hour, not due for rolling up yet).
        assert 120 <= kept[0] <= int(budgeted[0])
        assert 24 * 60 - 1 <= kept[1] <= int(budgeted[1].replace(",", ""))
        assert 5 * 24 - 1 <= kept[2] <= int(budgeted[2])
    assert result.stdout.count("within budget") == len(backends), result.stdout
    assert len(re.findall(r"query  30d: tier 1h .* ms", result.stdout)) == len(backends)
