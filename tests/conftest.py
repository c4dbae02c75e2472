"""Tests run against the installed wheel, never the source tree."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import game_with_pyo3
import pytest

REPO = Path(__file__).resolve().parent.parent

try:
    from hypothesis import settings
except ModuleNotFoundError:  # no wheel for this cell: test_properties.py skips, saying why
    pass
else:
    settings.register_profile("default", deadline=None, max_examples=60)
    settings.register_profile("ci", deadline=None, max_examples=200)
    settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test the source tree (``maturin develop``'s editable install, or
    ``python/`` on ``sys.path``), at every verbosity."""
    location = Path(game_with_pyo3.__file__).resolve()
    if REPO / "python" in location.parents:
        raise pytest.UsageError(
            f"game_with_pyo3 was imported from the source tree ({location}); "
            "install the built wheel into the test environment instead "
            "(python3 scripts/dev.py install)"
        )


# Where the interpreter runs inside another program (a Pyodide page or Node, the iOS
# testbed app, an Android app) it cannot start itself again; Pyodide has no threads.
NO_SUBPROCESS = sys.platform in ("emscripten", "ios", "android")
NO_THREADS = sys.platform == "emscripten"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NO_SUBPROCESS and item.get_closest_marker("subprocess"):
            item.add_marker(pytest.mark.skip(reason=f"{sys.platform}: no subprocesses"))
        if NO_THREADS and item.get_closest_marker("threads"):
            item.add_marker(pytest.mark.skip(reason=f"{sys.platform}: no threads"))


def pytest_report_header() -> str:
    location = Path(game_with_pyo3.__file__).resolve()
    return f"game_with_pyo3 {game_with_pyo3.__version__} from {location.parent}"
