"""Smoke-run the benchmark program: it must run end to end and print every figure.

The figures of a --quick run mean nothing and are not checked against targets. The
rules that make a real run trustworthy (interleaved timing, the median and spread of
the ratio, no results from a noisy run) are checked on the program's own functions."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT

BENCH = ROOT / "benchmarks" / "bench.py"


def run_program(*args: str) -> subprocess.CompletedProcess[str]:
    """A benchmark program run with this interpreter, its output captured."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, timeout=600
    )


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    png = tmp_path / "bench.png"
    md = tmp_path / "bench.md"
    result = run_program(
        str(BENCH), "--quick", "--json", str(out), "--plot", str(png), "--table", str(md)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert data["quick"] is True
    for fact in (
        "machine",
        "cpu",
        "cores",
        "python",
        "load average at start",
        "load average at end",
    ):
        assert fact in data["machine"], fact
    names = [f["name"] for f in data["figures"]]
    for expected in (
        "random.randint",
        "NumPy integers().tolist()",
        "list(bytes(n))",
        "roll_dice_array",
        '"4d6kh3"',
        "Roller.roll_dice",
        "Character.attack",
        "simulate_duel, 1 thread",
        "1 -> 2 threads",
        "pure-Python thread",
        "peak RSS",
        "import game_with_pyo3",
    ):
        assert any(expected in name for name in names), expected
    for figure in data["figures"]:
        if figure["kind"] != "value":  # a memory growth may measure a little below 0
            assert figure["ours"] > 0
            assert figure["baseline"] > 0
        assert figure["low"] <= figure["ratio"] <= figure["high"], figure
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert md.read_text().startswith("| benchmark |")
    assert "machine: " in result.stdout


def test_ratios_come_from_interleaved_rounds() -> None:
    bench = load_bench()
    calls: list[str] = []
    ours, theirs = bench.interleaved(
        lambda: calls.append("A"),
        lambda: calls.append("B"),
        2,
        ours_number=bench.SLICES,
        baseline_number=bench.SLICES,
    )
    # A warm-up of each, one timed call of each to decide on warming, then per round
    # SLICES slices in alternating order, each slice of a short call warmed first.
    slices = ["A", "A", "B", "B", "B", "B", "A", "A"] * (bench.SLICES // 2)
    assert calls == ["A", "B", "A", "B", *slices, *slices]
    assert len(ours) == len(theirs) == 2
    # Without a count, each side gets as many calls as fill SAMPLE_SECONDS.
    assert bench.calls_per_sample(lambda: time.sleep(bench.SAMPLE_SECONDS / 4)) in (2, 3, 4)
    assert bench.calls_per_sample(lambda: time.sleep(bench.SAMPLE_SECONDS * 2)) == 1
    assert bench.calls_per_sample(lambda: None) > 10_000
    figure = bench.compare("x", [1.0, 1.0, 1.0, 1.0, 1.0], [2.0, 3.0, 3.0, 3.0, 9.0], target=2)
    assert (figure.low, figure.ratio, figure.high) == (3.0, 3.0, 3.0)
    assert figure.met is True
    cost = bench.compare("y", [3.0, 3.0, 3.0], [2.0, 2.0, 2.0], kind="cost", target=1.3)
    assert cost.ratio == 1.5
    assert cost.met is False
    assert "MISSED (1.5)" in bench.status(cost)
    assert bench.num(1.302) == "1.30"
    assert bench.status(bench.compare("z", [1.302], [1.0], kind="cost", target=1.3)) == (
        "MISSED (1.302)"
    )


def test_a_noisy_run_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()
    noisy = bench.compare("noisy figure", [1.0] * 4, [1.0, 2.0, 3.0, 4.0], target=1)
    for stage in ("bench_roll_dice", "bench_per_call", "bench_duel", "bench_memory"):
        monkeypatch.setattr(bench, stage, lambda *_args: [noisy])
    monkeypatch.setattr(bench, "package_figures", lambda *_args: [])
    written = tmp_path / "results.json"
    assert bench.main(["--json", str(written), "--rounds", "3"]) == 2
    assert not written.exists()
    out = capsys.readouterr().out
    assert "spread is too wide" in out
    assert "noisy figure" in out


ABI_COMPARE = ROOT / "benchmarks" / "abi_compare.py"


def test_abi_compare_quick_run(tmp_path: Path) -> None:
    """Two workers (here the same interpreter twice) take turns on every workload."""
    out = tmp_path / "abi.json"
    python = sys.executable
    result = run_program(
        str(ABI_COMPARE), "--quick", f"--a=one={python}", f"--b=two={python}", "--json", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert (data["a"]["label"], data["b"]["label"]) == ("one", "two")
    assert [row["workload"] for row in data["rows"]] == data["a"]["workloads"]
    assert len(data["rows"]) >= 6
    for row in data["rows"]:
        assert row["a"] > 0
        assert row["b"] > 0
        assert row["low"] <= row["ratio"] <= row["high"]
    assert "two / one, median (spread)" in result.stdout


def test_abi_compare_names_a_worker_that_stops(tmp_path: Path) -> None:
    result = run_program(str(ABI_COMPARE), "--quick", f"--a=good={sys.executable}", "--b=bad=false")
    assert result.returncode != 0
    assert "bad: the worker stopped" in result.stderr
    bad = run_program(str(ABI_COMPARE), "--a=x")
    assert bad.returncode == 2
    assert "give --dist DIR, or both --a and --b" in bad.stderr


def test_readme_figures_are_those_of_the_recorded_run() -> None:
    """Every ratio the README's Performance section quotes with its range is a figure of
    benchmarks/results.json as bench.py prints it, so the README cannot keep the numbers
    of a run that was since replaced."""
    bench = load_bench()
    recorded = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    printed = {
        bench.ratio_text(bench.Figure(**figure))
        for figure in recorded["figures"]
        if figure["kind"] != "value"
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    # The README sets the figures with a multiplication sign and an en dash.
    section = section.replace("\N{MULTIPLICATION SIGN}", "x").replace("\N{EN DASH}", "-")
    quoted = re.findall(r"[\d.]+x \([\d.]+-[\d.]+\)", section)
    assert quoted, "the README's Performance section quotes no figure with its range"
    stale = [q for q in quoted if q not in printed]
    assert not stale, f"README figures not in benchmarks/results.json: {stale}"
    # benchmarks/README.md shows the run as a table of bench.py's own output.
    notes = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    table = notes.split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    missing = [text for text in printed if f"| {text} |" not in table]
    assert not missing, f"benchmarks/README.md's table lacks the recorded figures {missing}"
