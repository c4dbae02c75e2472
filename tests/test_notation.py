from __future__ import annotations

import pytest
from game_with_pyo3 import dnd
from reference_rng import ReferenceDice


def test_keep_highest_uses_the_documented_stream() -> None:
    result = dnd.roll("4d6kh3", seed=11)
    expected = ReferenceDice(11).dice(4, 6)
    assert result.dice == expected
    assert result.total == sum(sorted(expected)[1:])
    assert sorted(result.kept) == sorted(expected)[1:]
    assert result.dropped == [min(expected)]


@pytest.mark.parametrize(
    ("expression", "canonical"),
    [
        ("4d6kh3", "4d6kh3"),
        ("2D20KL1", "2d20kl1"),
        ("  d% + 3 ", "1d% + 3"),
        ("1d8-2+d4", "1d8 - 2 + 1d4"),
        ("-1 + 2d6dl1", "-1 + 2d6dl1"),
        ("5d10dh2", "5d10dh2"),
        ("17", "17"),
        ("0d6", "0d6"),
    ],
)
def test_notation_is_accepted_and_normalised(expression: str, canonical: str) -> None:
    assert dnd.roll(expression, seed=1).expression == canonical


def test_terms_add_and_subtract() -> None:
    stream = ReferenceDice(5)
    d20, d4 = stream.die(20), stream.die(4)
    result = dnd.roll("1d20 + 5 - 1d4", seed=5)
    assert result.dice == [d20, d4]
    assert result.total == d20 + 5 - d4
    assert int(result) == result.total
    assert str(result) == f"1d20 + 5 - 1d4 = [{d20}] + 5 - [{d4}] = {result.total}"


def test_percentile_dice() -> None:
    assert all(1 <= dnd.roll("d%", seed=s).total <= 100 for s in range(200))


def test_str_marks_dropped_dice() -> None:
    result = dnd.roll("3d6dl1", seed=3)
    low = result.dropped[0]
    assert f"({low})" in str(result)


@pytest.mark.parametrize(
    ("expression", "position"),
    [
        ("", 0),
        ("   ", 3),
        ("4d", 2),
        ("4d6+", 4),
        ("4d6 x", 4),
        ("4d0", 2),
        ("4d6kx", 4),
        ("4d6kh", 5),
        ("2d6kh3", 3),
        ("d6 ++ 1", 4),
        ("1 + 10000001d6", 4),
        ("5000000d6 + 5000001d6", 12),
        ("1d99999999999999999999", 2),
        ("d6 * 2", 3),
        ("2d6k", 4),
        ("héllo", 0),
    ],
)
def test_malformed_notation_points_at_the_problem(expression: str, position: int) -> None:
    with pytest.raises(dnd.NotationError, match=rf"at position {position}\b") as info:
        dnd.roll(expression)
    assert info.value.position == position
    assert isinstance(info.value, ValueError)


def test_a_notation_error_made_by_hand_has_no_position() -> None:
    err = dnd.NotationError("not dice")
    assert err.position is None
    assert str(err) == "not dice"
    with pytest.raises(dnd.NotationError) as info:
        dnd.roll("1d")
    assert info.value.position == 2
    assert dnd.NotationError("again").position is None  # the class default is untouched


def test_total_overflow_is_an_overflow_error() -> None:
    with pytest.raises(OverflowError):
        dnd.roll("9223372036854775807 + 1")


def test_wrong_types() -> None:
    with pytest.raises(TypeError):
        dnd.roll(46)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dnd.roll(b"1d6")  # type: ignore[arg-type]
