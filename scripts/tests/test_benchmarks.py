"""Smoke-run the benchmark program: it must run end to end and print every figure.

The figures of a --quick run mean nothing and are not checked against targets. The
rules that make a real run trustworthy (interleaved timing, rounds from several fresh
processes, the median and spread of the ratio, no results from a noisy run, a run
checked against the one before) are checked on the program's own functions."""

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
    # Every figure timed side by side pools the rounds of both measuring processes.
    assert "2 fresh interpreters, 2 rounds each" in data["machine"]["measuring processes"]
    assert "GLIBC_TUNABLES=glibc.malloc.mmap_threshold" in data["machine"]["measuring processes"]
    floor = next(f for f in data["figures"] if "list(bytes(n))" in f["name"])
    assert len(floor["rounds"]) == len(floor["ours_times"]) == len(floor["baseline_times"]) == 4
    assert len(data["runs"]) == 1
    assert data["runs"][0]["figures"] == data["figures"]
    assert "--quick" in data["runs"][0]["machine"]["command"]
    assert data["disagreements"] == []
    assert result.stdout.count("measuring process ") == 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert md.read_text().startswith("| benchmark |")
    assert "machine: " in result.stdout


def test_ratios_come_from_interleaved_rounds() -> None:
    bench = load_bench()
    calls: list[str] = []
    pair = bench.Pair(
        lambda: calls.append("A"),
        lambda: calls.append("B"),
        ours_number=bench.SLICES,
        baseline_number=bench.SLICES,
    )
    pair.round()
    pair.round()
    ours, theirs = pair.ours_times, pair.baseline_times
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


def test_rounds_of_several_processes_make_one_figure() -> None:
    bench = load_bench()
    first = bench.compare("x", [1.0, 1.0], [2.0, 2.0], kind="cost", target=0.6)
    second = bench.compare("x", [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], kind="cost", target=0.6)
    (figure,) = bench.pooled([[first], [second]])
    assert figure.rounds == [0.5, 0.5, 1.0, 1.0, 1.0]
    assert figure.baseline_times == [2.0, 2.0, 1.0, 1.0, 1.0]
    assert (figure.low, figure.ratio, figure.high) == (0.5, 1.0, 1.0)
    assert figure.baseline == 1.0
    assert figure.met is False  # the first process alone met the target
    assert first.rounds == [0.5, 0.5]  # each process's own figure is left as it was
    per_trial = bench.compare("y", [10.0], [4.0], scale=100.0, per=10.0, target=50)
    assert (per_trial.ours, per_trial.baseline, per_trial.ratio) == (1.0, 40.0, 40.0)
    assert per_trial.met is False
    # A figure that only some processes take (every third round) is pooled from those.
    assert [f.name for f in bench.pooled([[first, per_trial], [second]])] == ["x", "y"]
    with pytest.raises(ValueError, match="different kinds"):
        bench.pooled([[first], [bench.value("x", [1.0], "KB", target="-", met=None)]])


def test_a_figure_taken_every_few_rounds_counts_rounds_over_all_processes() -> None:
    bench = load_bench()
    taken: list[int] = []

    def plan(every: int) -> object:
        rounds: list[float] = []

        def measure() -> None:
            rounds.append(1.0)
            taken.append(every)

        return bench.Plan(
            measure, lambda: bench.compare(f"every {every}", [1.0] * len(rounds), rounds), every
        )

    # The second of three processes of two rounds each takes rounds 2 and 3.
    figures = bench.run_plans([plan(1), plan(3), plan(4)], 2, first=2)
    assert [f.name for f in figures] == ["every 1", "every 3"]
    assert taken == [1, 1, 3]


def test_the_randint_ceiling_comes_from_the_pooled_baselines() -> None:
    bench = load_bench()
    floor = bench.compare("roll_dice(9, 20) list vs the floor list(bytes(n))", [3.0], [2.0])
    randint = bench.compare("roll_dice(9, 20) list vs random.randint list", [3.0], [250.0])
    bench.with_notes([floor, randint])
    assert randint.note == "no list can beat the floor: the ceiling here is 125x"
    # Published from two runs, the first of which missed the target: both notes stay.
    missed = bench.compare(randint.name, [3.0], [270.0], target=100)
    met = bench.compare(randint.name, [2.0], [250.0], target=100)
    _, published = bench.together([floor, missed], [floor, met])
    assert published.met is False
    assert published.note == (
        "no list can beat the floor: the ceiling here is 130x; "
        "met by both runs' rounds together, not by each run alone"
    )


def test_two_runs_in_a_row_are_checked_against_each_other() -> None:
    bench = load_bench()

    def figure(name: str, low: float, ratio: float, high: float) -> object:
        return bench.Figure(name, "speed-up", 1.0, 1.0, "s", ratio, low, high, "-", None)

    size = bench.value("size", [391.0], "KB", target="-", met=None)
    before = [
        figure("same", 1.9, 2.0, 2.1),
        figure("apart", 1.0, 1.1, 1.2),
        figure("edge", 2.0, 2.2, 2.4),
        figure("gone", 1.0, 1.0, 1.0),
        size,
    ]
    now = [
        figure("same", 1.95, 2.0, 2.05),
        figure("apart", 2.0, 2.0, 2.0),
        figure("edge", 2.3, 2.6, 2.9),
        figure("new", 1.0, 1.0, 1.0),
        size,
    ]
    # Both runs' rounds of "edge" give 2.5: inside this run's range, not the one before.
    published = [figure("same", 1.9, 2.0, 2.1), figure("edge", 2.1, 2.5, 2.8), size]
    assert bench.disagreements(before, now, published, 0.3) == [
        "edge: 2.50 lies outside 2.20x (2.00-2.40) of the run before",
        "gone: not in this run",
        "new: not in the run before",
    ]
    assert bench.disagreements(before, now, published, 0.25) == [
        "edge: 2.50 lies outside 2.20x (2.00-2.40) of the run before",
        "edge: 2.50x (2.10-2.80) together, spread too wide",
        "gone: not in this run",
        "new: not in the run before",
    ]
    published.append(figure("apart", 1.0, 1.6, 2.0))
    assert "apart: 2.00x (2.00-2.00) does not overlap 1.10x (1.00-1.20)" in (
        bench.disagreements(before, now, published, 0.3)
    )
    assert bench.disagreements(before[:1], now[:1], published[:1], 0.25) == []


def test_two_runs_are_published_as_their_rounds_together() -> None:
    bench = load_bench()
    before = [
        bench.compare("x", [1.0] * 3, [1.0, 1.1, 1.2], target=1.5, note="a note"),
        bench.compare("y", [1.0] * 3, [2.0] * 3, target=1.5),
        bench.value("size of old.whl", [391.0], "KB", target="-", met=None),
    ]
    now = [
        bench.compare("x", [1.0] * 3, [2.0, 2.0, 2.0], target=1.5, note="a note"),
        bench.compare("y", [1.0] * 3, [2.0] * 3, target=1.5),
        bench.value("size of new.whl", [392.0], "KB", target="-", met=None),
    ]
    x, y, size = bench.together(before, now)
    assert x.rounds == [1.0, 1.1, 1.2, 2.0, 2.0, 2.0]
    assert x.ratio == pytest.approx(1.6)
    # The rounds together meet the target; the run before alone did not.
    assert x.met is False
    assert x.note == "a note; met by both runs' rounds together, not by each run alone"
    assert y.met is True
    assert len(y.rounds) == 6
    assert size == now[2]  # values are this run's, whatever the run before measured
    assert before[0].rounds == [1.0, 1.1, 1.2]  # the runs' own figures are kept


def fake_measurements(monkeypatch: pytest.MonkeyPatch, bench: ModuleType, ratio: float) -> None:
    """main() without measuring: one ratio figure, no memory or package figures."""
    figure = lambda *_args: [bench.compare("f", [1.0] * 3, [ratio] * 3)]  # noqa: E731
    monkeypatch.setattr(bench, "measure_in_workers", figure)
    monkeypatch.setattr(bench, "bench_memory", lambda *_args: [])
    monkeypatch.setattr(bench, "package_figures", lambda *_args: [])


def test_a_run_that_does_not_repeat_the_one_before_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()
    first, second, third = tmp_path / "1.json", tmp_path / "2.json", tmp_path / "3.json"
    fake_measurements(monkeypatch, bench, 3.0)
    assert bench.main(["--json", str(first)]) == 0
    assert bench.main(["--json", str(second), "--against", str(first)]) == 0
    agreed = json.loads(second.read_text())
    assert agreed["disagreements"] == []
    assert [len(run["figures"][0]["rounds"]) for run in agreed["runs"]] == [3, 3]
    assert [run["machine"]["command"] for run in agreed["runs"]] == [
        f"benchmarks/bench.py --json {first}",
        f"benchmarks/bench.py --json {second} --against {first}",
    ]
    assert len(agreed["figures"][0]["rounds"]) == 6  # both runs' rounds, published
    fake_measurements(monkeypatch, bench, 2.0)
    assert bench.main(["--json", str(third), "--against", str(second)]) == 3
    recorded = json.loads(third.read_text())
    # Against the run before's own rounds, not the two runs it published together.
    assert [len(run["figures"][0]["rounds"]) for run in recorded["runs"]] == [3, 3]
    assert recorded["figures"][0]["ratio"] == 2.0  # this run's own, not pooled
    assert recorded["disagreements"] == ["f: 2.00x (2.00-2.00) does not overlap 3.00x (3.00-3.00)"]
    assert "does not repeat the one before" in capsys.readouterr().out


def test_a_run_is_only_checked_against_a_comparable_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_bench()
    fake_measurements(monkeypatch, bench, 3.0)
    first = tmp_path / "first.json"
    assert bench.main(["--json", str(first)]) == 0
    results = json.loads(first.read_text())
    other = tmp_path / "other.json"
    results["runs"][-1]["machine"]["python"] = "CPython 3.99.0"
    other.write_text(json.dumps(results))
    with pytest.raises(SystemExit, match=r"python 'CPython 3\.99\.0' there"):
        bench.main(["--against", str(other)])
    with pytest.raises(SystemExit, match="quick False there, True here"):
        bench.main(["--quick", "--against", str(first)])
    del results["runs"]
    other.write_text(json.dumps(results))
    with pytest.raises(SystemExit, match=r"not the results of a bench\.py run"):
        bench.main(["--against", str(other)])
    with pytest.raises(SystemExit, match=r"not the results of a bench\.py run"):
        bench.main(["--against", str(tmp_path / "missing.json")])


def test_a_measuring_process_that_fails_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = load_bench()
    monkeypatch.setattr(bench, "__file__", "/nonexistent/bench.py")
    with pytest.raises(SystemExit, match="measuring process 1 failed with status 2"):
        bench.measure_in_workers(True, 1, 2)


def test_a_noisy_run_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()
    noisy = bench.compare("noisy figure", [1.0] * 4, [1.0, 2.0, 3.0, 4.0], target=1)
    fake_measurements(monkeypatch, bench, 1.0)
    monkeypatch.setattr(bench, "measure_in_workers", lambda *_args: [noisy])
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


def quoted_ratios(text: str) -> list[str]:
    """The ratios a text quotes with their range, spelled as bench.py prints them (the
    docs set them with a multiplication sign and an en dash)."""
    text = text.replace("\N{MULTIPLICATION SIGN}", "x").replace("\N{EN DASH}", "-")
    return re.findall(r"[\d.]+x \([\d.]+-[\d.]+\)", text)


def printed_ratios(bench: ModuleType, figures: list[dict[str, object]]) -> set[str]:
    return {
        bench.ratio_text(bench.Figure(**figure)) for figure in figures if figure["kind"] != "value"
    }


def test_readme_figures_are_those_of_the_recorded_run() -> None:
    """Every ratio the README's Performance section quotes with its range is a figure of
    benchmarks/results.json as bench.py prints it, so the README cannot keep the numbers
    of a run that was since replaced; benchmarks/README.md quotes those, each run's own
    and those of the run after (benchmarks/next-run.json), and nothing else."""
    bench = load_bench()
    recorded = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    printed = printed_ratios(bench, recorded["figures"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = quoted_ratios(readme.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0])
    assert quoted, "the README's Performance section quotes no figure with its range"
    stale = [q for q in quoted if q not in printed]
    assert not stale, f"README figures not in benchmarks/results.json: {stale}"
    # The recorded figures are two runs in a row that agree: every range of one
    # overlaps the other's, and every figure (both runs' rounds together) lies inside
    # both runs' ranges.
    assert len(recorded["runs"]) == 2, "benchmarks/results.json was not run --against a run"
    before, now = ([bench.Figure(**f) for f in run["figures"]] for run in recorded["runs"])
    published = [bench.Figure(**figure) for figure in recorded["figures"]]
    assert published == bench.together(before, now)
    assert bench.disagreements(before, now, published, recorded["max_spread"]) == []
    assert recorded["disagreements"] == []
    # benchmarks/README.md shows the published figures as a table of bench.py's output.
    notes = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    results = notes.split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    missing = [text for text in printed if f"| {text} |" not in results]
    assert not missing, f"benchmarks/README.md's table lacks the recorded figures {missing}"
    # The run after the published pair, checked against its second run.
    after = json.loads((ROOT / "benchmarks" / "next-run.json").read_text(encoding="utf-8"))
    assert after["runs"][0] == recorded["runs"][1]
    known = printed.union(
        *(printed_ratios(bench, run["figures"]) for run in [*recorded["runs"], *after["runs"]])
    )
    unknown = [q for q in quoted_ratios(results) if q not in known]
    assert not unknown, f"benchmarks/README.md quotes figures of no recorded run: {unknown}"
