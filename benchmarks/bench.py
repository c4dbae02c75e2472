#!/usr/bin/env python3
"""Benchmarks: game_with_pyo3 against pure Python and NumPy, side by side in one run.

    bench.py [--quick] [--repeats N] [--json PATH] [--plot PATH] [--build-times]

Prints each figure (median of N repeats), the ratio and the target; `--quick` uses tiny
sizes so the test suite can smoke-run it (its figures mean nothing). These are
measurements, not pass/fail tests: a missed target is reported with its margin.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import game_with_pyo3
from game_with_pyo3 import dnd
from pure_python import PyCharacter, duel, roll_notation

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    name: str
    ours: float
    baseline: float
    unit: str
    ratio: float
    target: str
    met: bool | None


def median_time(func: Callable[[], object], repeats: int, number: int = 1) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def speedup(name: str, ours: float, theirs: float, target: float | None) -> Figure:
    ratio = theirs / ours
    return Figure(
        name,
        ours,
        theirs,
        "s",
        ratio,
        f">= {target}x faster" if target else "-",
        None if target is None else ratio >= target,
    )


def bench_roll_dice(n: int, repeats: int) -> list[Figure]:
    ours = median_time(lambda: dnd.roll_dice(n, 20), repeats)
    rng = random.Random(1)
    pure = median_time(lambda: [rng.randint(1, 20) for _ in range(n)], max(3, repeats // 2))
    figures = [speedup(f"roll_dice({n:_}, 20) vs random.randint list", ours, pure, 100)]
    try:
        import numpy as np

        gen = np.random.default_rng()
        numpy_time = median_time(lambda: gen.integers(1, 21, n).tolist(), repeats)
        figures.append(
            speedup(f"roll_dice({n:_}, 20) vs NumPy integers().tolist()", ours, numpy_time, 2)
        )
    except ImportError:
        print("  (NumPy not installed: NumPy comparison skipped)")
    floor = median_time(lambda: list(bytes(n)), repeats)
    ratio = ours / floor
    figures.append(
        Figure(
            f"roll_dice({n:_}, 20) vs floor list(bytes(n))",
            ours,
            floor,
            "s",
            ratio,
            "<= 1.5x the floor",
            ratio <= 1.5,
        )
    )
    return figures


def bench_per_call(calls: int, repeats: int) -> list[Figure]:
    rng = random.Random(2)
    roller = dnd.Roller(3)
    roll_ours = median_time(lambda: dnd.roll("4d6kh3"), repeats, calls)
    roll_pure = median_time(lambda: roll_notation("4d6kh3", rng), repeats, calls)
    dice_ours = median_time(lambda: roller.roll_dice(3, 6), repeats, calls)
    dice_pure = median_time(lambda: [rng.randint(1, 6) for _ in range(3)], repeats, calls)
    a, b = dnd.Character("A", 10_000, 14, 12), dnd.Character("B", 10_000, 12, 14)
    pa, pb = PyCharacter("A", 10_000, 14, 12), PyCharacter("B", 10_000, 12, 14)

    def attack_ours() -> None:
        a.attack(b, roller=roller)
        b.heal(100)

    def attack_pure() -> None:
        pa.attack(pb, rng)
        pb.health = min(pb.health + 100, 10_000)

    attack_o = median_time(attack_ours, repeats, calls)
    attack_p = median_time(attack_pure, repeats, calls)
    return [
        speedup('roll("4d6kh3") per call', roll_ours, roll_pure, 5),
        speedup("Roller.roll_dice(3, 6) per call", dice_ours, dice_pure, 5),
        speedup("Character.attack per call (with a heal)", attack_o, attack_p, 3),
    ]


def bench_duel(trials: int, pure_trials: int, repeats: int) -> list[Figure]:
    a, b = dnd.Character("A", 30, 16, 12), dnd.Character("B", 24, 10, 18)
    one = median_time(lambda: dnd.simulate_duel(a, b, trials=trials, seed=1, threads=1), repeats)
    two = median_time(lambda: dnd.simulate_duel(a, b, trials=trials, seed=1, threads=2), repeats)
    pa, pb = PyCharacter("A", 30, 16, 12), PyCharacter("B", 24, 10, 18)
    pure = median_time(lambda: duel(pa, pb, pure_trials, 1), max(1, repeats // 3))
    pure_per_trial, ours_per_trial = pure / pure_trials, one / trials
    figures = [
        speedup(
            f"simulate_duel, 1 thread, per trial ({trials:_} trials)",
            ours_per_trial,
            pure_per_trial,
            100,
        ),
        speedup("simulate_duel scaling 1 -> 2 threads", two, one, 1.8),
    ]
    figures.append(background_thread_share(a, b, trials))
    return figures


def background_thread_share(a: dnd.Character, b: dnd.Character, trials: int) -> Figure:
    """A pure-Python thread's throughput while a 1-thread duel runs, over its solo one."""

    def spin(seconds: float) -> float:
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            count += 1
        return count / seconds

    def share_once(solo: float) -> float:
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
        return result[0] / solo

    solo = statistics.median(spin(0.3) for _ in range(3))
    shares = [share_once(solo) for _ in range(3)]
    share = statistics.median(shares)
    return Figure(
        "pure-Python thread beside a duel: share of solo throughput",
        share,
        1.0,
        "ratio",
        share,
        ">= 0.80",
        share >= 0.8,
    )


def peak_rss_mib(code: str) -> float:
    """Peak RSS of a fresh interpreter running `code`, minus one that only imports."""
    probe = (
        "import resource, game_with_pyo3\nfrom game_with_pyo3 import dnd\n{}\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )

    def run(body: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", probe.format(body)], check=True, capture_output=True, text=True
        ).stdout
        return int(out.split()[-1])

    return (run(code) - run("pass")) / 1024  # ru_maxrss is KiB on Linux


def bench_memory(quick: bool) -> list[Figure]:
    small, large = (1_000, 20_000) if quick else (10_000, 1_000_000)
    duel_code = (
        "a = dnd.Character('A', 30, 16, 12); b = dnd.Character('B', 24, 10, 18)\n"
        "dnd.simulate_duel(a, b, trials={}, seed=1, threads=2)"
    )
    rss_small = peak_rss_mib(duel_code.format(small))
    rss_large = peak_rss_mib(duel_code.format(large))
    grows = rss_large - rss_small
    n = 100_000 if quick else dnd.MAX_DICE
    rss_dice = peak_rss_mib(f"x = dnd.roll_dice({n}, 20)")
    list_mib = (sys.getsizeof([0] * n)) / 2**20
    multiple = rss_dice / list_mib
    return [
        Figure(
            f"simulate_duel peak RSS growth, {small:_} -> {large:_} trials",
            grows,
            0.0,
            "MiB",
            grows,
            "does not grow (< 2 MiB)",
            grows < 2,
        ),
        Figure(
            f"roll_dice({n:_}) peak RSS / the list's own size",
            rss_dice,
            list_mib,
            "MiB",
            multiple,
            "small multiple (<= 2x)",
            multiple <= 2,
        ),
    ]


def package_figures(build_times: bool) -> list[Figure]:
    figures = []
    places = [ROOT / ".rehearsal" / "dist", ROOT / "target" / "test-wheels", ROOT / "dist"]
    wheels = [w for place in places for w in sorted(place.glob("*abi3*x86_64*.whl"))]
    if not wheels:
        print("  (no x86_64 abi3 wheel found: run `python3 scripts/dev.py rehearse` first)")
    else:
        size = wheels[0].stat().st_size / 1000
        figures.append(
            Figure("x86_64 abi3 wheel size", size, 400, "KB", size / 400, "<= 400 KB", size <= 400)
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
    import_ms = statistics.median(runs)
    figures.append(
        Figure(
            "import game_with_pyo3 (cumulative, -X importtime)",
            import_ms,
            10,
            "ms",
            import_ms / 10,
            "<= 10 ms",
            import_ms <= 10,
        )
    )
    if build_times:
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
                [
                    "cargo",
                    "build",
                    "--release",
                    "--locked",
                    "--lib",
                    "--target-dir",
                    str(target_dir),
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            return time.perf_counter() - start

        clean = timed_build()
        os.utime(ROOT / "src" / "lib.rs")
        incremental = timed_build()
        figures += [
            Figure("clean release build (fat LTO)", clean, 0, "s", 0, "-", None),
            Figure("rebuild after touching src/lib.rs", incremental, 0, "s", 0, "-", None),
        ]
    return figures


def plot(figures: list[Figure], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed = [f for f in figures if f.target.endswith("faster")]
    fig, ax = plt.subplots(figsize=(11, 4.8))
    names = [f.name[:62] for f in speed]
    ax.barh(
        names, [f.ratio for f in speed], color=["tab:green" if f.met else "tab:red" for f in speed]
    )
    for i, f in enumerate(speed):
        target = float(f.target.split()[1].rstrip("x"))
        ax.plot([target, target], [i - 0.4, i + 0.4], color="black", linewidth=1)
        ax.text(f.ratio, i, f" {f.ratio:.1f}x", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("speed-up over the baseline (log scale); black tick = target")
    ax.set_title(
        f"game_with_pyo3 {game_with_pyo3.__version__} on {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--build-times", action="store_true")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"CPython {platform.python_version()}, game_with_pyo3 {game_with_pyo3.__version__}"
    )
    print(f"machine: {machine}")
    figures = [
        *bench_roll_dice(10_000 if args.quick else 1_000_000, repeats),
        *bench_per_call(200 if args.quick else 20_000, repeats),
        *bench_duel(2_000 if args.quick else 100_000, 200 if args.quick else 10_000, repeats),
        *bench_memory(args.quick),
        *package_figures(args.build_times and not args.quick),
    ]
    width = max(len(f.name) for f in figures)
    print(f"\n{'benchmark'.ljust(width)}  {'ours':>12}  {'baseline':>12}  {'ratio':>8}  target")
    for f in figures:
        status = {True: "met", False: "MISSED", None: ""}[f.met]
        print(
            f"{f.name.ljust(width)}  {f.ours:>12.6g}  {f.baseline:>12.6g}  "
            f"{f.ratio:>8.3g}  {f.target} {status}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine, "quick": args.quick, "figures": [asdict(f) for f in figures]},
                indent=2,
            )
        )
    if args.plot:
        plot(figures, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
