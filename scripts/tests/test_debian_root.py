"""The Debian roots, offline: which package and executable each manifest spelling
means, which wheel runs in which root, the check of a root's interpreter, how a
dependency that installs but cannot load is left out, and how the rehearsal reports
a cell run in a root. (The real runs are in test_rehearsal.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import debian_root
import interpreters
import pipeline
import plan
import pytest
import rehearse
import suite
import tags
import testdeps

TARGETS = pipeline.load_targets()
HOST = pipeline.host_target(TARGETS)


@pytest.mark.parametrize(
    ("python", "package", "exe"),
    [
        ("3.13", "python3.13", "/usr/bin/python3.13"),
        ("3.15", "python3.15", "/usr/bin/python3.15"),
        ("pypy3.11", "pypy3", "/usr/bin/pypy3.11"),
        ("pypy3.11-pp80", "pypy3", "/usr/bin/pypy3.11"),
    ],
)
def test_debian_package_and_executable_of_each_spelling(
    python: str, package: str, exe: str
) -> None:
    assert debian_root.debian_python(python) == (package, exe)


def test_no_free_threaded_interpreter_is_asked_of_debian() -> None:
    with pytest.raises(pipeline.PipelineError, match="no free-threaded"):
        debian_root.debian_python("3.14t")


def test_native_roots_install_the_packages_of_their_interpreters() -> None:
    roots = {root.suite: (root, pythons) for root, pythons in debian_root.native_roots()}
    sid, sid_pythons = roots["sid"]
    assert sid.packages == ("python3.13", "python3.14", "python3.15")
    assert sid_pythons == ("3.13", "3.14", "3.15")
    trixie, trixie_pythons = roots["trixie"]
    assert (trixie.arch, trixie.packages, trixie_pythons) == ("amd64", ("pypy3",), ("pypy3.11",))
    assert trixie.qemu_user is None


def test_every_host_wheel_but_cp314t_has_a_debian_interpreter() -> None:
    """cp314t needs a free-threaded CPython, which Debian does not ship; every other
    x86_64 wheel, the pp73 one included, runs in a native root."""
    pythons = [p for _, ps in debian_root.native_roots() for p in ps]
    runnable = {
        pipeline.kind_of(wheel)
        for wheel in HOST.wheel_names("1.0.0")
        if any(tags.accepts(p, HOST.platform, wheel) for p in pythons)
    }
    assert runnable == set(HOST.abis) - {"cp314t"}


def _probe_output(soabi: str, machine: str = "x86_64", purelib: str = "/w/venv/lib") -> str:
    data = {
        "impl": "pypy" if soabi.startswith("pypy") else "cpython",
        "version": [3, 11],
        "free_threaded": False,
        "machine": machine,
        "os": "linux",
        "exe": "/w/venv/bin/python",
        "bits": 64,
        "soabi": soabi,
        "libc": "glibc",
        "purelib": purelib,
    }
    return f"a warning first\n{json.dumps(data)}\n"


@pytest.mark.parametrize(
    ("soabi", "label"),
    [("pypy311-pp73", "pypy3.11"), ("pypy311-pp80", "pypy3.11-pp80"), ("cpython-311", "3.11")],
)
def test_a_probe_names_the_interpreter_by_its_abi(soabi: str, label: str) -> None:
    found = interpreters.from_probe(_probe_output(soabi))
    assert found is not None
    assert found.label == label
    assert found.purelib == "/w/venv/lib"


def test_the_root_interpreter_must_be_the_abi_the_manifest_names() -> None:
    pp73 = interpreters.from_probe(_probe_output("pypy311-pp73"))
    assert debian_root.check_interpreter(pp73, "pypy3.11", HOST, "here") == pp73
    pp80 = interpreters.from_probe(_probe_output("pypy311-pp80"))
    with pytest.raises(pipeline.PipelineError, match=r"is pypy3\.11-pp80 .*not pypy3\.11"):
        debian_root.check_interpreter(pp80, "pypy3.11", HOST, "here")
    arm = interpreters.from_probe(_probe_output("pypy311-pp73", machine="aarch64"))
    with pytest.raises(pipeline.PipelineError, match="cannot load linux-x86_64 wheels"):
        debian_root.check_interpreter(arm, "pypy3.11", HOST, "here")
    with pytest.raises(pipeline.PipelineError, match="not a CPython or PyPy"):
        debian_root.check_interpreter(None, "pypy3.11", HOST, "here")


@pytest.mark.parametrize(
    ("python", "options"),
    [
        ("3.15", ["--implementation=cp", "--python-version=3.15"]),
        ("3.14t", ["--implementation=cp", "--python-version=3.14", "--abi=cp314t"]),
        ("pypy3.11", ["--implementation=pp", "--python-version=3.11", "--abi=pypy311_pp73"]),
        ("pypy3.11-pp80", ["--implementation=pp", "--python-version=3.11", "--abi=pypy311_pp80"]),
    ],
)
def test_installer_options(python: str, options: list[str]) -> None:
    assert tags.installer_options(python) == options


def _fake_wheel(directory: Path, tag: str) -> Path:
    wheel = directory / f"fake-1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "fake-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fake\nVersion: 1.0\n"
        )
        archive.writestr(
            "fake-1.0.dist-info/WHEEL",
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n",
        )
        archive.writestr("fake-1.0.dist-info/RECORD", "")
    return wheel


@pytest.mark.parametrize(
    ("options", "installs"),
    [
        (tags.installer_options("pypy3.11"), True),
        (tags.installer_options("pypy3.11-pp80"), False),
        (tags.installer_options("3.11"), False),
        (["--implementation=pp", "--python-version=3.11"], False),  # pip's own ABI
    ],
)
def test_pip_installs_the_pp73_wheel_for_pypy_only(
    tmp_path: Path, options: list[str], installs: bool
) -> None:
    """What debian_root asks the host's pip for a PyPy root: the pp73 wheel fits."""
    wheel = _fake_wheel(tmp_path, f"pp311-pypy311_pp73-{HOST.platform}")
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-deps"]
    cmd += ["--disable-pip-version-check", "--only-binary=:all:", "--target", str(tmp_path / "t")]
    cmd += [f"--platform={p}" for p in tags.installer_platforms(HOST.platform)]
    done = subprocess.run([*cmd, *options, str(wheel)], capture_output=True, text=True, check=False)
    assert (done.returncode == 0) is installs, done.stdout + done.stderr
    if not installs:
        assert "is not a supported wheel on this platform" in done.stderr


def test_a_dependency_that_does_not_load_is_left_out_with_its_reason() -> None:
    needs = testdeps.requirements(testdeps.Cell(HOST, "pypy3.11"))
    assert dict(needs.optional) == {"hypothesis": ("hypothesis", "sortedcontainers")}
    less = needs.without("hypothesis", "hypothesis: its wheel does not load")
    names = {p.name for p in less.pins}
    assert "hypothesis" not in names
    assert "sortedcontainers" not in names
    assert {"pytest", "pytest-run-parallel", "pytest-timeout"} <= names
    assert less.skipped == ("hypothesis: its wheel does not load",)
    assert less.optional == ()
    assert "hypothesis==" not in less.requirements_text()
    with pytest.raises(pipeline.PipelineError, match="not an optional"):
        less.without("pytest", "no")


def test_each_wheel_runs_on_the_root_interpreters_that_accept_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[tuple[str, str, str]] = []

    def record(
        wheel: Path, target: pipeline.Target, root: debian_root.Root, python: str, log: Path
    ) -> debian_root.RootRun:
        ran.append((pipeline.kind_of(wheel.name) or "?", root.suite, python))
        return debian_root.RootRun(f"{python} (Debian {root.suite}, venv)", True)

    monkeypatch.setattr(debian_root, "run_suite_in_root", record)
    monkeypatch.setattr(suite, "runs_on", lambda *_: True)  # as on an x86_64 Linux host
    for name in HOST.wheel_names("1.0.0"):
        suite.run_in_debian_roots(tmp_path / name, HOST, tmp_path)
    assert sorted(ran) == [
        ("abi3", "sid", "3.13"),
        ("abi3", "sid", "3.14"),
        ("abi3", "sid", "3.15"),
        ("abi3t", "sid", "3.15"),
        ("pypy311", "trixie", "pypy3.11"),
    ]


def _outcome(kind: str, *labels: str) -> suite.WheelOutcome:
    (name,) = [w for w in HOST.wheel_names("1.0.0") if pipeline.kind_of(w) == kind]
    return suite.WheelOutcome(name, passed=list(labels))


def test_cells_run_in_a_debian_root_are_reported_tested_there() -> None:
    lines = rehearse.cell_report(
        [
            _outcome("abi3", "3.11", "3.14 (Debian sid, venv)"),
            _outcome("pypy311", "pypy3.11 (Debian trixie, venv)"),
        ]
    )
    assert "linux-x86_64 pypy3.11: tested here (Debian trixie, venv)" in lines
    assert "linux-x86_64 3.14: tested here (Debian sid, venv)" in lines
    assert any(line.startswith("linux-x86_64 3.10: not run here") for line in lines)


def test_an_untested_pypy_cell_says_where_it_could_run() -> None:
    lines = rehearse.cell_report([_outcome("pypy311")])
    assert (
        "linux-x86_64 pypy3.11: not run here: runs in the Debian trixie root with --all-platforms"
        in lines
    )
    assert "linux-aarch64 pypy3.11: not run here: " in "\n".join(lines)
    assert "linux-aarch64 pypy3.11: not run here: runs in the Debian" not in "\n".join(lines)


def test_every_cell_not_run_here_says_where_ci_runs_it() -> None:
    lines = [line for line in rehearse.cell_report([]) if ": not run here: " in line]
    assert lines
    for line in lines:
        assert "None" not in line, line
    native = "linux-aarch64 3.14: not run here: here only Debian's python3 under qemu"
    assert f"{native} (CI: ubuntu-24.04-arm)" in lines
    vm = [line for line in lines if "(CI: a freebsd VM on " in line]
    assert len(vm) == len(plan.plan("tag")["workflows"]["release"]["test-freebsd"])
    assert all(": not run here: needs a freebsd machine" in line for line in vm)
