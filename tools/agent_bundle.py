"""`make agent-bundle`: the wheelhouse the daemon serves at /agent/wheels/ for offline agent installs.

It holds the agent's wheel (monitord without its dashboard build and without [server]) and binary
wheels of the agent's dependencies for Linux x86_64 and aarch64, CPython 3.11-3.13, fetched with
`pip download --only-binary=:all:` (so a host needs no compiler). It is written to
monitord/static/agent-wheels/, so an installed daemon carries it like the dashboard build.

    python tools/agent_bundle.py [--out DIR] [--platform TAG ...] [--python X.Y ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "monitord" / "static" / "agent-wheels"
PLATFORMS = ("manylinux2014_x86_64", "manylinux2014_aarch64")
PYTHONS = ("3.11", "3.12", "3.13")


def build_agent_wheel(out: Path) -> Path:
    """Build monitord's wheel from a copy of the sources without monitord/static (no dashboard,
    and no earlier wheelhouse inside the wheel)."""
    with tempfile.TemporaryDirectory(prefix="monitord-agent-wheel-") as scratch:
        source = Path(scratch) / "src"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, source / name)
        shutil.copytree(
            ROOT / "monitord",
            source / "monitord",
            ignore=shutil.ignore_patterns("static", "__pycache__", "*.pyc"),
            symlinks=False,
        )
        for old in out.glob("monitord-*.whl"):
            old.unlink()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "-w",
                str(out),
                str(source),
            ],
            check=True,
        )
    (wheel,) = out.glob("monitord-*.whl")
    return wheel


def download_dependencies(wheel: Path, out: Path, platforms: list[str], pythons: list[str]) -> None:
    """Binary wheels of the agent wheel's dependencies, for each platform and Python version."""
    for platform in platforms:
        for python in pythons:
            subprocess.run(
                [
                    sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--only-binary=:all:", "--platform", platform, "--python-version", python,
                    "--implementation", "cp", "--find-links", str(out), "-d", str(out), str(wheel),
                ],
                check=True,
            )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--platform", action="append", help=f"pip platform tag (default: {', '.join(PLATFORMS)})")
    parser.add_argument("--python", action="append", help=f"Python version (default: {', '.join(PYTHONS)})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    wheel = build_agent_wheel(args.out)
    download_dependencies(wheel, args.out, args.platform or list(PLATFORMS), args.python or list(PYTHONS))
    print(f"agent wheelhouse: {args.out} ({len(list(args.out.glob('*.whl')))} wheels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
