"""Figure 11 (issue 17): the dashboard in real headless Chromium, run through node.

- `render`: web/bench/browserListRender.mjs, the list page receiving S servers over a protocol
  (synthetic frames, no daemon): message → paint per push.
- `first_load`: web/bench/firstLoad.mjs against a running daemon: the bytes and time from the
  login page to the server list, with a cold cache.
Both need node, Chromium and a built dashboard (`npm run build`, which `ensure_build` runs once).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.fixtures import ADMIN, ADMIN_PASSWORD

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "web"
BUILD = REPO / "monitord" / "static" / "dashboard" / "index.html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing() -> str:
    """Why the browser figures cannot run here ("" when they can)."""
    if shutil.which("node") is None:
        return "node not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    if not (WEB / "node_modules").is_dir():
        return "web/node_modules missing (npm ci in web/)"
    return ""


def ensure_build() -> None:
    """`npm run build` when monitord/static/dashboard has no build yet."""
    if not BUILD.exists():
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True, timeout=600)


def _node(script: str, env: dict[str, str], timeout: float) -> dict[str, Any]:
    run = subprocess.run(
        ["node", script],
        cwd=WEB,
        env={**os.environ, "CHROMIUM": CHROMIUM, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{script} exited {run.returncode}:\n{run.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def render(servers: int, protocol: str, pushes: int) -> dict[str, Any]:
    """browserListRender.mjs's JSON: `pushToPaintMs` holds median / p95 / max in ms."""
    env = {"SERVERS": str(servers), "PROTOCOL": protocol, "PUSHES": str(pushes)}
    return _node("bench/browserListRender.mjs", env, timeout=600)


def first_load(http: str) -> dict[str, Any]:
    """firstLoad.mjs's JSON against the daemon listening at `http` (host:port), as the bench admin."""
    env = {"BASE_URL": f"http://{http}", "USERNAME_": ADMIN, "PASSWORD": ADMIN_PASSWORD}
    return _node("bench/firstLoad.mjs", env, timeout=300)
