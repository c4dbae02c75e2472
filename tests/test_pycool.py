from __future__ import annotations

import copy
import math
import pickle

import pytest
from game_with_pyo3 import pycool


def test_sum_of_squares_basics() -> None:
    assert pycool.sum_of_squares() == 0
    assert pycool.sum_of_squares([]) == 0
    assert pycool.sum_of_squares([1, 2, 3]) == 14
    assert pycool.sum_of_squares((4,)) == 16  # type: ignore[arg-type]


def test_sum_of_squares_errors() -> None:
    with pytest.raises(ValueError, match=r"^Input contains negative numbers$"):
        pycool.sum_of_squares([1, -1])
    with pytest.raises(OverflowError):
        pycool.sum_of_squares([2**64])
    with pytest.raises(OverflowError):
        pycool.sum_of_squares([2**63 - 1] * 5)
    with pytest.raises(TypeError):
        pycool.sum_of_squares([1.5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        pycool.sum_of_squares("123")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pycool.sum_of_squares(5)  # type: ignore[arg-type]


def test_point() -> None:
    p = pycool.Point(3, 4)
    assert (p.x, p.y) == (3.0, 4.0)
    assert p.distance_from_origin() == 5.0
    p.x = -6
    p.y = 8.0
    assert p.distance_from_origin() == 10.0
    pycool.move_point(p, 1.5, -2)
    assert (p.x, p.y) == (-4.5, 6.0)
    assert repr(p) == "Point(x=-4.5, y=6.0)"
    assert p == pycool.Point(-4.5, 6.0)
    assert p != pycool.Point(0, 0)
    assert pycool.Point(1e300, 1e300).distance_from_origin() == pytest.approx(math.sqrt(2) * 1e300)


def test_point_compared_with_anything_else_asks_the_other_side() -> None:
    class Anything:
        def __eq__(self, other: object) -> bool:
            return isinstance(other, pycool.Point)

        def __hash__(self) -> int:
            return 0

    class Nothing:
        def __ne__(self, other: object) -> bool:
            return not isinstance(other, pycool.Point)

        __hash__ = None  # type: ignore[assignment]

    p = pycool.Point(1, 2)
    assert p == Anything()
    assert p.__eq__(Anything()) is NotImplemented
    assert p.__ne__(Nothing()) is NotImplemented
    assert not p != Nothing()  # type: ignore[comparison-overlap]  # noqa: SIM202
    assert p != pycool.Point(1, 3)
    assert not p != pycool.Point(1, 2)  # noqa: SIM202 - the operator under test
    assert not p != p  # noqa: PLR0124, SIM202 - the same point, locked once
    assert p != (1.0, 2.0)  # type: ignore[comparison-overlap]
    assert p != "Point(x=1.0, y=2.0)"  # type: ignore[comparison-overlap]


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda p: pickle.loads(pickle.dumps(p))]
)
def test_point_copies_are_independent(clone: object) -> None:
    p = pycool.Point(1, 2)
    q = clone(p)  # type: ignore[operator]
    assert q == p
    q.x = 10
    assert p.x == 1.0


def test_point_bad_input() -> None:
    with pytest.raises(TypeError):
        pycool.Point("1", 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x must be finite"):
        pycool.Point(math.nan, 0)
    p = pycool.Point(1, 1)
    with pytest.raises(ValueError, match="y must be finite"):
        p.y = math.inf
    with pytest.raises(ValueError, match="dx"):
        pycool.move_point(p, math.nan, 0)
    with pytest.raises(ValueError, match="x must be finite"):
        pycool.move_point(pycool.Point(1.7e308, 0), 1.7e308, 0)
    with pytest.raises(TypeError):
        pycool.move_point((1, 2), 1, 1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        del p.x
    assert (p.x, p.y) == (1.0, 1.0)


@pytest.mark.parametrize("cls", [pycool.FrozenCounter, pycool.LockCounter])
def test_counters(cls: type[pycool.FrozenCounter]) -> None:
    c = cls()
    assert c.get() == 0
    assert [c.increment() for _ in range(3)] == [1, 2, 3]
    assert c.get() == 3
    assert repr(c) == f"{cls.__name__}(3)"
    assert pickle.loads(pickle.dumps(c)).get() == 3
    top = cls(2**64 - 1)
    with pytest.raises(OverflowError):
        top.increment()
    assert top.get() == 2**64 - 1
    with pytest.raises(OverflowError):
        cls(-1)


def test_lazy_config() -> None:
    config = pycool.LazyConfig()
    assert config.initializations == 0
    assert config.get_data() == "Initialized Data"
    assert config.get_data() is config.get_data()
    assert config.initializations == 1
    again = pickle.loads(pickle.dumps(config))
    assert again.initializations == 0
    assert again.get_data() == "Initialized Data"
    assert copy.copy(config).get_data() == "Initialized Data"
