"""Test cells come from the caller: interpreters.given probes what it is told, nothing else."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import interpreters
import pipeline
import pytest


def _fake_python(path: Path, version: tuple[int, int]) -> Path:
    """An executable that answers PROBE as a CPython of `version` would."""
    answer = {
        "impl": "cpython",
        "version": list(version),
        "free_threaded": False,
        "machine": "x86_64",
        "os": "linux",
        "exe": str(path),
        "bits": 64,
        "soabi": "",
        "libc": "glibc",
        "purelib": "",
    }
    path.write_text(f"#!/bin/sh\necho '{json.dumps(answer)}'\n")
    path.chmod(0o755)
    return path


def test_only_named_interpreters_are_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A runner's PATH (and uv's managed interpreters, the old environment variable) held
    interpreters nobody chose; they once became test cells of their own."""
    _fake_python(tmp_path / "python3.12", (3, 12))
    _fake_python(tmp_path / "pypy3", (3, 11))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GAME_WITH_PYO3_TEST_PYTHONS", str(tmp_path / "python3.12"))
    assert interpreters.given([]) == []
    (own,) = interpreters.given([sys.executable])
    assert own.version == sys.version_info[:2]
    named = interpreters.given([sys.executable], (str(tmp_path / "python3.1*"),))
    assert [i.label for i in named] == sorted([own.label, "3.12"])


def test_a_named_interpreter_must_answer(tmp_path: Path) -> None:
    with pytest.raises(pipeline.PipelineError, match="not a CPython or PyPy"):
        interpreters.given([str(tmp_path / "missing")])
    with pytest.raises(pipeline.PipelineError, match="no interpreter matches"):
        interpreters.given([], (str(tmp_path / "nothing*"),))


def test_a_cell_whose_interpreter_picks_no_wheel_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--require-all: an interpreter given to a CI cell that picks none of the wheels
    (a newer PyPy ABI than the wheel's, say) tested nothing, and the cell fails."""
    import suite

    host = pipeline.host_target(pipeline.load_targets())
    dist = tmp_path / "dist"
    dist.mkdir()
    free_threaded = next(w for w in host.wheel_names("1.0.0") if pipeline.kind_of(w) == "cp314t")
    (dist / free_threaded).write_bytes(b"")  # never opened: nothing here picks it
    python = _fake_python(tmp_path / "python3.12", (3, 12))
    assert suite.main([str(dist), "--require-all", "--python", str(python)]) == 1
    assert "no wheel here is for 3.12" in capsys.readouterr().err
