#!/usr/bin/env python3
"""Benchmarks: game_with_pyo3 against pure Python and NumPy, interleaved, in fresh processes.

    bench.py [--quick] [--rounds N] [--workers N] [--sample SECONDS] [--max-spread F]
             [--against PREVIOUS.json] [--wheel PATH] [--json PATH] [--plot PATH]
             [--table PATH] [--build-times]

Every comparison runs ours and its baseline alternately, A B then B A, after a warm-up
of each. Its --rounds rounds (21) are shared out among --workers fresh interpreters run
one after another (21: one round each), so what differs from one process to the next
(where code and memory land, what the allocator did before) and from one minute to the
next on a shared machine is inside the spread rather than between two runs. A figure
is the median of all the per-round ratios (random.randint's list, 270 ms a call, is
timed in every third round and a thread beside a duel in every fourth); its spread is
their interquartile range
(the middle half of the rounds). When a ratio's spread is wider than --max-spread of
its median (25%), the machine was too noisy to trust: the run says so, writes nothing,
and exits with status 2. A missed target is reported as MISSED with the ratio.

--against names the results of the run before (a --json file) on the same machine,
CPython, build and settings. The run then checks that every ratio's range overlaps
that run's, and publishes both runs' rounds together if every figure so made lies
inside both runs' ranges (a target counts as met only if each run meets it too). Its
results keep each run's own figures, machine and command, and any disagreement; a
run that disagrees says which figures did, publishes its own, and exits with status 3.

--quick uses tiny sizes and few rounds so the test suite can smoke-run the program;
its figures mean nothing, and it writes its results whatever their spread.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import statistics
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import game_with_pyo3
from game_with_pyo3 import _core, dnd
from pure_python import PyCharacter, duel, roll_notation

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One measured figure. For a ratio figure, `ratio` is the median of the per-round
    ratios and `low`..`high` their interquartile range, `ours` and `baseline` the
    medians of the per-round times (per trial, for a duel); for a measured value
    (memory, size, time), `ratio` is the median value and `low`..`high` its range over
    repeats. `goal` is the target as a number: a ratio at least it ("speed-up",
    "share") or at most it ("cost")."""

    name: str
    kind: str  # "speed-up" (baseline / ours), "cost" (ours / baseline) or "value"
    ours: float
    baseline: float
    unit: str
    ratio: float
    low: float
    high: float
    target: str
    met: bool | None
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # the per-round ratios or values
    ours_times: list[float] = field(default_factory=list)
    baseline_times: list[float] = field(default_factory=list)
    goal: float | None = None

    @property
    def spread(self) -> float:
        """The spread's width relative to the median."""
        return (self.high - self.low) / self.ratio if self.ratio else 0.0


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, median, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, median, high


def timed(func: Callable[[], object], number: int, *, warm: bool = False) -> float:
    """Seconds per call of `func`, over `number` calls; the result is dropped (and
    freed) inside the timing, for ours and the baseline alike. With `warm`, one
    untimed call comes first."""
    if warm:
        func()
    start = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - start) / number


class Pair:
    """Ours and its baseline, timed a round at a time (`round`), with the garbage
    collector paused during a round as `timeit` does.

    The first round starts with one warm-up call of each side and sizes the slices. A
    round times each side for about `SAMPLE_SECONDS` (unless `*_number` gives the
    calls), in `SLICES` alternating slices — A B, B A, A B, B A — so that a burst of
    another process's work lands on both sides rather than on one. Every slice of a
    call shorter than `WARM_BELOW` starts with one untimed call, so each side is timed
    in its own steady state: without it a 1-million-element list costs 3.8 or 5.7 ms
    here depending on whether its 8 MB were still cached from the call before (the
    other side's work evicts them), and ratios came out bimodal."""

    def __init__(
        self,
        ours: Callable[[], object],
        baseline: Callable[[], object],
        *,
        ours_number: int | None = None,
        baseline_number: int | None = None,
    ) -> None:
        self.calls = ((ours, ours_number), (baseline, baseline_number))
        self.sides: list[tuple[Callable[[], object], int, bool]] = []
        self.ours_times: list[float] = []
        self.baseline_times: list[float] = []

    def round(self) -> None:
        if not self.sides:
            for func, _ in self.calls:
                func()
            for func, number in self.calls:
                per_slice = math.ceil((number or calls_per_sample(func)) / SLICES)
                self.sides.append((func, per_slice, timed(func, 1) < WARM_BELOW))
        spent = [0.0, 0.0]
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for slice_number in range(SLICES):
                order = (0, 1) if slice_number % 2 == 0 else (1, 0)
                for side in order:
                    func, per_slice, warm = self.sides[side]
                    spent[side] += timed(func, per_slice, warm=warm)
        finally:
            if gc_was_enabled:
                gc.enable()
        self.ours_times.append(spent[0] / SLICES)
        self.baseline_times.append(spent[1] / SLICES)


@dataclass
class Plan:
    """One figure to measure: `measure` takes one more round of it (in every `every`th
    round of a run, counted over all its measuring processes), `figure` makes the
    figure of the rounds taken."""

    measure: Callable[[], None]
    figure: Callable[[], Figure]
    every: int = 1


def paired(
    name: str,
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    every: int = 1,
    **options: Any,
) -> Plan:
    """The plan of a figure comparing `ours` with `baseline` (`options` as `compare`)."""
    pair = Pair(ours, baseline)
    figure = lambda: compare(name, pair.ours_times, pair.baseline_times, **options)  # noqa: E731
    return Plan(pair.round, figure, every)


def run_plans(plans: list[Plan], rounds: int, first: int = 0) -> list[Figure]:
    """Every round of a figure, then every round of the next: rounds `first` to
    `first + rounds - 1` of the run. A figure none of them takes is left out.

    Round-robin (round 1 of every figure, then round 2, ...) was tried, to spread a
    busy spell of the machine over every figure, and dropped: the other figures' big
    lists and arrays left the heap fragmented, and a list growing as the dice come in
    (`roll_dice` on two cores) then cost 1.3-1.6x the floor, which a list made at its
    final size in one allocation does not feel."""
    taken = []
    for plan in plans:
        numbers = [n for n in range(first, first + rounds) if n % plan.every == 0]
        for _ in numbers:
            plan.measure()
        if numbers:
            taken.append(plan.figure())
    return taken


SLICES = 4
SAMPLE_SECONDS = 0.05  # --sample
# Calls this long are timed as they come: cache state is noise next to their length.
WARM_BELOW = 0.05


def calls_per_sample(func: Callable[[], object]) -> int:
    """Calls that take at least SAMPLE_SECONDS, found as `timeit.autorange` does: time
    1, 10, 100, ... calls until a batch lasts a tenth of that, then scale up."""
    number = 1
    while True:
        per_call = timed(func, number)
        if per_call * number >= SAMPLE_SECONDS / 10:
            return max(1, math.ceil(SAMPLE_SECONDS / per_call))
        number *= 10


def judged(figure: Figure) -> Figure:
    """`figure` with its ratio, range, times and verdict worked out from its rounds."""
    figure.low, figure.ratio, figure.high = quartiles(figure.rounds)
    figure.ours = statistics.median(figure.ours_times)
    figure.baseline = statistics.median(figure.baseline_times)
    if figure.goal is None:
        figure.met = None
    elif figure.kind == "cost":
        figure.met = figure.ratio <= figure.goal
    else:
        figure.met = figure.ratio >= figure.goal
    return figure


def compare(
    name: str,
    ours_times: list[float],
    baseline_times: list[float],
    *,
    kind: str = "speed-up",
    target: float | None = None,
    scale: float = 1.0,
    per: float = 1.0,
    note: str = "",
) -> Figure:
    """A ratio figure from interleaved times; `scale` multiplies each baseline time (to
    compare per trial when the two sides ran different numbers of trials), and both
    sides' times are divided by `per` (to show them per trial)."""
    ours = [o / per for o in ours_times]
    baseline = [b * scale / per for b in baseline_times]
    pairs = list(zip(ours, baseline, strict=True))
    if kind == "speed-up":
        ratios = [b / o for o, b in pairs]
        goal = "-" if target is None else f">= {target:g}x faster"
    else:
        ratios = [o / b for o, b in pairs]
        goal = "-" if target is None else f"<= {target:g}x the baseline"
    figure = Figure(name, kind, 0.0, 0.0, "s", 0.0, 0.0, 0.0, goal, None, note)
    figure.rounds, figure.ours_times, figure.baseline_times = ratios, ours, baseline
    figure.goal = target
    return judged(figure)


def value(
    name: str, samples: list[float], unit: str, *, target: str, met: bool | None, note: str = ""
) -> Figure:
    low, median, high = (
        (min(samples), statistics.median(samples), max(samples)) if samples else (0, 0, 0)
    )
    return Figure(name, "value", median, 0.0, unit, median, low, high, target, met, note, samples)


def plan_roll_dice(n: int) -> list[Plan]:
    """roll_dice against the floor, random.randint and NumPy; roll_dice_array against
    NumPy. Big rolls are drawn on all cores by default: the `threads=1` rows show the
    same calls on one core."""
    one_core = "one core: the dice are drawn on this thread only"
    ours_list = lambda: dnd.roll_dice(n, 20)  # noqa: E731
    ours_list_1 = lambda: dnd.roll_dice(n, 20, threads=1)  # noqa: E731
    floor = lambda: list(bytes(n))  # noqa: E731
    against_floor = paired(
        f"roll_dice({n:_}, 20) list vs the floor list(bytes(n))",
        ours_list,
        floor,
        kind="cost",
        target=1.3,
        note="the floor is the cost of merely building a list of n small ints",
    )
    plans = [against_floor]
    plans.append(
        paired(
            f"roll_dice({n:_}, 20, threads=1) list vs the floor",
            ours_list_1,
            floor,
            kind="cost",
            note=one_core,
        )
    )
    rng = random.Random(1)
    randint = lambda: [rng.randint(1, 20) for _ in range(n)]  # noqa: E731
    plans.append(
        paired(
            f"roll_dice({n:_}, 20) list vs random.randint list",
            ours_list,
            randint,
            every=3,
            target=100,
        )
    )
    try:
        import numpy as np
    except ImportError:
        print("  (NumPy not installed: NumPy comparisons skipped)", file=sys.stderr)
        return plans
    gen = np.random.default_rng()
    numpy_ints = lambda: gen.integers(1, 21, n)  # noqa: E731
    ours_array_1 = lambda: dnd.roll_dice_array(n, 20, threads=1)  # noqa: E731
    for name, ours, baseline, options in (
        (
            f"roll_dice({n:_}, 20) list vs NumPy integers().tolist()",
            ours_list,
            lambda: gen.integers(1, 21, n).tolist(),
            {"target": 2},
        ),
        (
            f"roll_dice_array({n:_}, 20) vs NumPy integers(1, 21, n)",
            lambda: dnd.roll_dice_array(n, 20),
            numpy_ints,
            {"target": 2, "note": "NumPy's default dtype is int64; ours is uint8 (typecode 'B')"},
        ),
        (
            f"roll_dice_array({n:_}, 20, threads=1) vs NumPy integers(1, 21, n)",
            ours_array_1,
            numpy_ints,
            {"note": one_core},
        ),
        (
            f"roll_dice_array({n:_}, 20, threads=1) vs NumPy integers(..., dtype=uint8)",
            ours_array_1,
            lambda: gen.integers(1, 21, n, dtype=np.uint8),
            {"note": "like for like: one core and one byte per die on both sides"},
        ),
    ):
        plans.append(paired(name, ours, baseline, **options))
    return plans


def plan_per_call() -> list[Plan]:
    rng = random.Random(2)
    roller = dnd.Roller(3)
    a, b = dnd.Character("A", 10_000, 14, 12), dnd.Character("B", 10_000, 12, 14)
    pa, pb = PyCharacter("A", 10_000, 14, 12), PyCharacter("B", 10_000, 12, 14)

    def attack_ours() -> None:
        a.attack(b, roller=roller)
        b.heal(100)

    def attack_pure() -> None:
        pa.attack(pb, rng)
        pb.health = min(pb.health + 100, 10_000)

    cases: list[tuple[str, Callable[[], object], Callable[[], object], float]] = [
        (
            'roll("4d6kh3") per call',
            lambda: dnd.roll("4d6kh3"),
            lambda: roll_notation("4d6kh3", rng),
            5,
        ),
        (
            "Roller.roll_dice(3, 6) per call",
            lambda: roller.roll_dice(3, 6),
            lambda: [rng.randint(1, 6) for _ in range(3)],
            5,
        ),
        ("Character.attack per call (with a heal)", attack_ours, attack_pure, 3),
    ]
    return [paired(name, ours, pure, target=target) for name, ours, pure, target in cases]


def plan_duel(trials: int, pure_trials: int) -> list[Plan]:
    a, b = dnd.Character("A", 30, 16, 12), dnd.Character("B", 24, 10, 18)
    pa, pb = PyCharacter("A", 30, 16, 12), PyCharacter("B", 24, 10, 18)
    one = lambda: dnd.simulate_duel(a, b, trials=trials, seed=1, threads=1)  # noqa: E731
    two = lambda: dnd.simulate_duel(a, b, trials=trials, seed=1, threads=2)  # noqa: E731
    per_trial = paired(
        f"simulate_duel, 1 thread, per trial ({trials:_} trials)",
        one,
        lambda: duel(pa, pb, pure_trials, 1),
        target=150,
        scale=trials / pure_trials,
        per=trials,
        note=f"pure Python ran {pure_trials:_} trials per round",
    )
    scaling = paired("simulate_duel scaling 1 -> 2 threads", two, one, target=1.8)
    return [per_trial, scaling, background_thread_share(a, b, trials)]


def background_thread_share(a: dnd.Character, b: dnd.Character, trials: int) -> Plan:
    """A pure-Python thread's throughput while a 1-thread duel runs, over its solo
    throughput measured just before, every fourth round."""

    def spin(seconds: float) -> float:
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            count += 1
        return count / seconds

    def beside_a_duel() -> float:
        result: list[float] = []
        stop = threading.Event()

        def keep_dueling() -> None:
            while not stop.is_set():
                dnd.simulate_duel(a, b, trials=max(trials // 10, 100), seed=3, threads=1)

        duel_thread = threading.Thread(target=keep_dueling)
        duel_thread.start()
        time.sleep(0.05)
        worker = threading.Thread(target=lambda: result.append(spin(0.3)))
        worker.start()
        worker.join()
        stop.set()
        duel_thread.join()
        return result[0]

    shares: list[float] = []

    def figure() -> Figure:
        return judged(
            Figure(
                "pure-Python thread beside a duel: share of solo throughput",
                "share",
                0.0,
                1.0,
                "ratio",
                0.0,
                0.0,
                0.0,
                ">= 0.80",
                None,
                rounds=shares,
                ours_times=shares,
                baseline_times=[1.0] * len(shares),
                goal=0.8,
            )
        )

    return Plan(lambda: shares.append(beside_a_duel() / spin(0.3)), figure, every=4)


def peak_rss_mib(code: str) -> float:
    """Peak RSS of a fresh interpreter running `code`, minus one that only imports.

    Read from the child's own VmHWM: `ru_maxrss` of a child started by vfork and exec
    also counts the parent's peak, so a big benchmark process would hide the child's."""
    probe = (
        "import game_with_pyo3\nfrom game_with_pyo3 import dnd\n{}\n"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')))"
    )

    def run(body: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", probe.format(body)], check=True, capture_output=True, text=True
        ).stdout
        return int(out.split()[-2])  # "VmHWM:  12345 kB"

    return (run(code) - run("pass")) / 1024


def bench_memory(quick: bool, repeats: int) -> list[Figure]:
    if sys.platform != "linux":
        print("  (peak RSS is measured on Linux only: memory figures skipped)")
        return []
    small, large = (1_000, 20_000) if quick else (10_000, 1_000_000)
    duel_code = (
        "a = dnd.Character('A', 30, 16, 12); b = dnd.Character('B', 24, 10, 18)\n"
        "dnd.simulate_duel(a, b, trials={}, seed=1, threads=2)"
    )
    growth = [
        peak_rss_mib(duel_code.format(large)) - peak_rss_mib(duel_code.format(small))
        for _ in range(repeats)
    ]
    n = 100_000 if quick else dnd.MAX_DICE
    list_mib = (sys.getsizeof([]) + n * struct.calcsize("P")) / 2**20
    list_multiples = [
        peak_rss_mib(f"x = dnd.roll_dice({n}, 20)") / list_mib for _ in range(repeats)
    ]
    array_multiples = [
        peak_rss_mib(f"x = dnd.roll_dice_array({n}, 20)") / (n / 2**20) for _ in range(repeats)
    ]
    worst_growth = max(growth)
    return [
        value(
            f"simulate_duel peak RSS growth, {small:_} -> {large:_} trials",
            growth,
            "MiB",
            target="does not grow (< 2 MiB)",
            met=worst_growth < 2,
        ),
        value(
            f"roll_dice({n:_}, 20) peak RSS / the list's own size ({list_mib:.3g} MiB)",
            list_multiples,
            "x",
            target="small multiple (<= 2x)",
            met=max(list_multiples) <= 2,
        ),
        value(
            f"roll_dice_array({n:_}, 20) peak RSS / the array's own size ({n / 2**20:.3g} MiB)",
            array_multiples,
            "x",
            target="<= 1.2x the array",
            met=max(array_multiples) <= 1.2,
            note="the dice are drawn straight into the array's own buffer",
        ),
    ]


def package_figures(wheel: Path | None, build_times: bool) -> list[Figure]:
    figures = []
    if wheel is None:
        places = [ROOT / ".rehearsal" / "dist", ROOT / "target" / "test-wheels", ROOT / "dist"]
        this_os = {"linux": "linux", "darwin": "macosx", "win32": "win"}.get(sys.platform, "")
        found = [
            w
            for place in places
            for w in sorted(
                place.glob(f"*-cp310-abi3-*{this_os}*{platform.machine().lower()}*.whl")
            )
        ]
        wheel = found[0] if found else None
    if wheel is None:
        print(
            "  (no abi3 wheel for this platform found: pass --wheel, "
            "or run `python3 scripts/dev.py rehearse`)"
        )
    else:
        size = wheel.stat().st_size / 1000
        figures.append(
            value(
                f"abi3 wheel size ({wheel.name})",
                [size],
                "KB",
                target="<= 400 KB",
                met=size <= 400,
            )
        )
    runs = []
    for _ in range(7):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import game_with_pyo3"],
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        line = next(
            ln for ln in reversed(out.splitlines()) if ln.rstrip().endswith("game_with_pyo3")
        )
        runs.append(int(line.split("|")[1]) / 1000)
    figures.append(
        value(
            "import game_with_pyo3 (cumulative, -X importtime)",
            runs,
            "ms",
            target="<= 10 ms",
            met=statistics.median(runs) <= 10,
        )
    )
    if build_times:
        figures += timed_builds()
    return figures


def timed_builds() -> list[Figure]:
    target_dir = ROOT / "target" / "bench-clean"
    subprocess.run(
        ["cargo", "clean", "--target-dir", str(target_dir)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    def timed_build() -> float:
        start = time.perf_counter()
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "--lib", "--target-dir", str(target_dir)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start

    clean = timed_build()
    os.utime(ROOT / "src" / "lib.rs")
    incremental = timed_build()
    return [
        value("clean release build (fat LTO)", [clean], "s", target="-", met=None),
        value("rebuild after touching src/lib.rs", [incremental], "s", target="-", met=None),
    ]


def machine() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        pass
    else:
        models = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.splitlines()
            if ln.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}"
        + (" (free-threaded)" if free_threaded else ""),
        "game_with_pyo3": game_with_pyo3.__version__,
        "native module": Path(_core.__file__ or "").name,
        "load average at start": load_average(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def fmt(seconds_or_value: float, unit: str) -> str:
    if unit != "s":
        return f"{seconds_or_value:.3g} {unit}"
    for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if seconds_or_value >= scale:
            return f"{seconds_or_value / scale:.3g} {suffix}"
    return f"{seconds_or_value:.3g} s"


def num(x: float) -> str:
    """A ratio with two decimals below 10 (1.30, not 1.3, so 1.302 does not read as
    meeting "<= 1.3"), three significant digits above."""
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.3g}"


def ratio_text(f: Figure) -> str:
    if f.kind == "value":
        if f.low == f.high:
            return fmt(f.ratio, f.unit)
        return f"{fmt(f.ratio, f.unit)} ({f.low:.3g}-{f.high:.3g})"
    suffix = "x" if f.kind != "share" else ""
    return f"{num(f.ratio)}{suffix} ({num(f.low)}-{num(f.high)})"


def status(f: Figure) -> str:
    if f.met is None:
        return ""
    return "met" if f.met else f"MISSED ({f.ratio:.4g})"


def table(figures: list[Figure], markdown: bool) -> str:
    rows = [
        (
            f.name,
            "" if f.kind == "value" else fmt(f.ours, f.unit),
            "" if f.kind in ("value", "share") else fmt(f.baseline, f.unit),
            ratio_text(f),
            f.target,
            status(f),
        )
        for f in figures
    ]
    head = ("benchmark", "ours", "baseline", "median (spread)", "target", "")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows
        ]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [head, *rows]
    )


def plot(figures: list[Figure], info: dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed = [f for f in figures if f.kind == "speed-up"]
    costs = [f for f in figures if f.kind == "cost"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 1]})
    names = [f.name[:64] for f in speed]
    colours = ["grey" if f.met is None else "tab:green" if f.met else "tab:red" for f in speed]
    errors = [[f.ratio - f.low for f in speed], [f.high - f.ratio for f in speed]]
    left.barh(names, [f.ratio for f in speed], color=colours, xerr=errors, capsize=3)
    for i, f in enumerate(speed):
        if f.target != "-":
            goal = float(f.target.split()[1].rstrip("x"))
            left.plot([goal, goal], [i - 0.4, i + 0.4], color="black", linewidth=1)
        left.text(f.high, i, f"  {f.ratio:.3g}x", va="center", fontsize=8)
    left.set_xscale("log")
    left.invert_yaxis()
    left.set_xlabel("speed-up over the baseline, median and interquartile range (log scale)")
    for i, f in enumerate(costs):
        right.bar(
            i,
            f.ratio,
            color="grey" if f.met is None else "tab:green" if f.met else "tab:red",
            yerr=[[f.ratio - f.low], [f.high - f.ratio]],
            capsize=3,
        )
        if f.target != "-":
            goal = float(f.target.split()[1].rstrip("x"))
            right.plot([i - 0.4, i + 0.4], [goal, goal], color="black", linewidth=1)
        right.text(i, f.high, f"{f.ratio:.3g}x", ha="center", va="bottom", fontsize=8)
    right.set_xticks(
        range(len(costs)),
        ["threads=1" if "threads=1" in f.name else "default" for f in costs],
        fontsize=8,
    )
    right.set_title("roll_dice list\nvs list(bytes(n))", fontsize=9)
    right.set_ylabel("cost over the floor (lower is better)")
    right.set_ylim(0, max([2.0, *(f.high * 1.15 for f in costs)]))
    fig.suptitle(
        f"game_with_pyo3 {info['game_with_pyo3']}, {info['python']} on {info['cpu']} "
        f"({info['cores']} cores); black tick = target",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# The environment of every measuring process. glibc's malloc moves its mmap threshold as
# big blocks come and go, and NumPy asks for huge pages for arrays of 4 MiB or more: so
# an 8 MiB result came from fresh pages, which fault in one by one, in some processes
# and from reused heap memory in others, and NumPy's integers(1, 21, n) cost 2.6 ms in
# one process and 4.0 ms in the next. With the threshold fixed above the benchmarks'
# biggest blocks and huge-page advice off, every process reuses its heap: each side is
# timed in its steady state, NumPy at its fastest here.
WORKER_ENVIRONMENT = {
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728",
    "NUMPY_MADVISE_HUGEPAGE": "0",
}


def speed_figures(quick: bool, rounds: int, first: int) -> list[Figure]:
    """Every figure timed side by side that rounds `first` to `first + rounds - 1` of
    the run take, measured in this process."""
    plans = [
        *plan_roll_dice(10_000 if quick else 1_000_000),
        *plan_per_call(),
        *plan_duel(2_000 if quick else 100_000, 100 if quick else 2_000),
    ]
    return run_plans(plans, rounds, first)


def measure_in_workers(quick: bool, per_worker: int, workers: int) -> list[Figure]:
    """`speed_figures` in `workers` fresh interpreters run one after another,
    `per_worker` rounds each, pooled into one figure each. A measuring process that
    fails, or runs without `WORKER_ENVIRONMENT` or with another build of the package
    than this process, stops the run."""
    runs = []
    for number in range(workers):
        print(f"measuring process {number + 1} of {workers}", flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "figures.json"
            command = [sys.executable, __file__, "--worker", str(out), "--rounds", str(per_worker)]
            command += ["--first-round", str(number * per_worker), "--sample", str(SAMPLE_SECONDS)]
            done = subprocess.run(
                command + (["--quick"] if quick else []),
                check=False,
                env={**os.environ, **WORKER_ENVIRONMENT},
            )
            if done.returncode != 0:
                raise SystemExit(
                    f"measuring process {number + 1} failed with status {done.returncode} "
                    "(its output is above)"
                )
            report = json.loads(out.read_text())
        if report["environment"] != WORKER_ENVIRONMENT or report["module"] != _core.__file__:
            raise SystemExit(
                f"measuring process {number + 1} ran with {report['environment']} and "
                f"{report['module']}, not {WORKER_ENVIRONMENT} and {_core.__file__}"
            )
        runs.append([Figure(**f) for f in report["figures"]])
    return with_notes(pooled(runs))


def worker_report(quick: bool, rounds: int, first: int) -> dict[str, object]:
    """What a measuring process hands back: its figures, and what it ran with."""
    return {
        "figures": [asdict(f) for f in speed_figures(quick, rounds, first)],
        "environment": {key: os.environ.get(key) for key in WORKER_ENVIRONMENT},
        "module": _core.__file__,
    }


def pooled(runs: list[list[Figure]]) -> list[Figure]:
    """One figure per benchmark from several processes' or runs' figures, all their
    rounds, in the order they first appear; a figure some of them lack comes from the
    others. A value (memory, size, import time) is the last one's."""
    by_name: dict[str, list[Figure]] = {}
    for run in runs:
        for figure in run:
            by_name.setdefault(figure.name, []).append(figure)
    figures = []
    for name, same in by_name.items():
        if len({f.kind for f in same}) != 1:
            raise ValueError(f"{name}: measured as different kinds of figure")
        figure = replace(same[-1])
        if figure.kind != "value":
            figure.rounds = [r for f in same for r in f.rounds]
            figure.ours_times = [t for f in same for t in f.ours_times]
            figure.baseline_times = [t for f in same for t in f.baseline_times]
            judged(figure)
        figures.append(figure)
    return figures


def with_notes(figures: list[Figure]) -> list[Figure]:
    """Notes that need more than one figure: the ceiling that the floor's cost sets on
    any list against `random.randint` (both medians of the same rounds' baselines)."""
    floor = next((f for f in figures if f.name.endswith("list vs the floor list(bytes(n))")), None)
    for figure in figures:
        if floor is not None and figure.name.endswith("list vs random.randint list"):
            ceiling = figure.baseline / floor.baseline
            figure.note = f"no list can beat the floor: the ceiling here is {ceiling:.0f}x"
    return figures


def together(before: list[Figure], now: list[Figure]) -> list[Figure]:
    """This run's figures with both runs' rounds of each ratio pooled. A target counts
    as met only if the rounds together and each run alone meet it."""
    earlier = {f.name: f for f in before if f.kind != "value"}
    figures = with_notes(
        [
            pooled([[earlier[f.name]], [f]])[0] if f.kind != "value" and f.name in earlier else f
            for f in now
        ]
    )
    this_run = {f.name: f for f in now}
    for figure in figures:
        if figure.kind == "value" or figure.name not in earlier or not figure.met:
            continue
        if not (earlier[figure.name].met and this_run[figure.name].met):
            figure.met = False
            missed = "met by both runs' rounds together, not by each run alone"
            figure.note = f"{figure.note}; {missed}" if figure.note else missed
    return figures


def disagreements(
    before: list[Figure], now: list[Figure], published: list[Figure], max_spread: float
) -> list[str]:
    """How two runs in a row disagree: a ratio one of them lacks, ratios whose ranges do
    not overlap, or a published ratio (both runs' rounds together) outside either
    run's range or with too wide a spread. Values (memory, size, import time) are not
    compared."""
    runs = {"the run before": before, "this run": now}
    ratios = [{f.name: f for f in run if f.kind != "value"} for run in runs.values()]
    found = [
        f"{name}: not in {label}"
        for label, run in zip(runs, ratios, strict=True)
        for name in set().union(*ratios) - run.keys()
    ]
    for figure in published:
        if figure.kind == "value" or not all(figure.name in run for run in ratios):
            continue
        a, b = (run[figure.name] for run in ratios)
        if a.high < b.low or b.high < a.low:
            found.append(f"{figure.name}: {ratio_text(b)} does not overlap {ratio_text(a)}")
            continue
        for label, run in zip(runs, ratios, strict=True):
            own = run[figure.name]
            if not own.low <= figure.ratio <= own.high:
                found.append(
                    f"{figure.name}: {num(figure.ratio)} lies outside {ratio_text(own)} of {label}"
                )
        if figure.spread > max_spread:
            found.append(f"{figure.name}: {ratio_text(figure)} together, spread too wide")
    return sorted(found)


# What must be the same in the run before for two runs to be compared.
COMPARABLE = ("cpu", "cores", "python", "game_with_pyo3", "native module", "measuring processes")


def run_before(path: Path, info: dict[str, object], quick: bool) -> dict[str, Any]:
    """The run before's own figures and machine, from the results it wrote, if it can
    be compared with this run; otherwise stop, saying why."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        own = results["runs"][-1]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise SystemExit(
            f"--against {path}: not the results of a bench.py run ({error!r}); "
            "run it without --against first"
        ) from None
    differ = [
        f"{key} {own['machine'].get(key)!r} there, {info[key]!r} here"
        for key in COMPARABLE
        if own["machine"].get(key) != info[key]
    ]
    if results.get("quick") != quick:
        differ.append(f"quick {results.get('quick')!r} there, {quick!r} here")
    if differ:
        raise SystemExit(f"--against {path}: not comparable with this run: " + "; ".join(differ))
    return dict(own)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds per figure")
    parser.add_argument(
        "--max-spread",
        type=float,
        default=0.25,
        help="refuse to write results if a ratio's interquartile range is wider than this "
        "fraction of its median",
    )
    parser.add_argument(
        "--sample",
        type=float,
        default=0.05,
        help="seconds of calls per side per round (longer samples average out more noise)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="fresh interpreters the rounds are shared out among (default 21, --quick 2)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="PREVIOUS.json",
        help="the results of the run before, to check this run repeats it",
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--first-round", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--wheel", type=Path, help="the wheel whose size to report")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--table", type=Path, help="write the results as a Markdown table")
    parser.add_argument("--build-times", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    rounds = 4 if args.quick else args.rounds
    workers = min(rounds, args.workers or (2 if args.quick else 21))
    per_worker = math.ceil(rounds / workers)
    global SAMPLE_SECONDS  # noqa: PLW0603
    SAMPLE_SECONDS = 0.001 if args.quick else args.sample
    if args.worker:
        args.worker.write_text(json.dumps(worker_report(args.quick, args.rounds, args.first_round)))
        return 0
    info = machine()
    info["measuring processes"] = (
        f"{workers} fresh interpreters, {per_worker} round{'s' * (per_worker > 1)} each, "
        + " ".join(f"{k}={v}" for k, v in WORKER_ENVIRONMENT.items())
    )
    before = None if args.against is None else run_before(args.against, info, args.quick)
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    started = time.perf_counter()
    figures = [
        *measure_in_workers(args.quick, per_worker, workers),
        *bench_memory(args.quick, 1 if args.quick else 3),
        *package_figures(args.wheel, args.build_times and not args.quick),
    ]
    info["load average at end"] = load_average()
    info["seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(table(figures, markdown=False))
    for f in figures:
        if f.note:
            print(f"  {f.name}: {f.note}")
    noisy = [f for f in figures if f.kind != "value" and f.spread > args.max_spread]
    print(
        f"\nload average at start {info['load average at start']}, "
        f"at end {info['load average at end']}; {info['seconds']} s"
    )
    if noisy and not args.quick:
        print(f"\nThe spread is too wide (more than {args.max_spread:.0%} of the median) for:")
        for f in noisy:
            print(f"  {f.name}: {ratio_text(f)}, spread {f.spread:.0%}")
        print("The machine was too noisy to trust these figures: nothing written. Rerun when idle.")
        return 2
    command = " ".join(["benchmarks/bench.py", *(argv if argv is not None else sys.argv[1:])])
    own = {"machine": {**info, "command": command}, "figures": [asdict(f) for f in figures]}
    disagree: list[str] = []
    published = figures
    if before is not None:
        earlier = [Figure(**f) for f in before["figures"]]
        both = together(earlier, figures)
        disagree = disagreements(earlier, figures, both, args.max_spread)
        print(f"\nAgainst the run before ({args.against}):")
        for line in disagree:
            print(f"  {line}")
        if not disagree:
            published = both
            print(
                "  every range overlaps the one before, and both runs' rounds together give "
                "figures inside both runs' ranges:\n"
            )
            print(table(published, markdown=False))
    runs = [*([before] if before else []), own]
    write_results(args, info, command=command, figures=published, runs=runs, disagree=disagree)
    if disagree and not args.quick:
        print("This run does not repeat the one before: its results say so. Run again.")
        return 3
    return 0


def write_results(
    args: argparse.Namespace,
    info: dict[str, object],
    *,
    command: str,
    figures: list[Figure],
    runs: list[dict[str, Any]],
    disagree: list[str],
) -> None:
    """The --json, --table and --plot outputs. The JSON keeps each run's own figures,
    machine and command (the run before's, if any, then this one's) and how they
    disagree, so a result that did not repeat shows it; `figures` are this run's, or
    both runs' rounds together when they agree."""
    if args.json:
        results = {
            "machine": info,
            "command": command,
            "quick": args.quick,
            "max_spread": args.max_spread,
            "figures": [asdict(f) for f in figures],
            "runs": runs,
            "disagreements": disagree,
        }
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if args.table:
        args.table.write_text(table(figures, markdown=True) + "\n")
    if args.plot:
        plot(figures, info, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    sys.exit(main())
