"""The project's commands say in one line what to do when something is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTS


def _bare_python() -> str:
    """An interpreter without the project's packages (Debian's, or a fresh venv's)."""
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        probe = (
            subprocess.run([candidate, "-c", "import packaging"], capture_output=True, check=False)
            if Path(candidate).exists()
            else None
        )
        if probe is not None and probe.returncode != 0:
            return candidate
    pytest.skip("no interpreter without `packaging` here")


@pytest.mark.parametrize(
    "command",
    [["release.py", "notes", "0.1.0"], ["gate.py", "dist"], ["build.py", "--help"]],
)
def test_scripts_outside_the_venv_say_what_to_do(command: list[str]) -> None:
    result = subprocess.run(
        [_bare_python(), str(SCRIPTS / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "scripts/dev.py setup" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_dev_without_rustup_says_how_to_get_it(tmp_path: Path) -> None:
    # A PATH with the tools dev.py needs before Rust (git, apt) but no rustup or cargo.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "shellcheck"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "dev.py"), "setup"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip() == "rustup is missing: install Rust with rustup (https://rustup.rs)"
    )
