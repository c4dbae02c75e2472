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


def copy_checkout(dest: Path) -> Path:
    """The tracked files of this checkout (as they are now) copied to `dest`: a tree to
    change the way a contributor or a bot would, and run the suite on."""
    import shutil

    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    # A repository of its own (actionlint finds the workflows through it; a test run in
    # the copy copies it again).
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


def run_tests_in(checkout: Path, *test_files: str) -> subprocess.CompletedProcess[str]:
    """Fast tests of `test_files` (paths under scripts/tests) run in another checkout."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            *(str(checkout / "scripts" / "tests" / name) for name in test_files),
        ],
        cwd=checkout,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
