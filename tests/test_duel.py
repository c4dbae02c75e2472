from __future__ import annotations

import pickle
import platform
import sys
import time
from hashlib import sha256

import pytest
from game_with_pyo3 import dnd
from isolated import run_isolated
from threadshare import BAR, best_share_during

ON_PYPY = platform.python_implementation() == "PyPy"


def pair() -> tuple[dnd.Character, dnd.Character]:
    return dnd.Character("Fighter", 30, 16, 12, 14), dnd.Character("Rogue", 24, 10, 18, 12)


def test_statistics_are_consistent() -> None:
    a, b = pair()
    stats = dnd.simulate_duel(a, b, trials=5_000, seed=1)
    assert stats.trials == 5_000
    assert stats.wins_a + stats.wins_b == 5_000
    assert sum(stats.rounds.values()) == 5_000
    mean = sum(r * n for r, n in stats.rounds.items()) / 5_000
    assert stats.mean_rounds == pytest.approx(mean)
    assert min(stats.rounds) >= 1
    assert stats.win_rate_a == pytest.approx(stats.wins_a / 5_000)


def test_originals_are_untouched() -> None:
    a, b = pair()
    a.take_damage(3)
    b.defend()
    before = (repr(a), repr(b), b.is_defending)
    dnd.simulate_duel(a, b, trials=1_000, seed=2)
    assert (repr(a), repr(b), b.is_defending) == before


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_same_seed_same_result_whatever_the_thread_count(threads: int) -> None:
    a, b = pair()
    reference = dnd.simulate_duel(a, b, trials=3_001, seed=77, threads=1)
    stats = dnd.simulate_duel(a, b, trials=3_001, seed=77, threads=threads)
    assert (stats.wins_a, stats.wins_b, stats.rounds) == (
        reference.wins_a,
        reference.wins_b,
        reference.rounds,
    )


def test_stronger_side_wins_more() -> None:
    ogre = dnd.Character("Ogre", 80, 20, 8)
    kobold = dnd.Character("Kobold", 8, 6, 14)
    stats = dnd.simulate_duel(ogre, kobold, trials=2_000, seed=3)
    assert stats.wins_a > 1_950
    swapped = dnd.simulate_duel(kobold, ogre, trials=2_000, seed=3)
    assert swapped.wins_b > 1_950


@pytest.mark.threads
@pytest.mark.thread_unsafe(reason="measures how fast a thread runs; needs the CPU to itself")
def test_runs_without_holding_the_interpreter() -> None:
    # Only what a counting thread manages during the duel counts: one that kept the
    # interpreter would leave it nothing until it returned.
    a, b = dnd.Character("Wall", 10_000, 1, 1), dnd.Character("Wall2", 10_000, 1, 1)
    started = time.perf_counter()
    dnd.simulate_duel(a, b, trials=2_000, seed=0, threads=1)
    assert time.perf_counter() - started > 0.01, "the workload is too small to tell"
    share = best_share_during(lambda: dnd.simulate_duel(a, b, trials=2_000, seed=0, threads=1))
    assert share >= BAR, f"during a duel, another thread ran at {share:.1%} speed"


def test_pickle() -> None:
    stats = dnd.simulate_duel(*pair(), trials=100, seed=1)
    again = pickle.loads(pickle.dumps(stats))
    assert (again.trials, again.wins_a, again.rounds, again.mean_rounds) == (
        stats.trials,
        stats.wins_a,
        stats.rounds,
        stats.mean_rounds,
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"trials": 0}, ValueError, "trials"),
        ({"trials": -5}, ValueError, "trials"),
        ({"trials": 10**9}, ValueError, "trials"),
        ({"threads": 0}, ValueError, "threads"),
        ({"threads": 100_000}, ValueError, "threads"),
        ({"seed": -1}, OverflowError, "seed"),
        ({"seed": 2**64}, OverflowError, "seed"),
        ({"trials": 1.5}, TypeError, "trials"),
        ({"threads": "2"}, TypeError, "threads"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        dnd.simulate_duel(*pair(), **kwargs)  # type: ignore[arg-type]


def test_fallen_or_wrong_combatants() -> None:
    a, b = pair()
    b.take_damage(1_000)
    with pytest.raises(ValueError, match="fallen"):
        dnd.simulate_duel(a, b)
    with pytest.raises(TypeError):
        dnd.simulate_duel(a, "Rogue")  # type: ignore[arg-type]


@pytest.mark.subprocess
def test_ctrl_c_cancels_a_duel_with_keyboard_interrupt() -> None:
    # CPython runs the Ctrl-C handler when the duel polls for signals: the duel stops
    # at once. PyPy (checked on 7.3.19) runs it only once the call returns: the
    # KeyboardInterrupt still arrives, after a duel short enough to wait for.
    trials = 50_000 if ON_PYPY else 100_000_000
    out = run_isolated(
        f"""
        import _thread, signal, threading, time

        from game_with_pyo3 import dnd

        # Python's Ctrl-C handler, even when this process started with SIGINT ignored (as
        # a background job of a shell is): interrupt_main does nothing without it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        wall = dnd.Character("Wall", 10_000, 1, 1)  # duels that last thousands of rounds
        threading.Timer(0.1, _thread.interrupt_main).start()  # Ctrl-C, on every platform
        start = time.perf_counter()
        try:
            dnd.simulate_duel(wall, wall, trials={trials}, seed=1, threads=2)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", time.perf_counter() - start)
        """,
        timeout=120,
    )
    name, seconds = out.split()
    assert name == "KeyboardInterrupt"
    if not ON_PYPY:
        assert float(seconds) < 30


@pytest.mark.subprocess
def test_a_panicking_worker_is_reported_as_a_bug_not_a_cancellation() -> None:
    # _simulate_duel_panicking_at is a test-only hook in the native module: the same
    # path as simulate_duel, with a worker that panics just before the given trial.
    out = run_isolated(
        """
        import time

        from game_with_pyo3 import _core, dnd

        wall = dnd.Character("Wall", 10_000, 1, 1)
        start = time.perf_counter()
        try:
            _core._simulate_duel_panicking_at(
                wall, wall, panic_at=1_000, trials=100_000_000, threads=2
            )
        except RuntimeError as err:
            print(f"{time.perf_counter() - start}|{err}")
        """,
        timeout=120,
    )
    seconds, message = out.strip().split("|")
    assert message == (
        "internal error in game_with_pyo3 (a bug; please report it): "
        "a duel worker panicked: test-only fault injected at trial 1000"
    )
    assert float(seconds) < 30, "the other workers kept going after one panicked"


@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS caps mappings on Linux")
@pytest.mark.skipif(sys.maxsize < 2**32, reason="a 1 TiB thread stack needs 64-bit sizes")
@pytest.mark.parametrize(
    "stack",
    [
        pytest.param(2**40, id="no-thread-starts"),
        pytest.param(2**32, id="some-threads-start"),
    ],
)
def test_work_goes_on_when_threads_cannot_be_started(stack: int) -> None:
    # Every Rust thread asks for a `stack`-byte stack (RUST_MIN_STACK) in an address
    # space capped at 16 GiB above what the process has mapped, while ordinary
    # allocations still fit. With 1 TiB stacks the system refuses every thread the
    # library would start; with 4 GiB stacks it starts a few and refuses the rest. The
    # calling thread then does the work of the threads it could not start: the same
    # statistics and dice, no panic, a panic in its own share or a started worker's
    # reported as a bug, and Ctrl-C still cancels.
    a = dnd.Character("Fighter", 30, 16, 12, 14)
    b = dnd.Character("Rogue", 24, 10, 18, 12)
    duel = dnd.simulate_duel(a, b, trials=20_000, seed=5, threads=1)
    expected = [
        repr((duel.wins_a, duel.wins_b, duel.rounds)).replace(" ", ""),
        sha256(bytes(dnd.roll_dice(1_000_000, 6, seed=5))).hexdigest(),
        sha256(dnd.roll_dice_array(2_000_000, 6, seed=5, threads=1)).hexdigest(),
    ]
    out = run_isolated(
        """
        import _thread, mmap, os, resource, signal, sys, threading
        from hashlib import sha256

        from game_with_pyo3 import _core, dnd

        try:
            with open("/proc/self/status") as status:
                size = next(int(l.split()[1]) for l in status if l.startswith("VmSize:"))
        except FileNotFoundError:
            print("no /proc")  # a chroot without it (the rehearsal's Debian roots)
            sys.exit(0)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (size * 1024 + 2**34, hard))
        try:
            # Reserves address space only: refused under the cap, granted without it.
            mmap.mmap(-1, 2**40, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
        except OSError:
            print("capped")
        else:
            print("not enforced")  # qemu-user ignores the cap
            sys.exit(0)

        signal.signal(signal.SIGINT, signal.default_int_handler)
        a = dnd.Character("Fighter", 30, 16, 12, 14)
        b = dnd.Character("Rogue", 24, 10, 18, 12)
        duel = dnd.simulate_duel(a, b, trials=20_000, seed=5, threads=256)
        print(repr((duel.wins_a, duel.wins_b, duel.rounds)).replace(" ", ""))
        print(sha256(bytes(dnd.roll_dice(1_000_000, 6, seed=5))).hexdigest())
        print(sha256(dnd.roll_dice_array(2_000_000, 6, seed=5, threads=256)).hexdigest())

        wall = dnd.Character("Wall", 10_000, 1, 1)
        try:
            _core._simulate_duel_panicking_at(wall, wall, panic_at=1_000, trials=5_000, threads=4)
        except RuntimeError as err:
            print("internal" if "a duel worker panicked" in str(err) else err)

        def interrupt():
            # This process's threads: this one, the timer's and the started workers.
            print(len(os.listdir("/proc/self/task")) - 2)
            _thread.interrupt_main()

        threading.Timer(0.2, interrupt).start()
        try:
            dnd.simulate_duel(wall, wall, trials=100_000_000, seed=1, threads=256)
        except KeyboardInterrupt:
            print("cancelled")
        """,
        timeout=120,
        env={"RUST_MIN_STACK": str(stack)},
    )
    if out.strip() in ("no /proc", "not enforced"):
        pytest.skip(f"cannot cap this process's address space here: {out.strip()}")
    *lines, started, cancelled = out.split()
    assert lines == ["capped", *expected, "internal"]
    assert cancelled == "cancelled"
    if stack == 2**40:
        assert started == "0"
    else:
        assert 0 < int(started) < 256, f"{started} of 256 workers started"
