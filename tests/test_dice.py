from __future__ import annotations

import sys
import sysconfig

import pytest
from game_with_pyo3 import dnd
from isolated import run_isolated
from reference_rng import ReferenceDice

SIDES_MAX = 2**31 - 1


@pytest.mark.parametrize(
    ("seed", "count", "sides"),
    [(42, 10, 20), (0, 5, SIDES_MAX), (2**64 - 1, 50, 6), (7, 200, 3), (123, 30, 1000)],
)
def test_seeded_rolls_match_the_documented_algorithm(seed: int, count: int, sides: int) -> None:
    assert dnd.roll_dice(count, sides, seed=seed) == ReferenceDice(seed).dice(count, sides)


def test_pinned_test_vectors() -> None:
    # These numbers are part of the public contract: a seed gives these dice forever.
    assert dnd.roll_dice(10, 20, seed=42) == [11, 12, 10, 7, 1, 19, 14, 19, 3, 15]
    assert dnd.roll_dice(5, SIDES_MAX, seed=0) == [
        2077896894,
        563308495,
        1394487618,
        73537091,
        1777009076,
    ]


@pytest.mark.parametrize("sides", [6, 255, 256, 70_000])
@pytest.mark.parametrize("count", [255, 256, 4_096, 4_097, 3_000_001])
def test_every_way_of_building_the_list_gives_the_documented_dice(count: int, sides: int) -> None:
    # Up to 255 sides, lists of 256 dice or more are built from packed bytes, others die
    # by die; above 4,096 dice the drawing detaches. The dice are the same either way.
    dice = dnd.roll_dice(count, sides, seed=11)
    assert type(dice) is list
    reference = ReferenceDice(11)
    head = reference.dice(min(count, 300), sides)
    assert dice[: len(head)] == head
    assert len(dice) == count
    assert all(1 <= d <= sides for d in dice[-1_000:])
    if count <= 5_000:
        assert dice == ReferenceDice(11).dice(count, sides)


def test_unseeded_rolls_vary() -> None:
    assert len({tuple(dnd.roll_dice(8, 1000)) for _ in range(5)}) > 1


def test_large_request_near_the_limit() -> None:
    dice = dnd.roll_dice(1_000_000, 6, seed=1)
    assert len(dice) == 1_000_000
    assert set(dice) == {1, 2, 3, 4, 5, 6}
    assert dnd.roll_dice(dnd.MAX_DICE, 1) == [1] * dnd.MAX_DICE


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
        ((1, 6), {"seed": -1}, OverflowError, "seed"),
        ((1, 6), {"seed": 2**64}, OverflowError, "seed"),
        (("3", 6), {}, TypeError, "num_dice"),
        ((3, 6.0), {}, TypeError, "sides"),
        ((3, 6), {"seed": "x"}, TypeError, "seed"),
        ((3, None), {}, TypeError, "sides"),
        ((3, 6), {"threads": 0}, ValueError, "threads"),
        ((3, 6), {"threads": -1}, ValueError, "threads"),
        ((3, 6), {"threads": 257}, ValueError, "threads"),
        ((3, 6), {"threads": 2**70}, OverflowError, "threads"),
        ((3, 6), {"threads": "2"}, TypeError, "threads"),
        ((3, 6), {"threads": 2.0}, TypeError, "threads"),
    ],
)
def test_bad_arguments(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        dnd.roll_dice(*args, **kwargs)  # type: ignore[arg-type]


def test_seed_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        dnd.roll_dice(1, 6, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        dnd.roll_dice(1, 6, None, 2)  # type: ignore[call-arg]


# Big rolls of dice that rarely reject a draw are split over threads; the dice are the
# same for any thread count (and for dice that reject often, which are never split).
@pytest.mark.parametrize("sides", [6, 20, 255, 1_000, 70_000, 1_431_655_766, 2**31 - 1])
def test_same_dice_for_any_thread_count(sides: int) -> None:
    one = dnd.roll_dice(300_001, sides, seed=5, threads=1)
    assert one[:50] == ReferenceDice(5).dice(50, sides)
    for threads in (2, 3, 8, None):
        assert dnd.roll_dice(300_001, sides, seed=5, threads=threads) == one


@pytest.mark.parametrize("count", [65_535, 65_536, 65_537, 1_000_003])
def test_a_list_drawn_ahead_is_the_same_roll_as_the_array(count: int) -> None:
    # From 65,536 dice of at most 255 sides, with two threads or more, the list is built
    # while a helper thread draws it; the array is drawn in one pass. Every die agrees.
    dice = dnd.roll_dice(count, 255, seed=17, threads=2)
    assert dice == dnd.roll_dice_array(count, 255, seed=17, threads=1).tolist()


@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform != "linux", reason="needs Linux's RLIMIT_AS and /proc")
@pytest.mark.skipif(
    sys.implementation.name == "pypy",
    reason="PyPy reports a failed allocation in its C API as SystemError (seen on 7.3.19)",
)
@pytest.mark.skipif(
    bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    reason="not checked on free-threaded CPython, whose mimalloc reserves memory in "
    "segments: a cap just above the process's size may fail allocations before the roll's",
)
@pytest.mark.parametrize("warm", [False, True])
def test_out_of_memory_raises_memoryerror_and_never_half_a_roll(warm: bool) -> None:
    # With the address space capped just above what the process uses, a roll of
    # MAX_DICE dice runs out of memory: its helper thread cannot start (a fresh stack
    # mapping) and the roll, drawn first, cannot get its `bytes`; or the helper starts
    # (`warm`: a stack left from an earlier roll) and cannot get its buffer; or, if the
    # allocator finds the buffer, the list cannot grow. It raises MemoryError, and the
    # Roller's stream is where it was (no die drawn) or after the whole roll (the
    # helper draws to the end once the list has failed) -- never half-way.
    out = run_isolated(
        f"""
        import resource

        from game_with_pyo3 import dnd

        roller = dnd.Roller(5)
        if {warm}:
            dnd.roll_dice(200_000, 6)
        untouched = dnd.Roller(5).roll_dice(3, 6)

        def mapped() -> int:
            try:
                with open("/proc/self/status") as status:
                    line = next(l for l in status if l.startswith("VmSize:"))
            except FileNotFoundError:
                print("no /proc")  # a chroot without it (the rehearsal's Debian roots)
                raise SystemExit(0)
            return int(line.split()[1]) * 1024

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (mapped() + (1 << 20), hard))
        try:
            try:
                bytearray(64 << 20)
            except MemoryError:
                pass
            else:
                print("not enforced")  # qemu-user ignores the cap
                raise SystemExit(0)
            try:
                roller.roll_dice(dnd.MAX_DICE, 6)
            except MemoryError as err:
                outcome = f"MemoryError {{err}}"
            else:
                outcome = "no error"
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        after = roller.roll_dice(3, 6)
        whole = dnd.Roller(5)
        whole.roll_dice(dnd.MAX_DICE, 6)
        assert after in (untouched, whole.roll_dice(3, 6)), "the stream stopped half-way"
        print(outcome)
        """,
        timeout=60,
    )
    if out.strip() == "not enforced":
        pytest.skip("this system does not enforce RLIMIT_AS (qemu-user ignores it)")
    if out.strip() == "no /proc":
        pytest.skip("no /proc to read the process's size from (a chroot)")
    assert out.startswith("MemoryError"), out
