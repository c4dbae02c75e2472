"""Thread hammers: many real threads released together by a Barrier."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from game_with_pyo3 import dnd, pycool

THREADS = 8
TIMEOUT = 60


@pytest.fixture(autouse=True)
def tiny_switch_interval() -> Iterator[None]:
    # Force the GIL build to switch threads constantly, so interleavings happen.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


# Pyodide has no threads (marker threads, tests/conftest.py).
pytestmark = [
    pytest.mark.threads,
    pytest.mark.thread_unsafe(reason="changes the process-wide switch interval"),
]


def hammer(work: Callable[[int], object], threads: int = THREADS) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            work(index)
        except BaseException as err:
            errors.append(err)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=TIMEOUT)
        assert not w.is_alive(), "a worker hung"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("cls", [pycool.FrozenCounter, pycool.LockCounter])
def test_counters_lose_no_update(cls: type[pycool.FrozenCounter]) -> None:
    counter = cls()
    returned: list[list[int]] = [[] for _ in range(THREADS)]
    hammer(lambda i: returned[i].extend(counter.increment() for _ in range(5_000)))
    assert counter.get() == THREADS * 5_000
    # Each increment saw its own new value: no two threads got the same one.
    assert sorted(v for chunk in returned for v in chunk) == list(range(1, THREADS * 5_000 + 1))


def test_lazy_config_initialises_once() -> None:
    for _ in range(20):
        config = pycool.LazyConfig()
        seen: list[str] = []
        hammer(lambda _, c=config, out=seen: out.append(c.get_data()))  # type: ignore[misc]
        assert seen == ["Initialized Data"] * THREADS
        assert config.initializations == 1


def test_point_moves_are_atomic() -> None:
    p = pycool.Point(0, 0)
    torn: list[tuple[float, float]] = []
    readings = [0] * THREADS  # one slot per thread: `+=` on a shared int can lose updates

    def work(index: int) -> None:
        for _ in range(2_000):
            if index % 2:
                pycool.move_point(p, 1, 1)
                continue
            x, y = p.__getnewargs__()  # both coordinates under one lock
            if x != y:
                torn.append((x, y))
            x, y = p.x, p.y  # two reads: y is read later, so it can only be ahead
            if y < x:
                torn.append((x, y))
            readings[index] += 1

    hammer(work)
    assert torn == [], f"readers saw half of a move: {torn[:5]}"
    assert sum(readings) == (THREADS // 2) * 2_000
    assert p.x == p.y == (THREADS // 2) * 2_000


def test_roller_shared_between_threads_gives_one_stream() -> None:
    shared = dnd.Roller(2024)
    per_thread: list[list[int]] = [[] for _ in range(THREADS)]
    hammer(lambda i: per_thread[i].extend(x for _ in range(200) for x in shared.roll_dice(3, 1000)))
    everything = sorted(x for chunk in per_thread for x in chunk)
    expected = sorted(dnd.Roller(2024).roll_dice(THREADS * 200 * 3, 1000))
    assert everything == expected


def test_mutual_attacks_never_deadlock_or_lose_damage() -> None:
    fighters = [dnd.Character(f"F{i}", 10_000, 14, 10) for i in range(4)]
    dealt = [0] * THREADS
    refused = [0] * THREADS
    roller = dnd.Roller(1)

    def work(index: int) -> None:
        me = fighters[index % 4]
        for turn in range(300):
            other = fighters[(index + 1 + turn) % 4]
            shared = roller if turn % 2 else None
            if other is me:
                with pytest.raises(ValueError, match="itself"):
                    me.attack(me, roller=shared)
                refused[index] += 1
                continue
            # Few enough attacks that nobody falls: every attack must go through.
            dealt[index] += me.attack(other, roller=shared).damage

    hammer(work)
    assert all(f.is_alive for f in fighters)
    lost = sum(10_000 - f.health for f in fighters)
    assert lost == sum(dealt)
    assert lost > 0
    assert sum(refused) == THREADS * 300 // 4


def test_heal_and_damage_race() -> None:
    c = dnd.Character("Tank", 10_000, 10)
    c.take_damage(5_000)

    def work(index: int) -> None:
        for _ in range(1_000):
            if index % 2:
                c.heal(1)
            else:
                c.take_damage(1)

    hammer(work)
    assert c.health == 5_000


def test_parallel_duels_agree() -> None:
    a, b = dnd.Character("A", 30, 15, 12), dnd.Character("B", 28, 13, 15)
    expected = dnd.simulate_duel(a, b, trials=2_000, seed=5, threads=1)
    results: list[tuple[int, int]] = []

    def duel(_: int) -> None:
        stats = dnd.simulate_duel(a, b, trials=2_000, seed=5, threads=2)
        results.append((stats.wins_a, stats.wins_b))

    hammer(duel, threads=4)
    assert results == [(expected.wins_a, expected.wins_b)] * 4
