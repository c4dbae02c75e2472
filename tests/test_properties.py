"""Property tests (hypothesis). hypothesis ships native wheels only, and has none for
some interpreters the wheels are tested on (free-threaded 3.14 on i686, armv7l, ppc64le,
s390x, win32 and win_arm64; FreeBSD): there these tests skip, with this reason in the
summary, and every other test still runs (scripts/testdeps.py decides per test cell)."""

from __future__ import annotations

import re

import pytest
from game_with_pyo3 import dnd, pycool

# ImportError, not only ModuleNotFoundError: a wheel that installs but does not load on
# this interpreter (hypothesis's pp73 wheel on PyPy 7.3.19) skips too.
pytest.importorskip(
    "hypothesis",
    reason="hypothesis is not installed (no wheel for this interpreter and platform) "
    "or does not load here",
    exc_type=ImportError,
)
from hypothesis import given
from hypothesis import strategies as st

ABILITIES = ["strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"]


@given(
    count=st.integers(0, 300),
    sides=st.one_of(st.integers(1, 100), st.integers(1, 2**31 - 1)),
    seed=st.integers(0, 2**64 - 1),
)
def test_values_are_in_range_and_reproducible(count: int, sides: int, seed: int) -> None:
    dice = dnd.roll_dice(count, sides, seed=seed)
    assert len(dice) == count
    assert all(1 <= d <= sides for d in dice)
    assert dice == dnd.roll_dice(count, sides, seed=seed)


@given(
    count=st.integers(0, 3_000),
    sides=st.one_of(st.integers(1, 300), st.integers(1, 70_000), st.integers(1, 2**31 - 1)),
    seed=st.integers(0, 2**64 - 1),
)
def test_the_array_holds_the_dice_of_the_list(count: int, sides: int, seed: int) -> None:
    dice = dnd.roll_dice_array(count, sides, seed=seed)
    assert dice.itemsize == (1 if sides < 2**8 else 2 if sides < 2**16 else 4)
    assert dice.tolist() == dnd.roll_dice(count, sides, seed=seed)


@given(score=st.integers(1, 30))
def test_modifier_is_floor_of_half(score: int) -> None:
    c = dnd.Character("X", 10, score, score, score, score, score, score)
    for ability in ABILITIES:
        assert c.modifier(ability) == (score - 10) // 2
        assert c.modifier(ability[:3].upper()) == (score - 10) // 2
    assert c.armor_class == 10 + (score - 10) // 2


@given(
    count=st.integers(1, 20),
    sides=st.integers(1, 1000),
    keep=st.integers(0, 20),
    kind=st.sampled_from(["kh", "kl", "dh", "dl"]),
    constant=st.integers(-1000, 1000),
    seed=st.integers(0, 2**64 - 1),
)
def test_keep_drop_property(
    *, count: int, sides: int, keep: int, kind: str, constant: int, seed: int
) -> None:
    keep = min(keep, count)
    sign = "+" if constant >= 0 else "-"
    expression = f"{count}d{sides}{kind}{keep} {sign} {abs(constant)}"
    result = dnd.roll(expression, seed=seed)
    ordered = sorted(result.dice)
    expected_kept = {
        "kh": ordered[count - keep :],
        "kl": ordered[:keep],
        "dh": ordered[: count - keep],
        "dl": ordered[keep:],
    }[kind]
    assert sorted(result.kept) == expected_kept
    assert sorted(result.kept + result.dropped) == ordered
    assert result.total == sum(result.kept) + constant
    assert re.fullmatch(r".* = -?\d+", str(result))


@given(st.text(max_size=20))
def test_arbitrary_text_never_crashes(text: str) -> None:
    position = None
    try:
        result = dnd.roll(text, seed=0)
    except dnd.NotationError as err:
        position = err.position
    except OverflowError:
        return
    else:
        assert isinstance(result.total, int)
        return
    assert position is not None
    assert 0 <= position <= len(text)


@given(st.lists(st.integers(0, 2**63 - 1), max_size=3))
def test_sum_of_squares_is_exact(values: list[int]) -> None:
    assert pycool.sum_of_squares(values) == sum(v * v for v in values)
