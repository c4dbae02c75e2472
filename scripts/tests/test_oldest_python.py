"""The project's tools on the oldest Python they claim: Debian 12's own 3.11.2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import SCRIPTS

DEBIAN_PYTHON = Path("/usr/bin/python3.11")


@pytest.mark.skipif(not DEBIAN_PYTHON.exists(), reason="Debian's /usr/bin/python3.11 is absent")
def test_front_door_runs_on_debian_python_3_11_2() -> None:
    """dev.py's front door, which runs before any venv exists, on Debian's 3.11.2."""
    front = subprocess.run(
        [str(DEBIAN_PYTHON), str(SCRIPTS / "dev.py"), "locked-requirement", "uv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert front.returncode == 0, front.stderr
    assert front.stdout.startswith("uv==")
    assert "--hash=sha256:" in front.stdout
