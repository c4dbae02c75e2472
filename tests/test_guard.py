"""The suite refuses to test the source tree instead of the installed wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import game_with_pyo3
import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.subprocess
@pytest.mark.parametrize("verbosity", [[], ["-q"], ["-qq"]])
def test_the_source_tree_is_refused_at_any_verbosity(tmp_path: Path, verbosity: list[str]) -> None:
    # A checkout whose python/ holds a complete package (as `maturin develop` leaves
    # it), put first on sys.path.
    shutil.copytree(Path(game_with_pyo3.__file__).parent, tmp_path / "python" / "game_with_pyo3")
    (tmp_path / "tests").mkdir()
    shutil.copy(HERE / "conftest.py", tmp_path / "tests")
    (tmp_path / "tests" / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *verbosity, "tests"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "python")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "imported from the source tree" in done.stdout + done.stderr
