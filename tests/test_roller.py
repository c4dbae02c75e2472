from __future__ import annotations

import copy
import pickle

import pytest
from game_with_pyo3 import dnd
from reference_rng import ReferenceDice


def test_same_seed_same_sequence() -> None:
    a, b = dnd.Roller(99), dnd.Roller(seed=99)
    for _ in range(5):
        assert a.roll_dice(3, 6) == b.roll_dice(3, 6)
        assert a.roll("2d20kh1 + 1").total == b.roll("2d20kh1 + 1").total


def test_stream_continues_across_calls() -> None:
    roller = dnd.Roller(8)
    reference = ReferenceDice(8)
    assert roller.roll_dice(4, 6) == reference.dice(4, 6)
    assert roller.roll("3d8").dice == reference.dice(3, 8)
    assert roller.roll_dice(2, 100) == reference.dice(2, 100)


def test_stream_continues_across_list_building_paths() -> None:
    # Small rolls build their list die by die, rolls of 256 dice or more (up to 255
    # sides) from packed bytes, rolls above 4,096 dice draw detached.
    roller = dnd.Roller(21)
    reference = ReferenceDice(21)
    for count, sides in [(3, 6), (300, 20), (2, 1000), (5_000, 255), (256, 256), (1, 4)]:
        assert roller.roll_dice(count, sides) == reference.dice(count, sides)


def test_stream_continues_exactly_after_a_roll_split_over_threads() -> None:
    roller = dnd.Roller(13)
    big = roller.roll_dice(600_000, 6)
    small = roller.roll_dice(5, 6)
    assert big + small == dnd.roll_dice(600_005, 6, seed=13, threads=1)


@pytest.mark.parametrize("count", [4 * 16_384, 5 * 16_384, 5 * 16_384 + 1, 200_000])
def test_stream_continues_exactly_after_a_roll_drawn_ahead(count: int) -> None:
    # A big list of small dice is drawn by a helper thread in pieces of 16,384 dice;
    # whole pieces or not, the stream goes on where the roll ended.
    roller = dnd.Roller(8)
    rolled = roller.roll_dice(count, 255) + roller.roll_dice(3, 255)
    assert rolled == dnd.roll_dice(count + 3, 255, seed=8, threads=1)


def test_unseeded_rollers_differ() -> None:
    assert dnd.Roller().roll_dice(10, 1000) != dnd.Roller().roll_dice(10, 1000)


def test_repr_and_seed() -> None:
    assert repr(dnd.Roller(5)) == "Roller(seed=5)"
    assert repr(dnd.Roller()) == "Roller()"
    assert dnd.Roller(5).seed == 5
    assert dnd.Roller().seed is None


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda r: pickle.loads(pickle.dumps(r))]
)
def test_copies_continue_from_the_same_position(clone: object) -> None:
    roller = dnd.Roller(3)
    roller.roll_dice(7, 20)
    twin = clone(roller)  # type: ignore[operator]
    assert twin.roll_dice(5, 20) == roller.roll_dice(5, 20)
    assert twin.seed == 3


def test_bad_arguments() -> None:
    with pytest.raises(OverflowError, match="seed"):
        dnd.Roller(-1)
    with pytest.raises(TypeError):
        dnd.Roller("seed")  # type: ignore[arg-type]
    roller = dnd.Roller(1)
    before = copy.copy(roller)
    with pytest.raises(ValueError, match="sides"):
        roller.roll_dice(1, 0)
    with pytest.raises(ValueError, match="num_dice"):
        roller.roll_dice(-2, 6)
    with pytest.raises(dnd.NotationError):
        roller.roll("3d")
    # refused calls consume nothing from the stream
    assert roller.roll_dice(4, 6) == before.roll_dice(4, 6)
