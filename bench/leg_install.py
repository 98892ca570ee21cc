"""Figure 5b (issue 14): the agent's own install beside the full install, on disk and in memory.

- On disk: the packages of `pip install monitord` (the agent) and of `pip install monitord[server]`
  (the daemon), summed from each distribution's installed files in this venv; and the venv that
  the agent installer really makes, installed offline from the daemon's wheelhouse
  (`make agent-bundle`), measured with its pip.
- In memory: the agent run from that agent-only venv, reporting to a real daemon every second,
  beside the same agent run from the full install (peak RSS and CPU over one window).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from bench.daemon import REPO, Daemon, child_env
from bench.fixtures import TOKENS_FILE, copy_fixture, write_config
from bench.leg_footprint import Footprint, _stop
from bench.procfs import CpuWindow

WHEELHOUSE = REPO / "monitord" / "static" / "agent-wheels"
# The installer's own tooling, not the agent's.
_TOOLING = {"pip", "setuptools", "wheel"}


@dataclass
class InstallSize:
    name: str
    packages: int
    size_bytes: int


def _closure(roots: list[str]) -> set[str]:
    """The distributions these requirements pull in, as installed in this venv."""
    seen: set[str] = set()
    pending = [Requirement(line) for line in roots]
    while pending:
        requirement = pending.pop()
        key = f"{requirement.name.lower().replace('_', '-')}{sorted(requirement.extras)}"
        if key in seen:
            continue
        seen.add(key)
        for line in metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            extras = ("", *requirement.extras)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(needed)
    return {key.split("[")[0] for key in seen}


def _requirements(*extras: str) -> list[str]:
    """monitord's own requirements from pyproject.toml (the venv may hold another checkout's metadata)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *(line for extra in extras for line in project["optional-dependencies"][extra])]


def _installed_bytes(names: set[str]) -> int:
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total


def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def agent_venv(workdir: Path) -> Path:
    """A venv with only the agent, installed offline from the wheelhouse as install.sh does."""
    if not any(WHEELHOUSE.glob("monitord-*.whl")):
        raise RuntimeError("no agent wheelhouse: run `make agent-bundle`")
    venv = workdir / "agent-venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)  # type: ignore[attr-defined]
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
         "--find-links", str(WHEELHOUSE), "monitord"],
        # Without PYTHONPATH: a checkout on it would count as monitord already installed.
        check=True, env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    return venv


def install_sizes(venv: Path) -> list[InstallSize]:
    agent, full = _closure(_requirements()), _closure(_requirements("server"))
    site = next((venv / "lib").glob("python3*/site-packages"))
    tooling = [path for path in site.iterdir() if path.name.split("-")[0].lower() in _TOOLING]
    installed = sum(1 for path in site.glob("*.dist-info") if path.name.split("-")[0].lower() not in _TOOLING)
    real = _tree_bytes(site) - sum(_tree_bytes(path) if path.is_dir() else path.stat().st_size for path in tooling)
    return [
        InstallSize("agent: pip install monitord (dependencies)", len(agent), _installed_bytes(agent)),
        InstallSize("full: pip install monitord[server] (dependencies)", len(full), _installed_bytes(full)),
        InstallSize("agent venv made by install.sh (site-packages, without pip)", installed, real),
    ]


def agent_footprints(workdir: Path, fixture: Path, venv: Path, *, seconds: float, warm_up: float) -> list[Footprint]:
    """The agent from the agent-only venv and from the full install, at once, each reporting every second."""
    data = copy_fixture(fixture, workdir / "install-footprint")
    with ExitStack() as stack:
        daemon = stack.enter_context(Daemon(write_config(data)))
        # One server each: two agents on one token would keep replacing each other's call.
        tokens = (data / TOKENS_FILE).read_text().split()
        pythons = {
            "monitord agent, agent-only install": (str(venv / "bin/python"), {"PIP_CONFIG_FILE": os.devnull}),
            "monitord agent, full install": (sys.executable, child_env()),
        }
        running = {}
        for index, (name, (python, env)) in enumerate(pythons.items()):
            config = data / f"agent-{index}.toml"
            config.write_text(f'server = "{daemon.grpc}"\ntoken = "{tokens[index]}"\ninterval_seconds = 1.0\n')
            process = subprocess.Popen(
                [python, "-m", "monitord.agent", "--config", str(config)],
                env=env,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(_stop, process)
            running[name] = process
        time.sleep(warm_up)
        window = CpuWindow(process.pid for process in running.values()).start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(1.0)
            window.sample_rss()
        window.stop()
        for name, process in running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during the measurement ({process.returncode})")
    return [Footprint(name, window.share(p.pid), window.peak_rss[p.pid]) for name, p in running.items()]


def main() -> None:
    """`python -m bench.leg_install [SECONDS]`: this leg alone, printed."""
    import tempfile

    import trio

    from bench.fixtures import build_sqlite_fixture

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    with tempfile.TemporaryDirectory(prefix="monitord-bench-install-") as scratch:
        workdir = Path(scratch)
        venv = agent_venv(workdir)
        for size in install_sizes(venv):
            print(f"{size.name}: {size.packages} packages, {size.size_bytes / 2**20:.1f} MiB")
        fixture = trio.run(lambda: build_sqlite_fixture(workdir / "fixture", 2, with_tokens=True))
        for footprint in agent_footprints(workdir, fixture, venv, seconds=seconds, warm_up=3.0):
            print(f"{footprint.name}: {footprint.core_share * 100:.2f}% CPU, {footprint.rss_bytes / 2**20:.1f} MiB RSS")


if __name__ == "__main__":
    main()
