#!/usr/bin/env python3
"""Release rehearsal: the whole release, end to end, on this machine.

    rehearse.py [--all-platforms] [--out DIR] [--to local|testpypi] [--port N]
                [--python PATH ...]

  1. build    per manifest row the command its CI build job runs (scripts/build.py
              --target ID), then the sdist job's (--sdist-only: the sdist and a wheel
              from the unpacked sdist); rows this machine cannot build are named
  2. reproduce  the same command lines again (but no second wheel from the sdist: that is a
              check, not an artifact) from a copy of the checkout elsewhere, with
              another cargo home and target directory: every artifact must be
              identical byte for byte (scripts/repro.py names what differs)
  3. gate     the release gate on the exact expected set (scripts/gate.py)
  4. test     the suite against every wheel in fresh venvs on the interpreters given
              with --python (this one by default);
              with --all-platforms also in Debian roots: the x86_64 wheels on sid's
              CPython 3.13-3.15 and trixie's PyPy 3.11, foreign Linux architectures
              under qemu-user (scripts/suite.py --debian-roots); then every CI test
              cell of the manifest is listed as tested here or "not run here: <why>"
  5. publish  to a real package index on 127.0.0.1 (pypiserver with upload
              authentication, no fallback; started first, so a --port in use fails
              before the builds rather than after them): a half-finished upload, proof that a
              second upload of a file is refused, the re-run that completes it, then
              installs from the index (wheel, and sdist alone) that roll dice
              (scripts/publish.py, scripts/local_index.py)
Ends with a summary table; exits non-zero naming the stage and artifact that failed.
`--to testpypi` publishes the gated set there instead of the local index, with
credentials from the environment or the keyring. There is no `--to pypi`: a set built
here is never the complete release, and a partial upload would wedge the real one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build
import gate
import local_index
import plan
import publish
import repro
import suite
import verify_release
from interpreters import runs_on, wheel_fits
from pipeline import (
    DIST_NAME,
    ROOT,
    PipelineError,
    Target,
    is_artifact,
    load_debian_roots,
    load_targets,
    on_sigterm_interrupt,
    run_at_once,
    sdist_name,
    target_of,
    tool_env,
)
from versioning import project_version

T = TypeVar("T")


class StageFailed(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"stage '{stage}' failed: {message}")
        self.stage = stage


@dataclass
class Rehearsal:
    timings: dict[str, float] = field(default_factory=dict)
    gates: dict[str, list[str]] = field(default_factory=dict)
    tested: dict[str, str] = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def stage(self, name: str, work: Callable[[], T]) -> T:
        print(f"\n=== {name} ===", flush=True)
        start = time.monotonic()
        try:
            return work()
        except (PipelineError, subprocess.CalledProcessError) as err:
            raise StageFailed(name, str(err)) from err
        except FileNotFoundError as err:
            raise StageFailed(
                name, f"missing tool {err.filename!r}: run `python3 scripts/dev.py setup`"
            ) from err
        finally:
            self.timings[name] = time.monotonic() - start
            print(f"=== {name}: {self.timings[name]:.1f}s", flush=True)


def install_from_sdist(index: local_index.LocalIndex, version: str, report: Rehearsal) -> None:
    """The sdist alone: build requirements (maturin) come from PyPI, the package itself
    only from the local index (uv's first-index strategy). (The wheel's install by
    version is verify_release's, just before.)"""
    with tempfile.TemporaryDirectory(prefix="gwp-install-") as tmp_name:
        venv = Path(tmp_name) / "from-sdist"
        env = tool_env({"CARGO_TARGET_DIR": str(suite.FROM_SDIST_TARGET)})
        subprocess.run(
            ["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], env=env, check=True
        )
        python = str(venv / "bin" / "python")
        subprocess.run(
            [
                *("uv", "pip", "install", "--quiet", "--no-cache", "--python", python),
                *("--index-url", index.simple_url, "--no-binary", DIST_NAME),
                *("--extra-index-url", "https://pypi.org/simple/", f"{DIST_NAME}=={version}"),
            ],
            env=env,
            check=True,
        )
        out = subprocess.run(
            [python, "-c", verify_release.SMOKE, version],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"    installed from the sdist alone: {out}")
    report.notes.append("installed from the local index: abi3 wheel and sdist, both rolled dice")


def rehearse_local_publish(
    dist: Path, version: str, index: local_index.LocalIndex, report: Rehearsal
) -> None:
    os.environ["TWINE_USERNAME"], os.environ["TWINE_PASSWORD"] = (
        index.username,
        index.password,
    )
    first = publish.publish(dist, index.upload_url, index.simple_url, limit=2)
    print(f"    half-finished release: {len(first.uploaded)} files sent, then stopped")
    again = publish.twine_upload(index.upload_url, [dist / first.uploaded[0]])
    if again.returncode == 0:
        raise PipelineError(f"the index accepted {first.uploaded[0]} a second time")
    print(f"    re-uploading {first.uploaded[0]} directly is refused by the index: good")
    second = publish.publish(dist, index.upload_url, index.simple_url)
    print(
        f"    re-run: uploaded {len(second.uploaded)}, skipped "
        f"{len(second.already_there)} already there"
    )
    for name in first.uploaded + second.uploaded:
        report.published[name] = "local index"
    # What the release workflow's verify-release job does after publishing, here
    # against the local index (no attestations: they need GitHub's OIDC identity).
    verify_release.verify(dist, version, index.simple_url, attempts=1)
    report.notes.append(
        "verified the published set: every file downloaded by name matches SHA256SUMS, "
        "pip install by version rolls dice; PEP 740 attestations not run here (OIDC)"
    )
    install_from_sdist(index, version, report)


def summary(dist: Path, report: Rehearsal, release_only: list[str]) -> str:
    rows = [("artifact", "tags", "size", "gates", "tested on", "published")]
    for path in sorted(p for p in dist.iterdir() if is_artifact(p.name)):
        name = path.name
        tags = "sdist" if name.endswith(".tar.gz") else "-".join(name[:-4].split("-")[2:])
        published = report.published.get(name, "-")
        if name in release_only:
            published = "GitHub Release only"
        rows.append(
            (
                name.split("-")[0] + ("" if name.endswith(".whl") else " sdist"),
                tags,
                f"{path.stat().st_size / 1024:.0f} KiB",
                ", ".join(report.gates.get(name, [])) or "-",
                report.tested.get(name, "-"),
                published,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def build_calls(all_platforms: bool, dist: Path) -> list[list[str]]:
    """The build commands of the rehearsal: per manifest row exactly what that row's CI
    build job runs (`build.py --target ID --out DIST`), then what the sdist job runs."""
    # Rows this project's machines cannot build (`local = false`) are left to CI, except
    # those whose own OS could (a macOS or Windows rehearsal).
    rows = [
        t
        for t in build.select_targets(all_platforms, [])
        if t.local or build.build_mode(t) == "native"
    ]
    calls = [["--target", t.id, "--out", str(dist)] for t in rows]
    return [*calls, ["--sdist-only", "--out", str(dist)]]


def rebuild_calls(all_platforms: bool, out: Path) -> list[list[str]]:
    """The rebuild's command lines (CI's reproduce job runs them too): the build's, but
    the sdist job's wheel from the sdist, a check and not an artifact, is made once."""
    calls = build_calls(all_platforms, out)
    return [[*c, "--no-sdist-check"] if "--sdist-only" in c else c for c in calls]


# Where the rebuild happens: another directory than the checkout, with a cargo home and a
# target directory of its own. It stays between rehearsals (under target/, which a fresh
# clone does not have), so its paths, and with them the remapped compiler flags, are the
# same each time, and the copy keeps unchanged files as they were (repro.mirror): cargo
# reuses what it compiled there before and rebuilds what changed.
ELSEWHERE = ROOT / "target" / "elsewhere"


def rebuild_elsewhere(all_platforms: bool, dist: Path, report: Rehearsal) -> None:
    """Every artifact again: the same command lines from a copy of the checkout in
    another directory, with another cargo home and target directory, the same commit
    time; then byte for byte against the first build (scripts/repro.py)."""
    epoch = repro.release_epoch(ROOT)
    shutil.rmtree(ELSEWHERE / "rebuilt", ignore_errors=True)
    checkout = repro.copy_checkout(ROOT, ELSEWHERE / "checkout")
    env = tool_env(
        {
            "CARGO_HOME": str(repro.fresh_cargo_home(ELSEWHERE / "cargo-home", checkout)),
            "SOURCE_DATE_EPOCH": str(epoch),
        }
    )
    rebuilt = ELSEWHERE / "rebuilt"
    # As CI's build jobs run: at once (as many as there are cores), each in a target
    # directory of its own (rows share wheel kinds); the path remapping places each at
    # /target all the same.
    calls = rebuild_calls(all_platforms, rebuilt)
    running: list[subprocess.Popen[bytes]] = []

    def job(call: list[str]) -> int:
        name = call[1] if call[0] == "--target" else "sdist"
        process = subprocess.Popen(
            [sys.executable, str(checkout / "scripts" / "build.py"), *call],
            cwd=checkout,
            env={**env, "CARGO_TARGET_DIR": str(ELSEWHERE / "target" / name)},
            stdout=subprocess.DEVNULL,
        )
        running.append(process)
        return process.wait()

    signalled: set[int] = set()

    def stop() -> None:  # build.py stops its builds on SIGTERM (build.stop_builds), once
        for process in running:
            if process.pid not in signalled:
                signalled.add(process.pid)
                process.terminate()

    jobs = [partial(job, call) for call in calls]
    codes = run_at_once(jobs, os.cpu_count() or 1, stop)
    failed = [" ".join(c) for c, code in zip(calls, codes, strict=True) if code != 0]
    if failed:
        raise PipelineError("the rebuild failed: " + "; ".join(failed))
    problems = repro.compare(dist, rebuilt)
    if problems:
        raise PipelineError("not reproducible:\n  " + "\n  ".join(problems))
    count = len([p for p in dist.iterdir() if is_artifact(p.name)])
    print(f"    reproducible: {count}/{count} artifacts identical", flush=True)
    report.notes.append(f"reproducible: {count}/{count} artifacts identical")


def cell_report(outcomes: list[suite.WheelOutcome]) -> list[str]:
    """Every test cell of a release (the tag plan, scripts/plan.py), interpreter by
    interpreter: run here (and where, when in a Debian root), or why not."""
    ran = {o.wheel: o.passed for o in outcomes}
    targets = {t.id: t for t in load_targets()}
    tag = plan.plan("tag")
    release = tag["workflows"]["release"]
    lines = []
    for cell in release["test-native"] + release["test-container"]:
        target = targets[cell["id"]]
        for python in cell.get("pythons", cell.get("python", "")).split():
            wheels = [w for w in ran if target_of(w, [target]) and wheel_fits(w, python, target)]
            here = [label for w in wheels for label in ran[w] if suite.spelling(label) == python]
            if here:
                where = here[0].removeprefix(python).strip()
                lines.append(f"{target.id} {python}: tested here{f' {where}' if where else ''}")
            else:
                lines.append(f"{target.id} {python}: not run here: {why_not_here(target, python)}")
    for target in targets.values():
        if target.ci_test == "cibuildwheel":
            lines.append(
                f"{target.id}: not run here: {target.local_why} (CI: cibuildwheel tests it "
                f"in its build cell on {target.ci_build})"
            )
        elif target.ci_test == "none":
            lines.append(f"{target.id}: built and gated, not run in CI: {target.ci_test_why}")
    for row, why in tag["skipped"].items():
        lines.append(f"{row}: not shipped yet: {why}")
    for cell in release["test-freebsd"]:
        vm = targets[cell["id"]]
        what = "wheel and sdist" if cell["wheel"] else "sdist"
        lines.append(
            f"{vm.id} FreeBSD {cell['release']} ({what}): not run here: "
            f"{why_not_here(vm, vm.ci_test_pythons[0])}"
        )
    return lines


def why_not_here(target: Target, python: str) -> str:
    if target.ci_test == "container":
        in_ci = f"CI: container {target.ci_test_image} on {target.ci_test_runner}"
    elif target.ci_test == "vm":
        in_ci = f"CI: a {target.os} VM on {target.ci_test_runner}"
    else:
        in_ci = f"CI: {target.ci_test_runner}"
    if target.os != "linux":
        return f"needs a {target.os} machine ({in_ci})"
    if python.endswith("t"):
        return f"no free-threaded CPython can be had on this machine ({in_ci})"
    if target.libc == "musl":
        return f"no musl CPython on this machine ({in_ci})"
    if target.qemu:
        return f"here only Debian's python3 under qemu ({in_ci})"
    if runs_on(target, "linux", "x86_64", 64, "glibc"):
        for root in load_debian_roots():
            if root["arch"] == "amd64" and python in root["pythons"]:
                return f"runs in the Debian {root['suite']} root with --all-platforms"
    kind = "PyPy" if python.startswith("pypy") else "CPython"
    return f"no {kind} {python} on this machine (pass --python PATH to add one)"


def run(args: argparse.Namespace) -> Rehearsal:
    if args.to != "local":
        return stages(args, None)
    with local_index.serve(args.port) as index:
        print(f"    local index {index.url} (uploads need a password, no fallback)", flush=True)
        return stages(args, index)


def stages(args: argparse.Namespace, index: local_index.LocalIndex | None) -> Rehearsal:
    report = Rehearsal()
    dist: Path = args.out
    # Rehearsal builds start clean, then each call is a CI job's exact command line.
    check_clean = build.check_out_dir
    report.stage("clean", lambda: check_clean(dist, project_version(), clean=True))
    reports = []
    for call in build_calls(args.all_platforms, dist):
        parsed = build.parser().parse_args(call)
        reports.append(report.stage(f"build {' '.join(call[:2])}", partial(build.execute, parsed)))
    for built in reports:
        report.notes += [f"not built here: {n}" for n in built.not_buildable]
    for row in build.select_targets(args.all_platforms, []):
        if not row.local and build.build_mode(row) != "native":
            report.notes.append(
                f"not built here: {row.id}: {row.local_why} (CI builds it on {row.ci_build})"
            )
    version = reports[-1].version
    report.stage("reproduce", lambda: rebuild_elsewhere(args.all_platforms, dist, report))
    scope = "local" if args.all_platforms else "host"
    gated = report.stage("gate", lambda: gate.run(dist, scope))
    report.gates = gated.checks
    if gated.problems:
        raise StageFailed("gate", "; ".join(gated.problems))
    suite_args = [str(dist), *(["--debian-roots"] if args.all_platforms else [])]
    suite_args += [f"--python={python}" for python in args.pythons]
    outcomes = report.stage("test", lambda: suite.execute(suite.parser().parse_args(suite_args)))
    failures = [f"{o.wheel} on {', '.join(o.failed)}" for o in outcomes if o.failed]
    for o in outcomes:
        report.tested[o.wheel] = ", ".join(o.passed) or o.note
        report.notes += [f"{o.wheel}: skipped tests on {r}" for r in o.skipped_deps]
    report.tested[sdist_name(version)] = "a wheel built from it" if reports[-1].sdist_wheel else "-"
    if failures:
        raise StageFailed("test", "; ".join(failures))
    if index is not None:
        report.stage("publish", lambda: rehearse_local_publish(dist, version, index, report))
    else:
        urls = publish.INDEXES[args.to]
        done = report.stage("publish", lambda: publish.publish(dist, *urls))
        for name in done.uploaded + done.already_there:
            report.published[name] = args.to
    print("\n" + summary(dist, report, gated.release_only))
    print("\nCI test cells of a release (scripts/plan.py --event tag):")
    for line in cell_report(outcomes):
        print(f"  {line}")
    print(
        "\n"
        + "  ".join(f"{k} {v:.0f}s" for k, v in report.timings.items())
        + f"  total {sum(report.timings.values()):.0f}s"
    )
    for note in report.notes:
        print(f"  note: {note}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--all-platforms", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / ".rehearsal" / "dist")
    # No `pypi`: only the release workflow publishes there, from a tag, after every CI
    # cell and the release-scope gate passed. A rehearsal's set is never complete.
    parser.add_argument("--to", choices=["local", "testpypi"], default="local")
    parser.add_argument("--port", type=int)
    parser.add_argument(
        "--python",
        action="append",
        dest="pythons",
        help="an interpreter the test stage runs the suite on (repeatable; default: this one)",
    )
    args = parser.parse_args(argv)
    args.pythons = args.pythons or [sys.executable]
    on_sigterm_interrupt()
    try:
        run(args)
    except (StageFailed, PipelineError) as err:  # PipelineError: the local index
        print(f"\nrehearsal FAILED — {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\nrehearsal interrupted; the index server and temporary files were removed",
            file=sys.stderr,
        )
        return 130
    print("\nrehearsal passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
