"""Smoke-run the benchmark program: it must run end to end and print every figure.

The figures of a --quick run mean nothing and are not checked against targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_quick_benchmark_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    png = tmp_path / "bench.png"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench.py"),
            "--quick",
            "--json",
            str(out),
            "--plot",
            str(png),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    names = [f["name"] for f in data["figures"]]
    for expected in (
        "random.randint",
        "NumPy",
        "list(bytes(n))",
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
    assert all(f["ours"] >= 0 and f["baseline"] >= 0 for f in data["figures"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "machine: " in result.stdout
