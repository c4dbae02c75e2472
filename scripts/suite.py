#!/usr/bin/env python3
"""Test stage: run the test suite against every wheel, on every interpreter that can
install it, each in a fresh venv with the wheel alone (no source tree on sys.path).

    suite.py DIST [--python PATH ...] [--python-glob PATTERN ...] [--debian-roots]
             [--require-all] [--parallel-threads N] [--log-dir DIR]

Interpreters: only those named with --python and --python-glob (scripts/interpreters.py).
Test dependencies are installed from wheels only, pinned and hash-checked from uv.lock
(scripts/testdeps.py); an optional one without a wheel for the cell, or whose wheel
installs but does not import there, is left out and its tests skip with the reason shown.
Free-threaded wheels run the suite a second time under pytest-run-parallel.
`--require-all` (a CI test cell) fails unless each interpreter given ran the wheel it
picks; scripts/plan.py chooses the cells so that every wheel is picked in one.
`--debian-roots` also runs the wheels on Debian's interpreters in minimal roots
(scripts/debian_root.py): the x86_64 wheels on the manifest's native roots (sid's
CPython 3.13-3.15, trixie's PyPy 3.11 7.3 for the pp73 wheel), foreign-architecture
wheels under qemu-user. A wheel nothing here can run is reported "built and gated, not
run here" — never counted as tested.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testdeps
from interpreters import Interpreter, can_install, given, runs_on, wheel_fits
from pipeline import (
    ROOT,
    PipelineError,
    Target,
    load_targets,
    target_of,
    tool_env,
)
from tags import accepts

if TYPE_CHECKING:
    from debian_root import RootRun


@dataclass
class WheelOutcome:
    wheel: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped_deps: list[str] = field(default_factory=list)
    note: str = ""


def _install(
    venv: Path, interp: Interpreter, wheel: Path, needs: testdeps.CellRequirements
) -> Path:
    env = tool_env()
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    reqs = venv.parent / f"{venv.name}-requirements.txt"
    reqs.write_text(needs.requirements_text(), encoding="utf-8")
    # Dependencies first, hash-checked and from wheels only; then our wheel alone.
    if shutil.which("uv", path=env["PATH"]):
        subprocess.run(
            ["uv", "venv", "--quiet", "--python", interp.exe, str(venv)], env=env, check=True
        )
        base = ["uv", "pip", "install", "--quiet", "--python", str(python)]
    else:  # FreeBSD: PyPI has no uv build for it
        subprocess.run([interp.exe, "-m", "venv", str(venv)], env=env, check=True)
        base = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*base, "--only-binary", ":all:", "--no-deps", "--require-hashes", "-r", str(reqs)],
        env=env,
        check=True,
    )
    subprocess.run([*base, "--no-deps", "--no-index", str(wheel)], env=env, check=True)
    return python


def run_suite(
    wheel: Path,
    target: Target,
    interp: Interpreter,
    outcome: WheelOutcome,
    *,
    parallel_threads: int,
    log_dir: Path,
) -> bool:
    with tempfile.TemporaryDirectory(prefix="gwp-test-") as tmp:
        venvs: list[Path] = []  # a fresh venv for each install

        def install(needs: testdeps.CellRequirements) -> None:
            venvs.append(_install(Path(tmp) / f"venv{len(venvs)}", interp, wheel, needs))

        needs = testdeps.install_loadable(
            testdeps.requirements(testdeps.Cell(target, interp.label)),
            install,
            lambda *args: subprocess.run(
                [str(venvs[-1]), *args], capture_output=True, text=True, check=False
            ),
            "this interpreter",
        )
        python = venvs[-1]
        for reason in needs.skipped:
            print(f"    {wheel.name} on {interp.label}: {reason}; its tests skip", flush=True)
            outcome.skipped_deps.append(f"{interp.label}: {reason}")
        runs: list[list[str]] = [[]]
        if interp.free_threaded and parallel_threads > 1:
            runs.append([f"--parallel-threads={parallel_threads}"])
        ok = True
        for extra in runs:
            log = log_dir / f"{wheel.stem}-{interp.label}{'-parallel' if extra else ''}.log"
            # cwd is a scratch directory, so nothing but the installed wheel can
            # provide `game_with_pyo3`.
            cmd = [str(python), *pytest_args(str(ROOT)), *extra]
            clean_env = {
                k: v for k, v in tool_env().items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
            }
            result = subprocess.run(
                cmd,
                cwd=tmp,
                env=clean_env,
                check=False,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            log.write_text(result.stdout, encoding="utf-8")
            summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
            status = "ok" if result.returncode == 0 else f"FAILED (see {log})"
            print(
                f"    {wheel.name} on {interp.label} {' '.join(extra)}: {summary} — {status}",
                flush=True,
            )
            ok = ok and result.returncode == 0
        return ok


def pytest_args(root: str) -> list[str]:
    """pytest on the suite, with the project's configuration, from `root` (a checkout, or
    its copy of tests/ and pyproject.toml)."""
    config = ["-c", f"{root}/pyproject.toml", "--rootdir", root, "-p", "no:cacheprovider"]
    return ["-m", "pytest", *config, "-q", f"{root}/tests"]


def built_here_by(interpreters: list[Interpreter]) -> Interpreter:
    """The interpreter that builds (and then tests) the wheel from the sdist."""
    return next((i for i in interpreters if not i.free_threaded), interpreters[0])


# Where pip's builds from the sdist compile: one place for every such build here (and the
# rehearsal's install from the sdist), so cargo compiles the dependencies once. Where
# the compiler writes changes nothing in the wheel.
FROM_SDIST_TARGET = ROOT / "target" / "from-sdist"


def wheels_from_sdist(
    dist: Path, interpreters: list[Interpreter], targets: list[Target], out: Path
) -> list[tuple[Path, Target | None]]:
    """What `pip install game-with-pyo3` does where PyPI has no wheel for the platform
    (FreeBSD): pip builds a wheel from the sdist (Rust must be installed). Each built
    wheel is tested as a wheel of the manifest row this host belongs to."""
    sdists = sorted(dist.glob("*.tar.gz"))
    if not sdists or not interpreters:
        raise PipelineError(f"--from-sdist needs an sdist in {dist} and an interpreter")
    builder = built_here_by(interpreters)
    host = next(
        (t for t in targets if runs_on(t, builder.os, builder.machine, builder.bits, builder.libc)),
        None,
    )
    built = out / "from-sdist"
    for sdist in sdists:
        print(f"--> pip builds a wheel from {sdist.name} with {builder.label}", flush=True)
        subprocess.run(
            [
                builder.exe,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "-w",
                str(built),
                str(sdist),
            ],
            env=tool_env({"CARGO_TARGET_DIR": str(FROM_SDIST_TARGET)}),
            check=True,
        )
    return [(w, host) for w in sorted(built.glob("*.whl"))]


def spelling(label: str) -> str:
    """The manifest's spelling of the interpreter a result label names: a label starts
    with it ("3.11", "pypy3.11 (Debian trixie, venv)")."""
    return label.split(maxsplit=1)[0]


def expected_cells(wheel: str, target: Target | None, labels: list[str]) -> list[str]:
    """The interpreters of this run (a CI cell's, as scripts/plan.py chose them) that
    pick this wheel: each must have run it."""
    if target is None:
        return []
    return [p for p in labels if wheel_fits(wheel, p, target)]


def run(
    dist: Path,
    pythons: list[str],
    *,
    debian_roots: bool = False,
    parallel_threads: int = 4,
    log_dir: Path | None = None,
    patterns: tuple[str, ...] = (),
    from_sdist: bool = False,
    sdist_only: bool = False,
) -> list[WheelOutcome]:
    log_dir = log_dir or dist / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    interpreters = given(pythons, patterns)
    print(f"==> interpreters: {', '.join(f'{i.label} ({i.exe})' for i in interpreters)}")
    targets = load_targets()
    wheels = [] if sdist_only else [(w, target_of(w.name, targets)) for w in dist.glob("*.whl")]
    # A wheel pip just built from the sdist is for the interpreter that built it.
    built_here = wheels_from_sdist(dist, interpreters, targets, log_dir) if from_sdist else []
    builder = {w.name for w, _ in built_here}
    outcomes = []
    for wheel, target in sorted(wheels + built_here, key=lambda pair: pair[0].name):
        outcome = WheelOutcome(wheel.name)
        start = time.monotonic()
        for interp in interpreters:
            if wheel.name in builder:
                fits = interp == built_here_by(interpreters)
            else:
                fits = target is not None and can_install(wheel.name, target, interp)
            if target is not None and fits:
                ok = run_suite(
                    wheel,
                    target,
                    interp,
                    outcome,
                    parallel_threads=parallel_threads,
                    log_dir=log_dir,
                )
                (outcome.passed if ok else outcome.failed).append(interp.label)
        if debian_roots and target is not None and wheel.name not in builder:
            for done in run_in_debian_roots(wheel, target, log_dir):
                (outcome.passed if done.ok else outcome.failed).append(done.label)
                outcome.skipped_deps += [f"{done.label}: {reason}" for reason in done.skipped]
        ran = {spelling(label) for label in outcome.passed + outcome.failed}
        expected = (
            [built_here_by(interpreters).label]
            if wheel.name in builder
            else expected_cells(wheel.name, target, [i.label for i in interpreters])
        )
        outcome.missing = [p for p in expected if p not in ran]
        if not outcome.passed and not outcome.failed:
            outcome.note = "built and gated, not run here"
        else:
            outcome.note = f"{time.monotonic() - start:.0f}s"
        outcomes.append(outcome)
    return outcomes


def run_in_debian_roots(wheel: Path, target: Target, log_dir: Path) -> list[RootRun]:
    """The wheel on Debian's interpreters (scripts/debian_root.py): a foreign row's wheels
    under qemu-user on its root's python; an x86_64 row's on every interpreter of the
    native roots that can install it (not only those that would pick it: abi3 on 3.15
    too; the pp73 wheel on trixie's PyPy)."""
    import debian_root

    runs: list[tuple[debian_root.Root, str]] = []
    if target.qemu is not None:
        root = debian_root.foreign_root(target)
        runs += [(root, python) for python in target.qemu_pythons]
    elif runs_on(target, sys.platform, platform.machine().lower(), 64, "glibc"):
        runs += [(root, p) for root, pythons in debian_root.native_roots() for p in pythons]
    return [
        debian_root.run_suite_in_root(wheel, target, root, python, log_dir)
        for root, python in runs
        if accepts(python, target.platform, wheel.name)
    ]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dist", type=Path)
    parser.add_argument("--python", action="append", default=[], dest="pythons")
    parser.add_argument(
        "--python-glob",
        action="append",
        default=[],
        dest="patterns",
        help="interpreters by pattern, e.g. '/opt/python/cp31*/bin/python'",
    )
    parser.add_argument(
        "--debian-roots",
        action="store_true",
        help="also run in Debian roots: native CPython 3.13-3.15 and PyPy 3.11, "
        "foreign arches under qemu",
    )
    parser.add_argument("--parallel-threads", type=int, default=4)
    parser.add_argument("--log-dir", type=Path)
    parser.add_argument(
        "--require-all",
        action="store_true",
        help="fail unless each interpreter given ran the wheel it picks (a CI test cell)",
    )
    parser.add_argument(
        "--from-sdist",
        action="store_true",
        help="also build a wheel from the sdist with pip (as users without a wheel do) and test it",
    )
    parser.add_argument(
        "--sdist-only", action="store_true", help="test only what --from-sdist builds"
    )
    return parser


def execute(args: argparse.Namespace) -> list[WheelOutcome]:
    return run(
        args.dist,
        args.pythons,
        debian_roots=args.debian_roots,
        parallel_threads=args.parallel_threads,
        log_dir=args.log_dir,
        patterns=tuple(args.patterns),
        from_sdist=args.from_sdist,
        sdist_only=args.sdist_only,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        outcomes = execute(args)
    except (PipelineError, subprocess.CalledProcessError) as err:
        print(f"suite: {err}", file=sys.stderr)
        return 1
    failed = not outcomes if args.require_all else False
    for o in outcomes:
        tested = ", ".join(o.passed) or "-"
        print(
            f"  {o.wheel}: passed on {tested}"
            + (f"; FAILED on {', '.join(o.failed)}" if o.failed else "")
            + (f"; NOT RUN on {', '.join(o.missing)}" if args.require_all and o.missing else "")
            + f" ({o.note})"
        )
        for reason in o.skipped_deps:
            print(f"      skipped tests: {reason}")
        failed = failed or bool(o.failed)
        failed = failed or (args.require_all and bool(o.missing))
    if args.require_all and not outcomes:
        print(f"suite: no wheels in {args.dist}", file=sys.stderr)
    if args.require_all:
        # An interpreter that picks none of the wheels tested nothing: a cell that
        # passes that way (a newer PyPy ABI, say) would ship its wheel untested.
        ran = {spelling(label) for o in outcomes for label in o.passed + o.failed}
        idle = [i.label for i in given(args.pythons, tuple(args.patterns)) if i.label not in ran]
        if idle:
            print(f"suite: no wheel here is for {', '.join(idle)}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
