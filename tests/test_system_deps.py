"""`make test` on a fresh machine: tools/system-deps installs the system packages the tests use, or
stops before any test with one line saying what to run; and `make test` runs it first.

The script runs for real, with a PATH of fakes: `id` (to be root or not) and `apt-get` (which
logs its calls and "installs" a package by putting a stub of its program on that PATH).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import REPO

SCRIPT = REPO / "tools" / "system-deps"

# What each package puts on the PATH, as the fake apt-get installs it.
FAKE_APT_GET = """#!/bin/sh
echo "$DEBIAN_FRONTEND $*" >> "{log}"
case "$1" in
update) : > "{bin}/.updated"; exit 0 ;;
install)
    [ -e "{bin}/.updated" ] || [ "{needs_update}" = no ] || exit 100
    for word in "$@"; do
        case "$word" in
        prometheus) program=promtool ;;
        shellcheck) program=shellcheck ;;
        *) continue ;;
        esac
        printf '#!/bin/sh\\n' > "{bin}/$program"; /bin/chmod +x "{bin}/$program"
    done ;;
esac
"""


@dataclass
class FakeSystem:
    bin: Path
    apt_log: Path
    chromium: Path

    def add_program(self, name: str, body: str = "#!/bin/sh\n") -> None:
        path = self.bin / name
        path.write_text(body)
        path.chmod(0o755)

    def run(self) -> subprocess.CompletedProcess[str]:
        env = {"PATH": str(self.bin), "CHROMIUM": str(self.chromium)}
        return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False)

    def apt_calls(self) -> list[str]:
        return self.apt_log.read_text().splitlines() if self.apt_log.exists() else []


def fake_system(tmp_path: Path, *, uid: int, apt: bool, needs_update: bool = False) -> FakeSystem:
    """A PATH with only `id` (saying `uid`), and `apt-get` if `apt`; Chromium is there (CHROMIUM=)."""
    system = FakeSystem(bin=tmp_path / "bin", apt_log=tmp_path / "apt.log", chromium=tmp_path / "chromium")
    system.bin.mkdir()
    system.add_program("id", f"#!/bin/sh\necho {uid}\n")
    if apt:
        script = FAKE_APT_GET.format(log=system.apt_log, bin=system.bin, needs_update="yes" if needs_update else "no")
        system.add_program("apt-get", script)
    system.chromium.write_text("#!/bin/sh\n")
    system.chromium.chmod(0o755)
    return system


def test_prints_nothing_when_everything_is_there(tmp_path: Path) -> None:
    system = fake_system(tmp_path, uid=0, apt=True)
    system.add_program("promtool")
    system.add_program("shellcheck")
    result = system.run()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert system.apt_calls() == []


def test_not_root_stops_with_the_command_to_run(tmp_path: Path) -> None:
    system = fake_system(tmp_path, uid=1000, apt=True)
    result = system.run()
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "make test needs system packages that are missing (prometheus shellcheck): run: sudo apt-get update && "
        "sudo apt-get install -y --no-install-recommends prometheus shellcheck\n"
    )
    assert system.apt_calls() == []


def test_without_apt_get_stops_naming_the_packages(tmp_path: Path) -> None:
    system = fake_system(tmp_path, uid=0, apt=False)
    system.add_program("promtool")
    result = system.run()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("make test needs system packages that are missing (shellcheck): install ")


def test_a_missing_chromium_named_by_CHROMIUM_is_not_installed_over(tmp_path: Path) -> None:
    system = fake_system(tmp_path, uid=0, apt=True)
    system.chromium.unlink()
    result = system.run()
    assert result.returncode == 1
    assert result.stderr == (
        f"make test: CHROMIUM={system.chromium} is not an executable: point CHROMIUM at a Chromium, or unset it "
        "to use Debian's /usr/bin/chromium\n"
    )
    assert system.apt_calls() == []


@pytest.mark.parametrize("needs_update", [False, True], ids=["lists-current", "lists-stale"])
def test_root_with_apt_installs_what_is_missing(tmp_path: Path, needs_update: bool) -> None:
    system = fake_system(tmp_path, uid=0, apt=True, needs_update=needs_update)
    system.add_program("shellcheck")
    result = system.run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "make test: installing prometheus (apt-get)\n"
    install = "noninteractive install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends prometheus"
    # A failed install refreshes the package lists once and tries again.
    assert system.apt_calls() == ([install, "noninteractive update -qq", install] if needs_update else [install])
    assert (system.bin / "promtool").exists()
    # Done once: the next run finds everything.
    again = system.run()
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_make_test_provides_the_system_and_checks_code_before_any_test() -> None:
    """`make test`: system packages, then lint and types, then pytest, vitest and the browser tests."""
    env = {**os.environ, "MAKEFLAGS": ""}
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "test"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()

    def first(fragment: str) -> int:
        return next(index for index, line in enumerate(dry_run) if fragment in line)

    order = [
        first(step)
        for step in (
            "tools/system-deps",
            "ruff check",
            "ruff format --check",
            "mypy",
            "-m pytest",
            "npm test",
            "test:e2e",
        )
    ]
    assert order == sorted(order), dry_run
    assert first("tools/system-deps") == 0, dry_run
