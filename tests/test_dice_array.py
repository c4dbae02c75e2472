"""roll_dice_array: the dice of roll_dice in an array.array, built without the interpreter."""

from __future__ import annotations

import array
import os

import pytest
from game_with_pyo3 import dnd
from isolated import run_isolated
from reference_rng import ReferenceDice
from threadshare import BAR, best_share_during

SIDES_MAX = 2**31 - 1

# Widths change at 255/256 and 65,535/65,536 sides; counts cross the size where the work
# detaches (4,096 dice) and the engine's 1,024-draw chunks.
# Lemire's method rejects about a third of the draws for just over 2**32 / 3 sides.
REJECTS_A_THIRD = 1_431_655_766
SIDES = [1, 2, 6, 20, 255, 256, 1_000, 65_535, 65_536, REJECTS_A_THIRD, SIDES_MAX]
COUNTS = [0, 1, 3, 255, 256, 1_023, 1_025, 4_096, 4_097, 10_000]


@pytest.mark.parametrize("sides", SIDES)
@pytest.mark.parametrize("count", COUNTS)
def test_same_dice_as_the_list_for_the_same_seed(count: int, sides: int) -> None:
    for seed in (0, 1, 2**64 - 1):
        dice = dnd.roll_dice_array(count, sides, seed=seed)
        assert dice.tolist() == dnd.roll_dice(count, sides, seed=seed)


@pytest.mark.parametrize(
    ("sides", "typecode"),
    [(1, "B"), (255, "B"), (256, "H"), (65_535, "H"), (65_536, "I"), (SIDES_MAX, "I")],
)
def test_the_narrowest_type_that_holds_sides(sides: int, typecode: str) -> None:
    dice = dnd.roll_dice_array(1_000, sides, seed=5)
    assert isinstance(dice, array.array)
    assert dice.typecode == typecode
    assert len(dice) == 1_000
    assert all(1 <= d <= sides for d in dice)


def test_matches_the_documented_algorithm() -> None:
    for seed, count, sides in [(42, 10, 20), (0, 5, SIDES_MAX), (7, 3_000, 3), (9, 2_000, 300)]:
        assert dnd.roll_dice_array(count, sides, seed=seed).tolist() == ReferenceDice(seed).dice(
            count, sides
        )
    assert dnd.roll_dice_array(10, 20, seed=42).tolist() == [11, 12, 10, 7, 1, 19, 14, 19, 3, 15]


def test_empty() -> None:
    dice = dnd.roll_dice_array(0, 6, seed=1)
    assert dice.typecode == "B"
    assert len(dice) == 0


def test_unseeded_rolls_vary() -> None:
    assert len({dnd.roll_dice_array(8, 1000).tobytes() for _ in range(5)}) > 1


@pytest.mark.parametrize("sides", [20, 1_000, SIDES_MAX])
def test_buffer_protocol(sides: int) -> None:
    dice = dnd.roll_dice_array(5_000, sides, seed=3)
    view = memoryview(dice)
    assert view.format == dice.typecode
    assert view.itemsize == dice.itemsize
    assert view.nbytes == 5_000 * dice.itemsize
    assert not view.readonly
    assert view.tolist() == dice.tolist()


@pytest.mark.parametrize("sides", [20, 1_000, SIDES_MAX])
def test_numpy_wraps_it_without_a_copy(sides: int) -> None:
    np = pytest.importorskip("numpy")
    dice = dnd.roll_dice_array(5_000, sides, seed=4)
    expected = dnd.roll_dice(5_000, sides, seed=4)
    by_buffer = np.frombuffer(dice, dtype=dice.typecode)
    by_asarray = np.asarray(dice)
    assert by_asarray.dtype == by_buffer.dtype == np.dtype(dice.typecode)
    assert by_buffer.tolist() == by_asarray.tolist() == expected
    # Views, not copies: a change to the array shows through both.
    dice[0] = 1 if expected[0] != 1 else sides
    assert by_buffer[0] == by_asarray[0] == dice[0] != expected[0]
    assert np.shares_memory(by_buffer, by_asarray)


def test_pickles_like_any_array() -> None:
    import pickle

    dice = dnd.roll_dice_array(300, 1_000, seed=2)
    assert pickle.loads(pickle.dumps(dice)) == dice


@pytest.mark.threads
@pytest.mark.thread_unsafe(reason="measures how fast a thread runs; needs the CPU to itself")
def test_dice_are_drawn_without_holding_the_interpreter() -> None:
    # While a big roll is drawn, a pure-Python thread keeps counting at a good share of
    # its solo speed; a roll that kept the interpreter would freeze it for all of the
    # drawing. One thread: the roll must leave a core to the counter to measure anything.
    share = best_share_during(
        lambda: dnd.roll_dice_array(dnd.MAX_DICE, SIDES_MAX, seed=1, threads=1)
    )
    assert share >= BAR, f"while dice were drawn, another thread ran at {share:.1%} speed"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((-1, 6), {}, ValueError, "num_dice"),
        ((dnd.MAX_DICE + 1, 6), {}, ValueError, "num_dice"),
        ((2**62, 6), {}, ValueError, "num_dice"),
        ((2**70, 6), {}, OverflowError, "num_dice"),
        ((1, 0), {}, ValueError, "sides"),
        ((1, -5), {}, ValueError, "sides"),
        ((1, 2**31), {}, ValueError, "sides"),
        ((1, 2**70), {}, OverflowError, "sides"),
        ((1, 6), {"seed": -1}, OverflowError, "seed"),
        ((1, 6), {"seed": 2**64}, OverflowError, "seed"),
        (("3", 6), {}, TypeError, "num_dice"),
        ((3.0, 6), {}, TypeError, "num_dice"),
        ((3, 6.0), {}, TypeError, "sides"),
        ((3, "6"), {}, TypeError, "sides"),
        ((3, 6), {"seed": "x"}, TypeError, "seed"),
        ((3, 6), {"seed": 1.5}, TypeError, "seed"),
        ((3, None), {}, TypeError, "sides"),
        ((None, 6), {}, TypeError, "num_dice"),
        ((3, 6), {"as_list": True}, TypeError, "as_list"),
        ((3, 6), {"threads": 0}, ValueError, "threads"),
        ((3, 6), {"threads": -1}, ValueError, "threads"),
        ((3, 6), {"threads": 257}, ValueError, "threads"),
        ((3, 6), {"threads": 2**70}, OverflowError, "threads"),
        ((3, 6), {"threads": "2"}, TypeError, "threads"),
        ((3, 6), {"threads": 1.0}, TypeError, "threads"),
    ],
)
def test_bad_arguments(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        dnd.roll_dice_array(*args, **kwargs)  # type: ignore[arg-type]


def test_seed_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        dnd.roll_dice_array(1, 6, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        dnd.roll_dice_array(1, 6, None, 2)  # type: ignore[call-arg]


@pytest.mark.parametrize("sides", [20, 255, 1_000, 65_535, REJECTS_A_THIRD, SIDES_MAX])
def test_same_dice_for_any_thread_count(sides: int) -> None:
    # Big enough to be split over threads (unless Lemire's method rejects draws often).
    one = dnd.roll_dice_array(300_001, sides, seed=6, threads=1)
    assert one.tolist() == dnd.roll_dice(300_001, sides, seed=6, threads=1)
    for threads in (2, 5, None):
        assert dnd.roll_dice_array(300_001, sides, seed=6, threads=threads) == one


def test_missing_arguments() -> None:
    with pytest.raises(TypeError, match="sides"):
        dnd.roll_dice_array(3)  # type: ignore[call-arg]


@pytest.mark.parametrize("sides", [20, 1_000, SIDES_MAX])
def test_the_array_is_free_to_grow_after_the_roll(sides: int) -> None:
    # The dice are drawn into the array's own buffer while a memoryview pins it; the
    # view is released before the array is returned.
    dice = dnd.roll_dice_array(5_000, sides, seed=2)
    dice.append(1)
    dice.extend(dice)
    assert len(dice) == 10_002


@pytest.mark.subprocess
# Linux only, and not in a root without /proc (the rehearsal's Debian roots).
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc/self/status")
def test_peak_memory_is_about_the_array_itself() -> None:
    # Drawn into the array's own buffer: no second buffer of the roll's size.
    def peak_kib(body: str) -> int:
        out = run_isolated(
            f"""
            from game_with_pyo3 import dnd
            {body}
            with open("/proc/self/status") as status:
                print(next(l for l in status if l.startswith("VmHWM:")).split()[1])
            """
        )
        return int(out)

    count = 10_000_000
    base = peak_kib("pass")
    for sides, width in [(20, 1), (1_000, 2)]:
        grown = peak_kib(f"dice = dnd.roll_dice_array({count}, {sides}, seed=1)") - base
        assert grown * 1024 <= 1.2 * count * width, (sides, grown)
