"""Tests run against the installed wheel, never the source tree."""

from __future__ import annotations

import os
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


def pytest_report_header() -> str:
    location = Path(game_with_pyo3.__file__).resolve()
    return f"game_with_pyo3 {game_with_pyo3.__version__} from {location.parent}"
