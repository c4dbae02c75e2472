#!/usr/bin/env python3
"""The plan: what CI runs for an event, and what it costs.

    plan.py --event {pull_request,push,schedule,workflow_dispatch,tag} [--labels L,...]
            [--github-output FILE --workflow {release,ci}]

Prints JSON: every matrix of both workflows for the event, which single jobs run, and
an `estimate` (runner minutes, and minutes on the critical path through the workflows'
own `needs:`) from the expected minutes in scripts/manifest.toml. Every matrix comes
from the manifest: a platform added or deleted there is added or deleted here.

  pull_request  ci.yml, and the release subset the manifest marks (pull_request_*): the
                rows ci.yml's cibuildwheel cannot cover (a zig cross build, musllinux,
                an emulated big-endian cell, the FreeBSD sdist path); with the label
                `full-build`, the full release matrix (never the publishing jobs)
  push          ci.yml (pushes to main)
  schedule, workflow_dispatch  the full release matrix, without publishing
  tag           the full release matrix, then publish, GitHub Release, verification
In the workflows, the plan job passes the event; each job runs when the plan lists it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import (
    MANIFEST,
    ROOT,
    Target,
    host_target,
    kind_of,
    load_manifest,
    load_targets,
)
from tags import parse_label, picks

EVENTS = ("pull_request", "push", "schedule", "workflow_dispatch", "tag")
FULL_BUILD_LABEL = "full-build"
WORKFLOWS = {"release": "release.yml", "ci": "ci.yml"}


def sessions(python: str) -> int:
    """pytest sessions a cell runs for one interpreter: a free-threaded interpreter runs
    the suite twice, the second time under pytest-run-parallel (scripts/suite.py)."""
    return 2 if parse_label(python)[2] else 1


def setup_python_version(python: str) -> str:
    """actions/setup-python's spelling of an interpreter: "pypy3.11" is PyPy 7.3 (ABI
    pp73, what our PyPy wheel is for); setup-python's own "pypy3.11" would be the
    newest PyPy for 3.11, a later ABI that picks no wheel of ours."""
    impl, _, _, pp = parse_label(python)
    if impl == "pypy":
        return f"{python.split('-', maxsplit=1)[0]}-v{pp[0]}.{pp[1:]}"
    return python


def build_minutes(target: Target, est: dict[str, float]) -> float:
    if target.build_minutes is not None:
        return target.build_minutes
    return est["build_setup"] + est["build_wheel"] * len(target.abis)


def test_cells(target: Target, pythons: tuple[str, ...], est: dict[str, float]) -> dict[str, Any]:
    """The test cells of one row for these interpreters, by job: one native cell per
    interpreter; a container row in one cell, or under emulation one cell per wheel kind
    (each well under an hour); a VM cell per FreeBSD release."""
    if target.ci_test == "native":
        cells = []
        for python in pythons:
            cell: dict[str, Any] = {"id": target.id, "runner": target.ci_test_runner}
            cell["python"] = python
            cell["setup_python"] = setup_python_version(python)
            if target.ci_python_arch:
                cell["arch"] = target.ci_python_arch
            runs = sessions(python)
            cells.append((cell, est["test_setup"] + est["session"] * runs))
        return {"test-native": cells}
    groups: dict[str, list[str]] = {}
    for python in pythons:
        key = "all"
        if target.ci_test_qemu:  # under emulation, a cell per wheel kind
            key = kind_of(picks(python, target.platform, target.wheel_names("0")) or "") or ""
        groups.setdefault(key, []).append(python)
    per_session = est["session_emulated"] if target.ci_test_qemu else est["session"]
    cells = []
    for key, group in groups.items():
        runs = sum(sessions(p) for p in group)
        cell = {
            "id": target.id,
            "name": target.id if key == "all" else f"{target.id} {key}",
            "runner": target.ci_test_runner,
            "image": target.ci_test_image,
            "platform": target.ci_test_platform,
            "qemu": target.ci_test_qemu,
            "pythons": " ".join(group),
        }
        cells.append((cell, est["container_setup"] + per_session * runs))
    return {"test-container": cells}


def freebsd_cells(target: Target, releases: tuple[str, ...], est: dict[str, float]) -> Any:
    # pip matches a FreeBSD wheel's tag against `uname -r` exactly: the wheel is tested
    # on the one release its tag names ("14.4" of 14.4-RELEASE), the sdist path on every
    # release.
    tagged = target.freebsd_release.split("-")[0]
    return [
        (
            {"id": target.id, "runner": target.ci_test_runner, "release": r, "wheel": r == tagged},
            est["freebsd"],
        )
        for r in releases
    ]


def release_jobs(
    targets: list[Target], scope: str, est: dict[str, float], manifest: dict[str, Any]
) -> dict[str, Any]:
    """scope: "subset" (a pull request), "full" or "tag"."""
    jobs: dict[str, list[tuple[dict[str, Any], float]]] = {
        "build": [],
        "test-native": [],
        "test-container": [],
        "test-freebsd": [],
    }
    full = scope != "subset"
    for target in targets:
        if target.ci_test == "vm":
            releases = target.ci_test_releases if full else target.pull_request_releases
            cells = freebsd_cells(target, releases, est)
            wheel = full or any(c["wheel"] for c, _ in cells)
            jobs["test-freebsd"] += cells
            if wheel:
                jobs["build"].append((build_cell(target), build_minutes(target, est)))
            continue
        if target.ci_test in ("cibuildwheel", "none"):
            # cibuildwheel tests the wheel in its build cell, where the platform runs
            # (ci_test "none": built and gated, not run, the manifest says why).
            if full:
                jobs["build"].append((build_cell(target), build_minutes(target, est)))
            continue
        pythons = target.ci_test_pythons if full else target.pull_request_pythons
        if not pythons:
            continue
        jobs["build"].append((build_cell(target), build_minutes(target, est)))
        for job, cells in test_cells(target, pythons, est).items():
            jobs[job] += cells
    singles = {
        # The reusable build workflow's second job: the sdist, built for every event.
        "build/sdist": est["sdist"],
        "gate": est["gate"] if full else 0,
        "publish": est["publish"] if scope == "tag" else 0,
        "github-release": est["github_release"] if scope == "tag" else 0,
    }
    out: dict[str, Any] = {"plan": [({}, est["plan"])], **jobs}
    out |= {name: [({}, minutes)] if minutes else [] for name, minutes in singles.items()}
    # The byte-for-byte rebuild: the row this project's machines build (the rehearsal
    # rebuilds it too) and the sdist, in another directory with another cargo home.
    host = host_target(targets)
    reproduce = {"id": host.id, "runner": host.ci_build}
    out["reproduce"] = [(reproduce, est["reproduce"])] if full else []
    verify = manifest["runners"]["verify_release"] if scope == "tag" else []
    out["verify-release"] = [
        ({"runner": r, "full": i == 0}, est["verify_release"]) for i, r in enumerate(verify)
    ]
    return out


def build_cell(target: Target) -> dict[str, Any]:
    cell: dict[str, Any] = {"id": target.id, "runner": target.ci_build}
    if target.os == "android" and target.ci_test == "cibuildwheel":
        cell["kvm"] = True  # the emulator the suite runs on
    if target.ci_python_arch:
        cell["arch"] = target.ci_python_arch
    return cell


def ci_jobs(est: dict[str, float], manifest: dict[str, Any], event: str) -> dict[str, Any]:
    """ci.yml: the test command, and cibuildwheel on each runner (CIBW_BUILD): on main
    every CPython of the manifest; on a pull request the oldest and newest with the GIL
    and each free-threaded one, manylinux only (the release subset builds and tests a
    musllinux wheel)."""
    cpythons = [p for p in manifest["pythons"]["supported"] if parse_label(p)[0] == "cpython"]
    gil = [p for p in cpythons if not parse_label(p)[2]]
    if event == "pull_request":
        cpythons = [p for p in cpythons if p in (gil[0], gil[-1]) or parse_label(p)[2]]
    build = " ".join(f"cp{p.replace('.', '')}-*" for p in cpythons)
    skip = "*-musllinux_*" if event == "pull_request" else ""
    minutes = est["cibuildwheel_setup"] + est["cibuildwheel_python"] * len(cpythons)
    runners = manifest["runners"]["cibuildwheel"]
    return {
        "plan": [({}, est["plan"])],
        "checks": [({}, est["checks"])],
        "wheels": [({"runner": r, "build": build, "skip": skip}, minutes) for r in runners],
    }


def workflow_needs(workflow: str) -> dict[str, list[str]]:
    """Each job's `needs:` as the workflow file says it."""
    import yaml

    text = (ROOT / ".github" / "workflows" / WORKFLOWS[workflow]).read_text(encoding="utf-8")
    jobs = yaml.safe_load(text)["jobs"]
    needs = {}
    for name, job in jobs.items():
        value = job.get("needs", [])
        needs[name] = [value] if isinstance(value, str) else list(value)
    return needs


def critical_path(jobs: dict[str, list[tuple[dict[str, Any], float]]], workflow: str) -> float:
    """The longest chain of planned jobs through the workflow's `needs:`; a job's time
    is its longest cell (cells run side by side)."""
    needs = workflow_needs(workflow)
    # "build/sdist" is a job of the reusable workflow the caller's job "build" runs.
    unknown = {name.split("/")[0] for name in jobs} - set(needs)
    if unknown:
        raise SystemExit(f"plan.py: {WORKFLOWS[workflow]} has no job(s) {sorted(unknown)}")
    longest: dict[str, float] = {}
    for name, cells in jobs.items():
        caller = name.split("/")[0]
        longest[caller] = max([longest.get(caller, 0.0), *(m for _, m in cells)])
    finish: dict[str, float] = {}

    def done(name: str) -> float:
        if name not in finish:
            start = max((done(n) for n in needs[name]), default=0.0)
            finish[name] = start + longest.get(name, 0.0)
        return finish[name]

    return max(done(name) for name in needs)


def plan(event: str, labels: tuple[str, ...] = (), path: Path = MANIFEST) -> dict[str, Any]:
    if event not in EVENTS:
        raise SystemExit(f"plan.py: unknown event {event!r} (one of {', '.join(EVENTS)})")
    manifest = load_manifest(path)
    est = {k: float(v) for k, v in manifest["estimate"].items()}
    targets = load_targets(path)
    full = event in ("schedule", "workflow_dispatch", "tag") or FULL_BUILD_LABEL in labels
    workflows: dict[str, dict[str, Any]] = {}
    if event in ("pull_request", "push"):
        workflows["ci"] = ci_jobs(est, manifest, event)
    if event != "push":
        scope = "tag" if event == "tag" else "full" if full else "subset"
        workflows["release"] = release_jobs(targets, scope, est, manifest)
    runner_minutes = sum(
        m for jobs in workflows.values() for cells in jobs.values() for _, m in cells
    )
    critical = max(critical_path(jobs, name) for name, jobs in workflows.items())
    return {
        "event": event,
        "full": full,
        "not_run": {t.id: t.ci_test_why for t in targets if t.ci_test == "none"},
        "skipped": {row["id"]: row["skip"] for row in manifest["target"] if "skip" in row},
        # Each cell with its expected minutes (the workflows ignore the key).
        "workflows": {
            name: {
                job: [{**cell, "minutes": m} for cell, m in cells] for job, cells in jobs.items()
            }
            for name, jobs in workflows.items()
        },
        "estimate": {
            "runner_minutes": round(runner_minutes),
            "critical_path_minutes": round(critical),
            "jobs": {
                f"{name}/{job}": round(sum(m for _, m in cells))
                for name, jobs in workflows.items()
                for job, cells in jobs.items()
                if cells
            },
        },
    }


def github_outputs(result: dict[str, Any], workflow: str) -> str:
    """`key=value` lines for $GITHUB_OUTPUT: each job's matrix as JSON (`[]` when the
    event does not run it), read with fromJSON in the workflow."""
    jobs = result["workflows"].get(workflow, {})
    names = [name for name in workflow_needs(workflow) if name != "plan"]
    lines = [f"{name}={json.dumps(jobs.get(name, []), separators=(',', ':'))}" for name in names]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--event", choices=EVENTS, required=True)
    parser.add_argument("--labels", default="", help="a pull request's labels, comma-separated")
    parser.add_argument("--github-output", type=Path, help="append the matrices here")
    parser.add_argument("--workflow", choices=sorted(WORKFLOWS), default="release")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = plan(args.event, tuple(filter(None, args.labels.split(","))))
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as out:
            out.write(github_outputs(result, args.workflow))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
