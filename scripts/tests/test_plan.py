"""The plan (scripts/plan.py): every matrix from the manifest, priced per event. The
properties hold for the manifest as it is, with a row deleted and with a row added —
nothing here names a platform."""

from __future__ import annotations

import json
import re
from pathlib import Path

import build
import pipeline
import plan
import pytest
import tags
from conftest import SCRIPTS, copy_checkout, run_tests_in

EMULATED_CELL_LIMIT = 60
PULL_REQUEST_RUNNER_MINUTES = 400
PULL_REQUEST_CRITICAL_PATH = 30


def _rows(text: str) -> list[str]:
    head, *rows = re.split(r"\n(?=\[\[target\]\]\n)", text)
    return [head, *rows]


def _manifest_without_a_row(tmp_path: Path) -> Path:
    """The manifest minus its first container row that no pull request needs."""
    parts = _rows(pipeline.MANIFEST.read_text(encoding="utf-8"))
    drop = next(
        i
        for i, row in enumerate(parts)
        if 'ci_test = "container"' in row and "pull_request" not in row
    )
    path = tmp_path / "manifest.toml"
    path.write_text("\n".join(p for i, p in enumerate(parts) if i != drop), encoding="utf-8")
    return path


def _manifest_with_a_row(tmp_path: Path) -> Path:
    """The manifest plus a new platform: an emulated row copied under another id."""
    parts = _rows(pipeline.MANIFEST.read_text(encoding="utf-8"))
    template = next(r for r in parts if "ci_test_qemu = true" in r and "pull_request" not in r)
    new = re.sub(r'^id = ".*"$', 'id = "linux-loongarch64"', template, flags=re.M)
    new = re.sub(r"^machines = .*$", 'machines = ["loongarch64"]', new, flags=re.M)
    new = re.sub(r"^rust = .*$", 'rust = "loongarch64-unknown-linux-gnu"', new, flags=re.M)
    new = re.sub(r"^platform = .*$", 'platform = "manylinux_2_36_loongarch64"', new, flags=re.M)
    index = next(
        i
        for i, r in enumerate(parts)
        if r.startswith("[[debian_root]]") or "\n[[debian_root]]" in r
    )
    path = tmp_path / "manifest.toml"
    path.write_text("\n".join([*parts[:index], new, *parts[index:]]), encoding="utf-8")
    return path


@pytest.fixture(params=["as it is", "a row deleted", "a row added"])
def manifest(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    make = {
        "as it is": lambda _: pipeline.MANIFEST,
        "a row deleted": _manifest_without_a_row,
        "a row added": _manifest_with_a_row,
    }[request.param]
    return make(tmp_path)


def test_a_full_plan_builds_every_row_and_tests_every_wheel(manifest: Path) -> None:
    targets = pipeline.load_targets(manifest)
    release = plan.plan("tag", path=manifest)["workflows"]["release"]
    assert sorted(c["id"] for c in release["build"]) == sorted(t.id for t in targets)
    picked: set[str] = set()
    for cell in release["test-native"] + release["test-container"]:
        target = next(t for t in targets if t.id == cell["id"])
        wheels = target.wheel_names("1.0.0")
        for python in cell.get("pythons", cell.get("python", "")).split():
            chosen = tags.picks(python, target.platform, wheels)
            assert chosen, f"{python} in {cell} picks no wheel of {target.id}"
            picked.add(chosen)
    for cell in release["test-freebsd"]:
        if cell["wheel"]:
            picked |= {n for t in targets if t.ci_test == "vm" for n in t.wheel_names("1.0.0")}
    for target in targets:
        if target.ci_test == "cibuildwheel":  # tested by cibuildwheel in its build cell
            assert target.ci_cibuildwheel, target.id
            picked |= set(target.wheel_names("1.0.0"))
        elif target.ci_test == "none":  # built and gated, not run: the row says why
            assert target.ci_test_why, target.id
            picked |= set(target.wheel_names("1.0.0"))
    expected = {n for t in targets for n in t.wheel_names("1.0.0")}
    assert picked == expected, sorted(expected - picked)


def test_a_row_not_shipped_yet_is_planned_nowhere_and_says_why(tmp_path: Path) -> None:
    """A row with `skip` (its reason) is neither built nor gated; the plan says why."""
    parts = _rows(pipeline.MANIFEST.read_text(encoding="utf-8"))
    host = pipeline.host_target(pipeline.load_targets()).id  # the rehearsal's own row stays
    index = next(
        i for i, r in enumerate(parts) if 'ci_test = "native"' in r and f'"{host}"' not in r
    )
    row = re.search(r'^id = "(.*)"$', parts[index], flags=re.M)
    assert row is not None
    parts[index] = parts[index].replace("\nos = ", '\nskip = "not yet: a test"\nos = ', 1)
    path = tmp_path / "manifest.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    result = plan.plan("tag", path=path)
    assert result["skipped"][row[1]] == "not yet: a test"
    assert row[1] not in {c["id"] for c in result["workflows"]["release"]["build"]}
    assert row[1] not in {t.id for t in pipeline.load_targets(path)}  # nor gated
    ids = {c["id"] for c in plan.plan("tag")["workflows"]["release"]["build"]}
    for built, why in plan.plan("tag")["not_run"].items():
        assert built in ids
        assert why


def test_no_emulated_cell_is_planned_over_an_hour(manifest: Path) -> None:
    result = plan.plan("tag", path=manifest)
    emulated = [c for c in result["workflows"]["release"]["test-container"] if c["qemu"]]
    assert emulated
    for cell in emulated:
        assert cell["minutes"] <= EMULATED_CELL_LIMIT, cell
        # Under emulation each wheel kind is tested on its oldest and newest interpreter.
        assert len(cell["pythons"].split()) <= 2, cell


def test_a_pull_request_gets_its_answer_in_half_an_hour(manifest: Path) -> None:
    estimate = plan.plan("pull_request", path=manifest)["estimate"]
    assert estimate["runner_minutes"] <= PULL_REQUEST_RUNNER_MINUTES
    assert estimate["critical_path_minutes"] <= PULL_REQUEST_CRITICAL_PATH


def test_the_pull_request_subset_covers_what_ci_yml_cannot() -> None:
    """A zig cross build, a musllinux build, an emulated cell on the oldest and newest
    interpreter, and the FreeBSD sdist path."""
    targets = {t.id: t for t in pipeline.load_targets()}
    release = plan.plan("pull_request")["workflows"]["release"]
    built = [targets[c["id"]] for c in release["build"]]
    assert any("--zig" in build.compatibility_args(t) for t in built)
    assert any(t.libc == "musl" for t in built)
    emulated = [c for c in release["test-container"] if c["qemu"]]
    assert emulated
    tested = {p for c in emulated for p in c["pythons"].split()}
    supported = pipeline.supported_pythons()
    gil = [p for p in supported if tags.parse_label(p)[0] == "cpython" and not p.endswith("t")]
    assert {gil[0], gil[-1]} <= tested
    assert any(not c["wheel"] for c in release["test-freebsd"])
    assert release["gate"] == []
    assert release["publish"] == []


def test_what_each_event_runs() -> None:
    by_event = {e: plan.plan(e)["workflows"] for e in plan.EVENTS}
    assert set(by_event["push"]) == {"ci"}
    assert set(by_event["pull_request"]) == {"ci", "release"}
    for event in ("schedule", "workflow_dispatch", "tag"):
        release = by_event[event]["release"]
        assert len(release["build"]) == len(pipeline.load_targets()), event
        assert release["gate"], event
        assert bool(release["publish"]) == (event == "tag"), event
        assert bool(release["verify-release"]) == (event == "tag"), event
    labelled = plan.plan("pull_request", ("docs", plan.FULL_BUILD_LABEL))
    assert labelled["full"]
    assert labelled["workflows"]["release"]["build"] == by_event["schedule"]["release"]["build"]
    assert labelled["workflows"]["release"]["publish"] == []
    with pytest.raises(SystemExit):
        plan.plan("release")


def test_the_estimate_adds_up() -> None:
    """Runner minutes are every planned cell; the critical path is at least the plan job
    plus the longest test cell after its build, and never more than the runner minutes."""
    result = plan.plan("tag")
    estimate = result["estimate"]
    assert estimate["runner_minutes"] == pytest.approx(sum(estimate["jobs"].values()), abs=10)
    assert estimate["critical_path_minutes"] < estimate["runner_minutes"]
    est = pipeline.load_manifest()["estimate"]
    assert estimate["critical_path_minutes"] >= est["plan"] + est["gate"] + est["publish"]


def test_github_outputs_are_one_json_line_per_job(tmp_path: Path) -> None:
    out = tmp_path / "github-output"
    assert plan.main(["--event", "tag", "--github-output", str(out)]) == 0
    written = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert set(written) == set(plan.workflow_needs("release")) - {"plan"}
    jobs = plan.plan("tag")["workflows"]["release"]
    for name, value in written.items():
        assert json.loads(value) == jobs.get(name, []), name


@pytest.mark.slow
def test_deleting_a_platform_is_deleting_its_row(tmp_path: Path) -> None:
    """A checkout whose manifest lost a row passes the pipeline's contract tests with no
    other change."""
    copy = copy_checkout(tmp_path / "checkout")
    manifest = copy / "scripts" / "manifest.toml"
    manifest.write_text(_manifest_without_a_row(tmp_path).read_text(encoding="utf-8"))
    result = run_tests_in(copy, "test_workflows.py", "test_plan.py", "test_pipeline.py")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (SCRIPTS / "manifest.toml").read_text() != manifest.read_text()
