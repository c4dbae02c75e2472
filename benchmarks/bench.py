#!/usr/bin/env python3
"""Benchmarks: game_with_pyo3 against pure Python and NumPy, interleaved in one process.

    bench.py [--quick] [--rounds N] [--sample SECONDS] [--max-spread F] [--wheel PATH]
             [--json PATH] [--plot PATH] [--table PATH] [--build-times]

Every comparison runs ours and its baseline alternately, A B then B A, for --rounds
rounds after a warm-up of each, in this one process, so noise falls on both sides. A
figure is the median of the per-round ratios; its spread is their interquartile range
(the middle half of the rounds). When a ratio's spread is wider than --max-spread of
its median (default 25%), the machine was too noisy to trust: the run says so, writes
nothing, and exits with status 2. A missed target is reported as MISSED with the ratio.

--quick uses tiny sizes and three rounds so the test suite can smoke-run the program;
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
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import game_with_pyo3
from game_with_pyo3 import _core, dnd
from pure_python import PyCharacter, duel, roll_notation

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One measured figure. For a ratio figure, `ratio` is the median of the per-round
    ratios and `low`..`high` their interquartile range; for a measured value (memory,
    size, time), `ratio` is the median value and `low`..`high` its range over repeats."""

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


def interleaved(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    rounds: int,
    *,
    ours_number: int | None = None,
    baseline_number: int | None = None,
) -> tuple[list[float], list[float]]:
    """Per-round seconds per call of `ours` and `baseline`, after one warm-up of each,
    with the garbage collector paused as `timeit` does.

    A round times each side for about `SAMPLE_SECONDS` (unless `*_number` gives the
    calls), in `SLICES` alternating slices — A B, B A, A B, B A — so that a burst of
    another process's work lands on both sides rather than on one. Every slice of a
    call shorter than `WARM_BELOW` starts with one untimed call, so each side is timed
    in its own steady state: without it a 1-million-element list costs 3.8 or 5.7 ms
    here depending on whether its 8 MB were still cached from the call before (the
    other side's work evicts them), and ratios came out bimodal."""
    ours()
    baseline()
    sides = []
    for func, number in ((ours, ours_number), (baseline, baseline_number)):
        per_slice = math.ceil((number or calls_per_sample(func)) / SLICES)
        sides.append((func, per_slice, timed(func, 1) < WARM_BELOW))
    ours_times: list[float] = []
    baseline_times: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            spent = [0.0, 0.0]
            for slice_number in range(SLICES):
                order = (0, 1) if slice_number % 2 == 0 else (1, 0)
                for side in order:
                    func, per_slice, warm = sides[side]
                    spent[side] += timed(func, per_slice, warm=warm)
            ours_times.append(spent[0] / SLICES)
            baseline_times.append(spent[1] / SLICES)
    finally:
        if gc_was_enabled:
            gc.enable()
    return ours_times, baseline_times


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


def compare(
    name: str,
    ours_times: list[float],
    baseline_times: list[float],
    *,
    kind: str = "speed-up",
    target: float | None = None,
    scale: float = 1.0,
    note: str = "",
) -> Figure:
    """A ratio figure from interleaved times; `scale` multiplies each baseline time (to
    compare per trial when the two sides ran different numbers of trials)."""
    if kind == "speed-up":
        ratios = [b * scale / o for o, b in zip(ours_times, baseline_times, strict=True)]
        goal = "-" if target is None else f">= {target:g}x faster"
        met = None if target is None else statistics.median(ratios) >= target
    else:
        ratios = [o / (b * scale) for o, b in zip(ours_times, baseline_times, strict=True)]
        goal = "-" if target is None else f"<= {target:g}x the baseline"
        met = None if target is None else statistics.median(ratios) <= target
    low, median, high = quartiles(ratios)
    return Figure(
        name,
        kind,
        statistics.median(ours_times),
        statistics.median(baseline_times) * scale,
        "s",
        median,
        low,
        high,
        goal,
        met,
        note,
        ratios,
    )


def value(
    name: str, samples: list[float], unit: str, *, target: str, met: bool | None, note: str = ""
) -> Figure:
    low, median, high = (
        (min(samples), statistics.median(samples), max(samples)) if samples else (0, 0, 0)
    )
    return Figure(name, "value", median, 0.0, unit, median, low, high, target, met, note, samples)


def bench_roll_dice(n: int, rounds: int) -> list[Figure]:
    """roll_dice against the floor, random.randint and NumPy; roll_dice_array against
    NumPy. Big rolls are drawn on all cores by default: the `threads=1` rows show the
    same calls on one core."""
    figures = []
    one_core = "one core: the dice are drawn on this thread only"
    ours_list = lambda: dnd.roll_dice(n, 20)  # noqa: E731
    ours_list_1 = lambda: dnd.roll_dice(n, 20, threads=1)  # noqa: E731
    floor = lambda: list(bytes(n))  # noqa: E731
    ours, floor_times = interleaved(ours_list, floor, rounds)
    figures.append(
        compare(
            f"roll_dice({n:_}, 20) list vs the floor list(bytes(n))",
            ours,
            floor_times,
            kind="cost",
            target=1.3,
            note="the floor is the cost of merely building a list of n small ints",
        )
    )
    ours, floor_times_1 = interleaved(ours_list_1, floor, rounds)
    figures.append(
        compare(
            f"roll_dice({n:_}, 20, threads=1) list vs the floor",
            ours,
            floor_times_1,
            kind="cost",
            note=one_core,
        )
    )
    rng = random.Random(1)
    randint = lambda: [rng.randint(1, 20) for _ in range(n)]  # noqa: E731
    ours, pure = interleaved(ours_list, randint, max(3, rounds // 3))
    figure = compare(f"roll_dice({n:_}, 20) list vs random.randint list", ours, pure, target=100)
    ceiling = statistics.median(pure) / statistics.median(floor_times)
    figure.note = f"no list can beat the floor: the ceiling here is {ceiling:.0f}x"
    figures.append(figure)
    try:
        import numpy as np
    except ImportError:
        print("  (NumPy not installed: NumPy comparisons skipped)")
        return figures
    gen = np.random.default_rng()
    ours, numpy_list = interleaved(ours_list, lambda: gen.integers(1, 21, n).tolist(), rounds)
    figures.append(
        compare(
            f"roll_dice({n:_}, 20) list vs NumPy integers().tolist()", ours, numpy_list, target=2
        )
    )
    numpy_ints = lambda: gen.integers(1, 21, n)  # noqa: E731
    ours, numpy_array = interleaved(lambda: dnd.roll_dice_array(n, 20), numpy_ints, rounds)
    figures.append(
        compare(
            f"roll_dice_array({n:_}, 20) vs NumPy integers(1, 21, n)",
            ours,
            numpy_array,
            target=2,
            note="NumPy's default dtype is int64; ours is uint8 (typecode 'B')",
        )
    )
    ours_array_1 = lambda: dnd.roll_dice_array(n, 20, threads=1)  # noqa: E731
    ours, numpy_array_1 = interleaved(ours_array_1, numpy_ints, rounds)
    figures.append(
        compare(
            f"roll_dice_array({n:_}, 20, threads=1) vs NumPy integers(1, 21, n)",
            ours,
            numpy_array_1,
            note=one_core,
        )
    )
    ours, numpy_bytes = interleaved(
        ours_array_1, lambda: gen.integers(1, 21, n, dtype=np.uint8), rounds
    )
    figures.append(
        compare(
            f"roll_dice_array({n:_}, 20, threads=1) vs NumPy integers(..., dtype=uint8)",
            ours,
            numpy_bytes,
            note="like for like: one core and one byte per die on both sides",
        )
    )
    return figures


def bench_per_call(rounds: int) -> list[Figure]:
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
    figures = []
    for name, ours, pure, target in cases:
        ours_times, pure_times = interleaved(ours, pure, rounds)
        figures.append(compare(name, ours_times, pure_times, target=target))
    return figures


def bench_duel(trials: int, pure_trials: int, rounds: int) -> list[Figure]:
    a, b = dnd.Character("A", 30, 16, 12), dnd.Character("B", 24, 10, 18)
    pa, pb = PyCharacter("A", 30, 16, 12), PyCharacter("B", 24, 10, 18)
    one = lambda: dnd.simulate_duel(a, b, trials=trials, seed=1, threads=1)  # noqa: E731
    two = lambda: dnd.simulate_duel(a, b, trials=trials, seed=1, threads=2)  # noqa: E731
    ours, pure = interleaved(one, lambda: duel(pa, pb, pure_trials, 1), rounds)
    per_trial = compare(
        f"simulate_duel, 1 thread, per trial ({trials:_} trials)",
        ours,
        pure,
        target=150,
        scale=trials / pure_trials,
        note=f"pure Python ran {pure_trials:_} trials per round",
    )
    per_trial.ours /= trials
    per_trial.baseline /= trials
    two_threads, one_thread = interleaved(two, one, rounds)
    scaling = compare("simulate_duel scaling 1 -> 2 threads", two_threads, one_thread, target=1.8)
    return [per_trial, scaling, background_thread_share(a, b, trials, max(3, rounds // 4))]


def background_thread_share(
    a: dnd.Character, b: dnd.Character, trials: int, repeats: int
) -> Figure:
    """A pure-Python thread's throughput while a 1-thread duel runs, over its solo
    throughput measured just before (interleaved, solo then beside a duel)."""

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

    shares = [beside_a_duel() / spin(0.3) for _ in range(repeats)]
    low, median, high = quartiles(shares)
    return Figure(
        "pure-Python thread beside a duel: share of solo throughput",
        "share",
        median,
        1.0,
        "ratio",
        median,
        low,
        high,
        ">= 0.80",
        median >= 0.8,
        rounds=shares,
    )


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
            target="-",
            met=None,
            note="the dice are drawn into bytes, then copied into the array",
        ),
    ]


def package_figures(wheel: Path | None, build_times: bool) -> list[Figure]:
    figures = []
    if wheel is None:
        places = [ROOT / ".rehearsal" / "dist", ROOT / "target" / "test-wheels", ROOT / "dist"]
        found = [w for place in places for w in sorted(place.glob("*abi3*x86_64*.whl"))]
        wheel = found[0] if found else None
    if wheel is None:
        print(
            "  (no x86_64 abi3 wheel found: pass --wheel, or run `python3 scripts/dev.py rehearse`)"
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [4, 1]})
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
    )
    right.set_title("roll_dice list vs list(bytes(n))", fontsize=9)
    right.set_ylabel("cost over the floor (lower is better)")
    right.set_ylim(0, max([2.0, *(f.high * 1.15 for f in costs)]))
    fig.suptitle(
        f"game_with_pyo3 {info['game_with_pyo3']}, {info['python']} on {info['cpu']} "
        f"({info['cores']} cores); black tick = target",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument("--wheel", type=Path, help="the wheel whose size to report")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--table", type=Path, help="write the results as a Markdown table")
    parser.add_argument("--build-times", action="store_true")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    global SAMPLE_SECONDS  # noqa: PLW0603
    SAMPLE_SECONDS = 0.001 if args.quick else args.sample
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    started = time.perf_counter()
    figures = [
        *bench_roll_dice(10_000 if args.quick else 1_000_000, rounds),
        *bench_per_call(rounds),
        *bench_duel(2_000 if args.quick else 100_000, 100 if args.quick else 2_000, rounds),
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
    if args.json:
        command = "benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "command": command.strip(),
                    "quick": args.quick,
                    "rounds": rounds,
                    "max_spread": args.max_spread,
                    "figures": [asdict(f) for f in figures],
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if args.table:
        args.table.write_text(table(figures, markdown=True) + "\n")
    if args.plot:
        plot(figures, info, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
