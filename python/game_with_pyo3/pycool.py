"""The classic PyO3 workshop examples, done properly and thread-safe."""

from game_with_pyo3._core import (
    FrozenCounter,
    LazyConfig,
    LockCounter,
    Point,
    move_point,
    sum_of_squares,
)

__all__ = [
    "FrozenCounter",
    "LazyConfig",
    "LockCounter",
    "Point",
    "move_point",
    "sum_of_squares",
]
