"""How fast a pure-Python thread runs while a call works: the check that a call
released the interpreter (the GIL) instead of freezing every other thread."""

from __future__ import annotations

import gc
import platform
import sys
import threading
import time
from collections.abc import Callable

ON_PYPY = platform.python_implementation() == "PyPy"

# A call that releases the interpreter leaves a counting thread 0.2-0.5 of its solo speed
# here (copies into Python objects stay attached; the low end with the machine busy), a C
# call that holds the GIL as long 0.01-0.05. PyPy (7.3.19) reads lower and burstier,
# 0.15-0.3, against 0.0003 for a call there that holds its GIL. Free-threaded builds have
# no GIL to hold, and pass anyway.
BAR = 0.05 if ON_PYPY else 0.15


def share_of_a_thread_during(work: Callable[[], object]) -> float:
    """A pure-Python counting thread's speed while ``work`` runs (repeated for 0.3 s),
    as a share of its solo speed; only ticks counted during the calls count."""
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    counter.start()
    try:
        time.sleep(0.05)
        before, start = ticks, time.perf_counter()
        time.sleep(0.2)
        solo_rate = (ticks - before) / (time.perf_counter() - start)
        counted = elapsed = 0.0
        while elapsed < 0.3:
            before, start = ticks, time.perf_counter()
            work()
            elapsed += time.perf_counter() - start
            counted += ticks - before
    finally:
        stop.set()
        counter.join(timeout=10)
        sys.setswitchinterval(old_interval)
    return counted / elapsed / solo_rate


def best_share_during(work: Callable[[], object], tries: int = 3) -> float:
    """The best of up to ``tries`` readings, stopping at the first that reaches ``BAR``;
    a collection first, so that collecting the suite's garbage is not what is measured."""
    shares = []
    for _ in range(tries):
        gc.collect()
        shares.append(share_of_a_thread_during(work))
        if shares[-1] >= BAR:
            break
    return max(shares)
