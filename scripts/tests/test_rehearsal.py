from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTS, host_wheel


def test_end_to_end_summary(rehearsal: tuple[Path, str]) -> None:
    import pipeline

    dist, output = rehearsal
    assert "rehearsal passed" in output
    for stage in (
        "build --target linux-x86_64",
        "build --sdist-only --out",
        "reproduce",
        "gate",
        "test",
        "publish",
    ):
        assert f"=== {stage}: " in output
    # Every artifact rebuilt from a copy of the checkout elsewhere (a deeper directory,
    # another cargo home and target directory) is the same, byte for byte.
    count = len([p for p in dist.iterdir() if pipeline.is_artifact(p.name)])
    assert f"reproducible: {count}/{count} artifacts identical" in output
    assert "half-finished release: 2 files sent" in output
    assert "directly is refused by the index" in output
    assert "installed from the sdist alone" in output
    table = output[output.index("artifact ") :]
    abi3_row = next(line for line in table.splitlines() if "cp310-abi3" in line)
    assert "3.11" in abi3_row
    assert "local index" in abi3_row
    # No free-threaded CPython (cp314t, abi3t on 3.15t) can be had here, and PyPy 7.3
    # runs only in the Debian trixie root, which a host-mode rehearsal does not use.
    untested = [line for line in table.splitlines() if "cp314t" in line or "pypy311" in line]
    assert len(untested) == 2
    assert all("built and gated, not run here" in row for row in untested)
    assert "verified the published set" in output
    assert (dist / "SHA256SUMS").exists()


@pytest.mark.slow
@pytest.mark.rehearsal
def test_interrupted_rehearsal_leaves_no_server_behind(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
    }
    with subprocess.Popen(
        [sys.executable, str(SCRIPTS / "rehearse.py"), "--out", str(tmp_path / "dist")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 1200
        port = None
        # The index starts first; stopped while a build runs, both must go.
        for line in proc.stdout:
            if "local index http://127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split()[0])
            if port is not None and line.startswith("    $ maturin build"):
                break
            assert time.monotonic() < deadline
        assert port is not None
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 130, rest
    assert "interrupted" in rest
    import local_index

    assert not local_index.port_in_use(port)
    assert not list(tmp_path.glob("gwp-*"))


def test_a_taken_port_fails_before_the_builds_in_one_line(tmp_path: Path) -> None:
    """The local index starts first: a --port in use is refused at once, as a failure of
    the rehearsal (no traceback), before anything is built."""
    import socket

    dist = str(tmp_path / "dist")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(SCRIPTS / "rehearse.py"), "--port", str(port), "--out", dist],
            cwd=ROOT,
            env={
                **os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert f"rehearsal FAILED — port {port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "==> build" not in result.stdout


@pytest.mark.slow
def test_foreign_architecture_wheel_runs_under_qemu(
    rehearsal: tuple[Path, str], tmp_path: Path
) -> None:
    """The --all-platforms path on one architecture: cross-build the aarch64 abi3 wheel,
    run the suite on it under qemu-user in a Debian root, compare seeded results."""
    import dataclasses
    import shutil

    import build
    import debian_root
    import pipeline
    import versioning

    dist = tmp_path / "dist"
    dist.mkdir()
    host_abi3 = host_wheel(rehearsal[0], "abi3")
    shutil.copy2(host_abi3, dist)  # the seeded results are compared with this one
    aarch64 = next(t for t in pipeline.load_targets() if t.id == "linux-aarch64")
    report = build.BuildReport(out=dist, version=versioning.project_version())
    build.build_target(dataclasses.replace(aarch64, abis=("abi3",)), dist, report)
    (wheel,) = report.built
    root = debian_root.foreign_root(aarch64)
    done = debian_root.run_suite_in_root(dist / wheel, aarch64, root, "3.11", tmp_path)
    assert done.ok, (tmp_path / f"{Path(wheel).stem}-debian-bookworm-arm64-3.11.log").read_text()
    assert done.label == "3.11 (Debian bookworm, qemu aarch64, venv; subprocess tests deselected)"


@pytest.mark.slow
def test_abi3t_wheel_passes_on_debian_cpython_3_15(host_wheels: Path, tmp_path: Path) -> None:
    """The cp315-abi3.abi3t wheel in a fresh venv of Debian sid's CPython 3.15 (a GIL
    build; the free-threaded side runs in CI), the full suite."""
    import pipeline
    import suite

    host = pipeline.host_target(pipeline.load_targets())
    wheel = host_wheel(host_wheels, "abi3t")
    results = suite.run_in_debian_roots(wheel, host, tmp_path)
    assert [(r.label, r.ok) for r in results] == [("3.15 (Debian sid, venv)", True)]


@pytest.mark.slow
def test_pp73_wheel_passes_on_debian_trixie_pypy(host_wheels: Path, tmp_path: Path) -> None:
    """The pp311-pypy311_pp73 wheel in a fresh venv of Debian trixie's pypy3 (PyPy
    7.3.19, checked in the root to be ABI pp73), the full suite."""
    import pipeline
    import suite

    host = pipeline.host_target(pipeline.load_targets())
    wheel = host_wheel(host_wheels, "pypy311")
    results = suite.run_in_debian_roots(wheel, host, tmp_path)
    log = tmp_path / f"{wheel.stem}-debian-trixie-amd64-pypy3.11.log"
    assert [(r.label, r.ok) for r in results] == [("pypy3.11 (Debian trixie, venv)", True)], (
        log.read_text()[-5000:]
    )


@pytest.mark.slow
def test_pip_install_from_the_sdist_is_tested_like_a_wheel(
    rehearsal: tuple[Path, str], tmp_path: Path
) -> None:
    """The FreeBSD VM's path (scripts/ci_freebsd_test.sh), run here on Linux: pip builds
    a wheel from the sdist alone, and the suite runs against it as the host's row."""
    import shutil

    import suite

    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy2(next(rehearsal[0].glob("*.tar.gz")), dist)
    args = suite.parser().parse_args(
        [str(dist), "--from-sdist", "--sdist-only", "--python", sys.executable]
    )
    (outcome,) = suite.execute(args)
    assert outcome.failed == []
    assert outcome.passed == [f"{sys.version_info[0]}.{sys.version_info[1]}"]
    assert (dist / "test-logs" / "from-sdist" / outcome.wheel).exists()


@pytest.mark.slow
def test_a_cell_without_hypothesis_runs_everything_else(
    host_abi3_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where hypothesis has no wheel (free-threaded 3.14 on armv7l, say) the cell leaves
    it out: the property tests skip with their reason, counted, and the rest passes."""
    import dataclasses
    import shutil

    import interpreters
    import pipeline
    import suite
    import testdeps

    real = testdeps.requirements

    def without_hypothesis(cell: testdeps.Cell) -> testdeps.CellRequirements:
        needs = real(cell)
        pins = tuple(p for p in needs.pins if p.name not in ("hypothesis", "sortedcontainers"))
        return dataclasses.replace(
            needs, pins=pins, skipped=("hypothesis: no wheel (test)",), optional=()
        )

    monkeypatch.setattr(testdeps, "requirements", without_hypothesis)
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = shutil.copy2(host_abi3_wheel, dist)
    interp = interpreters.probe(sys.executable)
    assert interp is not None
    outcome = suite.WheelOutcome(Path(wheel).name)
    host = pipeline.host_target(pipeline.load_targets())
    ok = suite.run_suite(Path(wheel), host, interp, outcome, parallel_threads=1, log_dir=tmp_path)
    log = next(tmp_path.glob("*.log")).read_text()
    assert ok, log
    assert outcome.skipped_deps == [f"{interp.label}: hypothesis: no wheel (test)"]
    assert "SKIPPED" in log
    assert "hypothesis is not installed" in log
    assert re.search(r"\d+ passed, \d+ skipped", log)


def test_the_readme_checksum_command_verifies_the_gated_set(rehearsal: tuple[Path, str]) -> None:
    """README, "Verifying a release", step 1, on the rehearsal's gated artifacts."""
    result = subprocess.run(
        ["sha256sum", "--check", "--ignore-missing", "SHA256SUMS"],
        cwd=rehearsal[0],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == len(
        [p for p in rehearsal[0].iterdir() if p.name.endswith((".whl", ".tar.gz"))]
    )
    assert "reproducible: " in rehearsal[1]
    assert "artifacts identical" in rehearsal[1]
