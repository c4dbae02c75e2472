from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import build
import pipeline
import pytest
import tags


def test_stale_artifacts_of_another_version_are_refused(tmp_path: Path) -> None:
    (tmp_path / "game_with_pyo3-0.0.1.tar.gz").write_text("old")
    with pytest.raises(pipeline.PipelineError, match=r"another version.*--clean"):
        build.check_out_dir(tmp_path, "1.0.0", clean=False)
    build.check_out_dir(tmp_path, "1.0.0", clean=True)
    assert list(tmp_path.iterdir()) == []


def test_unknown_targets_are_named() -> None:
    with pytest.raises(pipeline.PipelineError, match="windows-mips"):
        build.select_targets(False, ["windows-mips"])
    assert [t.id for t in build.select_targets(False, [])] == ["linux-x86_64"]


def test_windows_is_reported_not_faked(tmp_path: Path) -> None:
    report = build.BuildReport(out=tmp_path, version="1.0.0")
    windows = next(t for t in pipeline.load_targets() if t.id == "windows-x64")
    build.build_target(windows, tmp_path, report)
    assert report.built == []
    assert report.not_buildable == ["windows-x64: needs windows-2025; built in CI only"]


@pytest.mark.parametrize(
    ("target_id", "args"),
    [
        ("linux-x86_64", ["--zig", "--compatibility", "manylinux2014"]),
        ("linux-ppc64le", ["--zig", "--compatibility", "manylinux_2_28"]),
        ("musllinux-aarch64", ["--zig", "--compatibility", "musllinux_1_2"]),
        ("macos-arm64", ["--zig"]),
        ("windows-x64", []),
    ],
)
def test_compatibility_arguments(target_id: str, args: list[str]) -> None:
    target = next(t for t in pipeline.load_targets() if t.id == target_id)
    assert build.compatibility_args(target) == args


def test_each_cibuildwheel_wheel_is_one_identifier(tmp_path: Path) -> None:
    """A Pyodide, iOS or Android wheel is one `cibuildwheel --only IDENTIFIER`: an
    identifier cibuildwheel takes as itself (platform and architecture come from it),
    whose CPython installs that wheel of the row; the oldest system is the tag's."""
    cibuildwheel = shutil.which("cibuildwheel")  # absent on a Python before 3.11
    rows = [t for t in pipeline.load_targets() if t.os in build.CIBUILDWHEEL]
    assert rows
    for target in rows:
        wheels = target.wheel_names("1.0.0")
        for abi, wheel in zip(target.abis, wheels, strict=True):
            cmd, env = build.cibuildwheel_call(target, abi, tmp_path, {"SOURCE_DATE_EPOCH": "1"})
            identifier = cmd[cmd.index("--only") + 1]
            assert not {"--platform", "--archs"} & set(cmd), cmd
            assert not {"CIBW_BUILD", "CIBW_ARCHS"} & set(env), identifier
            python = re.fullmatch(r"cp3(\d+)-\w+", identifier)
            assert python, identifier
            assert tags.picks(f"3.{python[1]}", target.platform, wheels) == wheel, identifier
            oldest = env.get("IPHONEOS_DEPLOYMENT_TARGET") or env.get("ANDROID_API_LEVEL")
            if target.os != "emscripten":
                assert oldest
                assert target.platform.startswith(f"{target.os}_{oldest.replace('.', '_')}_")
            if cibuildwheel:
                found = subprocess.run(
                    [cibuildwheel, "--only", identifier, "--print-build-identifiers"],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=pipeline.ROOT,
                )
                assert found.stdout.split() == [identifier]


def test_missing_tool_is_a_clear_message() -> None:
    with pytest.raises(pipeline.PipelineError, match="no-such-tool"):
        pipeline.require_tools("no-such-tool")


def test_builds_name_a_version_not_an_interpreter() -> None:
    for kind in pipeline.WHEEL_KINDS.values():
        if "-i" in kind.maturin:
            interpreter = kind.maturin[kind.maturin.index("-i") + 1]
            assert re.fullmatch(r"(pypy)?3\.\d+t?", interpreter), kind


def test_a_ci_runner_builds_rows_this_machine_cannot() -> None:
    """`local = false` (no Rust std on this machine's mirror) must not stop a CI runner
    with `--target` from cross-building the row."""
    armv7 = next(t for t in pipeline.load_targets() if t.id == "musllinux-armv7")
    assert not armv7.local
    import platform
    import sys

    if platform.machine() == "x86_64" and sys.platform == "linux":
        assert build.build_mode(armv7) == "cross"


def test_the_pinned_toolchain_is_installed_before_any_target_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rustup's next release stops installing rust-toolchain.toml's toolchain on demand
    for `rustup target ...`: on a fresh runner that would fail every build cell."""
    calls = tmp_path / "calls"
    rustup = tmp_path / "rustup"
    rustup.write_text(f'#!/bin/sh\necho "$PWD: $*" >> {calls}\n')
    rustup.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    build.ensure_rust_target("aarch64-unknown-linux-gnu")
    assert calls.read_text().splitlines() == [
        f"{pipeline.ROOT}: toolchain install",
        f"{pipeline.ROOT}: target add aarch64-unknown-linux-gnu",
    ]


def test_an_interrupted_build_stops_a_job_that_was_starting(tmp_path: Path) -> None:
    """SIGTERM while the kinds of a row build at once: a job that starts its process just
    after the interruption is stopped too, not waited for (here `sleep 30`)."""
    import subprocess
    import sys
    import time

    script = tmp_path / "interrupt.py"
    script.write_text(
        "import os, signal, sys, threading, time\n"
        f"sys.path.insert(0, {str(pipeline.ROOT / 'scripts')!r})\n"
        "import build, pipeline\n"
        "pipeline.on_sigterm_interrupt()\n"
        "def job():\n"
        "    time.sleep(0.5)  # its process starts after the interruption\n"
        "    build._run(['sleep', '30'])\n"
        "threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    pipeline.run_at_once([job, job], 2, build.stop_builds)\n"
        "except KeyboardInterrupt:\n"
        "    print(f'stopped after {time.monotonic() - start:.1f}s')\n",
        encoding="utf-8",
    )
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("stopped after")]
    assert float(line.split()[-1].rstrip("s")) < 10, result.stdout + result.stderr
    assert time.monotonic() - start < 10, "the process waited for its builds to end"
