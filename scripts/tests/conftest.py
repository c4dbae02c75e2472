from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One real host-mode rehearsal per test session: (dist dir, its output)."""
    dist = tmp_path_factory.mktemp("rehearsal") / "dist"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "rehearse.py"), "--out", str(dist)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return dist, output
