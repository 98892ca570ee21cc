"""`make bench`'s harness (bench/run.py) still runs end to end: tiny sizes, no external tools.

The figures at these sizes mean nothing; the point is that every leg starts the real daemon,
drives it and lands in RESULTS.md, so the harness cannot rot between full runs. (The Chromium
figure is left out: it needs a built dashboard.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.processes import REPO, child_env


def test_the_bench_harness_writes_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--output", str(results)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env(),
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "monitord bench summary" in run.stdout
    text = results.read_text()
    # Figure 1: one matrix row, every client got a message and the daemon accepted each deflate offer.
    row = re.search(r"^\| 20 \| 3 \| (\d+) \| \d+ \| \d+% \| \d+% \| 3/3 \| (\d+)/3 \| 0 \|", text, re.M)
    assert row is not None, text
    assert int(row[1]) > 0
    offers = re.search(r"permessage-deflate: offered by ([1-9]\d*) clients, accepted by the daemon for (\d+)", text)
    assert offers is not None and offers[1] == offers[2], text
    # Figures 2 and 3: the three designs each delivered updates.
    for design in ("push", "poll", "per-client-encode"):
        assert re.search(rf"^\| {design} \| [\d.]+ \| [1-9]\d* \|", text, re.M), design
    # Figure 4: samples went through gRPC into SQLite and reached a WebSocket client.
    assert re.search(r"\*\*SQLite\*\*, 6 agents: sustained \*\*[1-9]\d* samples/s\*\*", text)
    assert re.search(r"^\| 1 \| \d+ \| \d+ \| \d+% \| yes \| \d+/\d+ \| \d+/\d+ \|", text, re.M), text
    # ... every acked sample was counted back, and a reconnecting fleet's backlog caught up.
    counted = re.search(r"Counted back: ([\d,]+) samples acked, ([\d,]+) stored", text)
    assert counted is not None and 0 < int(counted[1].replace(",", "")) <= int(counted[2].replace(",", "")), text
    assert re.search(r"Backfill: 6 agents reconnect after an outage, 600 buffered samples each .*\*\*6 caught up", text)
    # Figure 5 without the external tools, and the skipped legs named.
    assert re.search(r"^\| monitord agent \| [\d.]+ \| [1-9][\d.]* \|$", text, re.M)
    assert "Glances / node_exporter: --no-tools" in text
    # Figure 6.
    assert re.search(r"cold start to ready with \d+ servers .*: \*\*[\d.]+ s\*\*", text)
    # Figure 8 (issue 17): the fleet-scale cells with targets, every client got every tick and
    # negotiated the shared deflated frame.
    for cell, servers in (("deflate browser-like", 20), ("v2", 40)):
        row = rf"^\| {cell} \| {servers} \| 3 \| \d+ \| \d+ \| \d+% \| 100% \| 3/3 \| 3/3 \|.* \| 3/3 \|$"
        assert re.search(row, text, re.M), cell
    assert re.search(r"^- met +push v2, 40 x 3: clients missing a tick", text, re.M), text
    # Figure 9 (issue 15): evaluation timed and one webhook delivered after forSeconds.
    alerts = re.search(r"^\| [\d.]+% \| [\d.]+ \| \d+ \| ([\d.]+)/[\d.]+/[\d.]+ \|$", text, re.M)
    assert alerts is not None and 0 <= float(alerts[1]) < 10, text
    assert re.search(r"^- \S+ +alerts: notification latency p99 beyond forSeconds", text, re.M)
    # Figure 10 (issue 16): each kind of audience received its frames.
    for run_name in ("single", "grants", "public"):
        assert re.search(rf"^\| {run_name} \| -?\d+ \| -?[\d.]+ \| \d+ \| [1-9]\d*/\d+ \|$", text, re.M), run_name
    # Figure 11 needs Chromium, which --smoke leaves out, saying so; every figure's time is kept.
    assert "Chromium list render and first load: --no-browser" in text
    assert re.search(r"^\| figure 10: per-grant and public page push, .* \| \d+ \|$", text, re.M)
