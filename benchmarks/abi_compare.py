#!/usr/bin/env python3
"""Two builds of game_with_pyo3 side by side: the cp315-abi3.abi3t wheel against the
cp310-abi3 wheel on the same CPython 3.15 (or any two interpreters), interleaved.

    abi_compare.py --dist DIR [--python 3.15] [--rounds N] [--quick] [--json PATH]
    abi_compare.py --a LABEL=COMMAND --b LABEL=COMMAND [--rounds N] [--quick]

The stable ABI can cost speed: a limited-API extension reaches objects through
function calls where a version-specific one may use macros. This measures what that
costs here, per call of each public hot path.

Two long-lived worker interpreters, one per build, take turns — A B, then B A, round
after round — each timing every workload for about --sample seconds after a warm-up,
while the other waits; a figure is the median over rounds of B's time over A's, with
its interquartile range. Only one worker runs at a time, so they do not compete.

--dist: the x86_64 abi3 and abi3t wheels of DIR (as the rehearsal or
`scripts/build.py --target linux-x86_64` leave them), each installed in a fresh venv of
Debian sid's python3.15 in the rehearsal's native Debian root (scripts/debian_root.py;
root or password-less sudo). --a/--b: any two interpreter commands that import
game_with_pyo3 (shell words), e.g. two venvs' pythons.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import fmt, num, quartiles

# Runs in each worker: announce the build, then on every line of stdin ("SECONDS")
# time each workload for about that long and answer with seconds per call.
WORKER = r"""
import json, sys, time, gc, sysconfig
import game_with_pyo3
from game_with_pyo3 import _core, dnd, pycool
roller = dnd.Roller(3)
a, b = dnd.Character("A", 10_000, 14, 12), dnd.Character("B", 10_000, 12, 14)
x, y = dnd.Character("X", 30, 16, 12), dnd.Character("Y", 24, 10, 18)
numbers = list(range(1000))
def attack():
    a.attack(b, roller=roller)
    b.heal(100)
N = int(sys.argv[1])
WORK = {
    f"roll_dice({N:_}, 20) -> list": lambda: dnd.roll_dice(N, 20, seed=1, threads=1),
    f"roll_dice_array({N:_}, 20)": lambda: dnd.roll_dice_array(N, 20, seed=1, threads=1),
    'roll("4d6kh3")': lambda: dnd.roll("4d6kh3"),
    "Roller.roll_dice(3, 6)": lambda: roller.roll_dice(3, 6),
    "Character.attack (with a heal)": attack,
    "simulate_duel, 1,000 trials, 1 thread": lambda: dnd.simulate_duel(
        x, y, trials=1000, seed=1, threads=1
    ),
    "sum_of_squares(range(1000) as a list)": lambda: pycool.sum_of_squares(numbers),
}
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
print(json.dumps({
    "python": sys.version.split()[0] + ("" if gil else " (no GIL)"),
    "module": _core.__file__.rsplit("/", 1)[-1],
    "version": game_with_pyo3.__version__,
    "workloads": list(WORK),
}), flush=True)
calls = {}
gc.disable()
for line in sys.stdin:
    sample = float(line)
    times = {}
    for name, func in WORK.items():
        func()
        if name not in calls:
            n = 1
            while True:
                start = time.perf_counter()
                for _ in range(n):
                    func()
                spent = time.perf_counter() - start
                if spent >= sample / 10:
                    calls[name] = max(1, round(n * sample / spent))
                    break
                n *= 10
        start = time.perf_counter()
        for _ in range(calls[name]):
            func()
        times[name] = (time.perf_counter() - start) / calls[name]
    print(json.dumps(times), flush=True)
"""


class Worker:
    """A worker interpreter running WORKER, driven one line at a time."""

    def __init__(self, label: str, command: list[str], dice: int) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            [*command, "-c", WORKER, str(dice)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info: dict[str, object] = self._answer()

    def _answer(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"{self.label}: the worker stopped (exit status {code})")
        return json.loads(line)  # type: ignore[no-any-return]

    def measure(self, sample: float) -> dict[str, float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{sample}\n")
        self.proc.stdin.flush()
        return self._answer()  # type: ignore[return-value]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def compare(a: Worker, b: Worker, rounds: int, sample: float) -> list[dict[str, object]]:
    """Per workload: A's and B's median seconds per call and the median and quartiles of
    B / A over interleaved rounds (A B, B A, ...) after one warm-up round each."""
    a.measure(sample)
    b.measure(sample)
    times: dict[str, tuple[list[float], list[float]]] = {}
    for round_number in range(rounds):
        order = (a, b) if round_number % 2 == 0 else (b, a)
        got = {worker.label: worker.measure(sample) for worker in order}
        for name, seconds in got[a.label].items():
            ours, theirs = times.setdefault(name, ([], []))
            ours.append(seconds)
            theirs.append(got[b.label][name])
    rows = []
    for name, (a_times, b_times) in times.items():
        low, median, high = quartiles([bt / at for at, bt in zip(a_times, b_times, strict=True)])
        rows.append(
            {
                "workload": name,
                "a": statistics.median(a_times),
                "b": statistics.median(b_times),
                "ratio": median,
                "low": low,
                "high": high,
            }
        )
    return rows


def table(a: Worker, b: Worker, rows: list[dict[str, object]]) -> str:
    head = ("per call", a.label, b.label, f"{b.label} / {a.label}, median (spread)")
    lines = [
        (
            str(r["workload"]),
            fmt(float(r["a"]), "s"),  # type: ignore[arg-type]
            fmt(float(r["b"]), "s"),  # type: ignore[arg-type]
            f"{num(float(r['ratio']))}x ({num(float(r['low']))}-{num(float(r['high']))})",  # type: ignore[arg-type]
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [head, *lines]
    )


def run(commands: list[tuple[str, list[str]]], args: argparse.Namespace) -> int:
    dice = 10_000 if args.quick else 1_000_000
    sample = 0.002 if args.quick else args.sample
    rounds = 3 if args.quick else args.rounds
    (a_label, a_cmd), (b_label, b_cmd) = commands
    a = Worker(a_label, a_cmd, dice)
    try:
        b = Worker(b_label, b_cmd, dice)
    except RuntimeError as err:
        a.close()
        print(f"abi_compare: {err}", file=sys.stderr)
        return 1
    try:
        for worker in (a, b):
            facts = {k: v for k, v in worker.info.items() if k != "workloads"}
            print(f"{worker.label}: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
        if a.info["workloads"] != b.info["workloads"]:
            raise SystemExit("the two builds do not run the same workloads")
        rows = compare(a, b, rounds, sample)
    finally:
        a.close()
        b.close()
    print()
    print(table(a, b, rows))
    if args.json:
        result = {
            "quick": args.quick,
            "rounds": rounds,
            "a": {"label": a.label, **a.info},
            "b": {"label": b.label, **b.info},
            "rows": rows,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def in_debian_root(dist: Path, python: str, args: argparse.Namespace) -> int:
    """The abi3 and abi3t x86_64 wheels of `dist`, each in a fresh venv of Debian's
    python`python` in the rehearsal's native root, compared."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import debian_root
    import dev
    from pipeline import load_targets

    target = next(t for t in load_targets() if t.id == "linux-x86_64")
    wheels = {}
    for kind, pattern in (("abi3", "-cp310-abi3-"), ("abi3t", "-cp315-abi3.abi3t-")):
        found = list(dist.glob(f"*{pattern}manylinux*_x86_64.whl"))
        if len(found) != 1:
            raise SystemExit(f"expected one linux x86_64 {kind} wheel in {dist}, found {found}")
        wheels[kind] = found[0]
    root = next(r for r, pythons in debian_root.native_roots() if python in pythons)
    debian_root.ensure_root(root)
    works = []
    try:
        commands = []
        for kind, wheel in wheels.items():
            work = Path(tempfile.mkdtemp(prefix="gwp-abi-", dir=root.path / "tmp"))
            work.chmod(0o755)
            works.append(work)
            venv_python, _ = debian_root.venv_in_root(root, work, python, target, wheel)
            commands.append((kind, debian_root.root_command(root, work, venv_python)))
        return run(commands, args)
    finally:
        for work in works:
            subprocess.run(dev.as_root("rm", "-rf", str(work)), check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dist", type=Path, help="a directory with the x86_64 wheels")
    parser.add_argument("--python", default="3.15", help="Debian's CPython to run both on")
    parser.add_argument("--a", help="LABEL=COMMAND of the first interpreter")
    parser.add_argument("--b", help="LABEL=COMMAND of the second interpreter")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sample", type=float, default=0.1, help="seconds per workload")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.dist is not None:
        return in_debian_root(args.dist, args.python, args)
    if not (args.a and args.b):
        parser.error("give --dist DIR, or both --a and --b")
    commands = []
    for spec in (args.a, args.b):
        label, sep, command = spec.partition("=")
        if not sep or not command:
            parser.error(f"expected LABEL=COMMAND, got {spec!r}")
        commands.append((label, shlex.split(command)))
    return run(commands, args)


if __name__ == "__main__":
    sys.exit(main())
