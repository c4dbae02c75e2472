"""Dice, dice notation, characters and Monte Carlo duels with a Rust core.

Public modules: :mod:`game_with_pyo3.dnd` and :mod:`game_with_pyo3.pycool`.
"""

from game_with_pyo3 import dnd, pycool
from game_with_pyo3._core import __version__

__all__ = ["__version__", "dnd", "pycool"]
