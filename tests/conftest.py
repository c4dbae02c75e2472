"""Tests run against the installed wheel, never the source tree."""

from __future__ import annotations

import os
from pathlib import Path

import game_with_pyo3

REPO = Path(__file__).resolve().parent.parent

try:
    from hypothesis import settings
except ModuleNotFoundError:  # no wheel for this cell: test_properties.py skips, saying why
    pass
else:
    settings.register_profile("default", deadline=None, max_examples=60)
    settings.register_profile("ci", deadline=None, max_examples=200)
    settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_report_header() -> str:
    location = Path(game_with_pyo3.__file__).resolve()
    if REPO / "python" in location.parents:
        raise RuntimeError(
            f"game_with_pyo3 was imported from the source tree ({location}); "
            "install the built wheel into the test environment instead"
        )
    return f"game_with_pyo3 {game_with_pyo3.__version__} from {location.parent}"
