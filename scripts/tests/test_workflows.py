"""Contract test: the workflows take every matrix from the plan, say what the project
promises, and the linters agree. Nothing here lists a platform: rows come from the
manifest through scripts/plan.py."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import build
import gate
import pipeline
import plan
import pytest
import tomllib
import yaml
from conftest import ROOT, SCRIPTS, copy_checkout, run_tests_in

WORKFLOWS = ROOT / ".github" / "workflows"
PIN = re.compile(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
RELEASE_ONLY_JOBS = ("publish", "github-release", "verify-release")


def load(name: str, root: Path = ROOT) -> dict[str, Any]:
    data = yaml.safe_load((root / ".github" / "workflows" / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def release() -> dict[str, Any]:
    return load("release.yml")


@pytest.mark.parametrize("name", ["release.yml", "ci.yml", "build.yml"])
def test_hardening(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, job_id
        if "uses" in job:  # a call of the reusable build workflow
            # GitHub's self-repository form: this commit's build.yml, never another ref.
            assert job["uses"] == "$/.github/workflows/build.yml", job_id
            continue
        assert "timeout-minutes" in job, job_id
        for step in job["steps"]:
            uses, given = step.get("uses", ""), step.get("with", {})
            if "actions/checkout" in uses:
                assert given["persist-credentials"] is False, job_id
            assert "cache" not in uses, job_id
            assert "sccache" not in str(given), job_id
            if "docker/setup-qemu-action" in uses:
                # Its default caches the binfmt image in the Actions cache, and runs the
                # privileged installer `latest`: pinned by digest instead.
                assert given["cache-image"] is False, job_id
                assert re.search(r"tonistiigi/binfmt:[\w.-]+@sha256:[0-9a-f]{64}$", given["image"])
            if "vmactions/freebsd-vm" in uses:
                assert given["disable-cache"] is True, job_id  # no caches in a release run
            if "actions/setup-python" in uses and "matrix." in str(given["python-version"]):
                # The plan may name a version that has only release candidates yet.
                assert given["allow-prereleases"] is True, job_id
            if "actions/upload-artifact" in uses:
                # A re-run uploads the same name again; without this it is refused.
                assert given["overwrite"] is True, job_id
    for line in (WORKFLOWS / name).read_text().splitlines():
        if re.match(r"\s*-?\s*uses:", line) and "$/.github/" not in line:
            assert PIN.search(line), f"not pinned by SHA with a version comment: {line}"


def test_every_matrix_comes_from_the_plan() -> None:
    """Each matrix is the plan job's output of the same name, and the plan job declares
    exactly the outputs scripts/plan.py writes for its workflow."""
    for workflow in plan.WORKFLOWS:
        jobs = load(plan.WORKFLOWS[workflow])["jobs"]
        declared = set(jobs["plan"]["outputs"])
        written = plan.github_outputs(plan.plan("tag"), workflow).splitlines()
        assert declared == {line.split("=", 1)[0] for line in written}
        for name, job in jobs.items():
            if name == "plan":
                continue
            assert "plan" in job["needs"], name
            source = f"needs.plan.outputs.{name}"
            # Planned or not (the build job always builds the sdist: its cells decide).
            assert source in str(job.get("if")) + str(job.get("with")), name
            if "strategy" in job:
                assert job["strategy"]["matrix"] == {"include": f"${{{{ fromJSON({source}) }}}}"}
    build = load("build.yml")["jobs"]["wheels"]
    assert build["strategy"]["matrix"] == {"include": "${{ fromJSON(inputs.cells) }}"}
    caller = load("release.yml")["jobs"]["build"]
    assert caller["with"]["cells"] == "${{ needs.plan.outputs.build }}"


def test_no_workflow_names_a_platform() -> None:
    """Target ids, images, per-platform runners and interpreters live in the manifest."""
    manifest = pipeline.load_manifest()
    facts = set()
    for target in pipeline.load_targets():
        facts |= {target.id, target.rust, target.ci_test_platform, target.ci_python_arch}
        facts |= {target.ci_test_image or "", *target.ci_test_releases}
    facts |= set(manifest["runners"]["cibuildwheel"]) - {"ubuntu-24.04"}
    facts |= {p for p in manifest["pythons"]["supported"] if p not in ("3.11", "3.12")}
    facts -= {"", "x64"}
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        named = sorted(f for f in facts if re.search(rf"(?<![\w.-]){re.escape(f)}(?![\w-])", text))
        assert not named, f"{path.name} names {named}"


def test_release_trigger_and_concurrency(release: dict[str, Any]) -> None:
    assert release["on"]["push"] == {"tags": ["v[0-9]*"]}
    assert "workflow_dispatch" in release["on"]
    assert release["on"]["schedule"]
    # A label added to a pull request plans it again (the full-build label).
    assert "labeled" in release["on"]["pull_request"]["types"]
    assert "refs/tags/" in release["concurrency"]["cancel-in-progress"]
    paths = release["on"]["pull_request"]["paths"]
    for path in ("src/**", "crates/**", "python/**", "tests/**", "Cargo.lock", "README.md"):
        assert path in paths, path
    event = release["jobs"]["plan"]["steps"][-1]["env"]["EVENT"]
    assert "refs/tags/" in event
    assert "'tag'" in event


def test_ci_runs_on_main_are_never_cancelled() -> None:
    # GitHub cancels a run still pending in a concurrency group when a newer one
    # arrives, cancel-in-progress or not: a push to main must get a group of its own.
    concurrency = load("ci.yml")["concurrency"]
    assert "github.run_id" in concurrency["group"]
    assert "github.event_name == 'pull_request' && github.ref" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_builds_attest_in_the_reusable_workflow(release: dict[str, Any]) -> None:
    """SLSA Build Level 3: the artifacts are built and attested by build.yml, called as a
    reusable workflow; verify-release checks that build.yml signed them."""
    build = load("build.yml")
    assert list(build["on"]) == ["workflow_call"]
    for name, job in build["jobs"].items():
        assert job["permissions"] == {
            "contents": "read",
            "id-token": "write",
            "attestations": "write",
        }, name
        attest = [s for s in job["steps"] if "actions/attest" in s.get("uses", "")]
        upload = [i for i, s in enumerate(job["steps"]) if "upload-artifact" in s.get("uses", "")]
        assert attest, name
        assert attest[0]["if"] == "inputs.attest"
        assert job["steps"].index(attest[0]) < upload[0], name  # what is uploaded is attested
    caller = release["jobs"]["build"]
    assert caller["with"]["attest"] == "${{ github.event_name != 'pull_request' }}"
    # Checked before publishing, and again on the GitHub Release's assets.
    script = (SCRIPTS / "ci_verify_provenance.sh").read_text()
    assert '--signer-workflow "$repository/.github/workflows/build.yml"' in script
    for job in ("gate", "verify-release"):
        assert "scripts/ci_verify_provenance.sh" in str(release["jobs"][job]), job
        assert release["jobs"][job]["permissions"]["attestations"] == "read", job
    assert "attest" not in release["jobs"]  # no second, Level 2 attestation


def test_publish_needs_everything_and_holds_one_permission(release: dict[str, Any]) -> None:
    jobs = release["jobs"]
    tests = {name for name in jobs if name.startswith("test-")}
    assert set(jobs["gate"]["needs"]) == {"plan", "build", *tests}
    assert "contains(needs.*.result, 'failure')" in jobs["gate"]["if"]
    publish = jobs["publish"]
    # The gate passed the set, and an independent rebuild matched it byte for byte.
    assert set(publish["needs"]) == {"plan", "gate", "reproduce"}
    assert "scripts/repro.py compare dist" in str(jobs["reproduce"])
    rebuilt = {s.get("env", {}).get("REBUILT") for s in jobs["reproduce"]["steps"]} - {None}
    assert rebuilt == {"${{ runner.temp }}/rebuilt"}
    assert set(jobs["github-release"]["needs"]) == {"plan", "gate", "publish"}
    verify = jobs["verify-release"]
    assert set(verify["needs"]) == {"plan", "publish", "github-release"}
    assert verify["permissions"] == {"contents": "read", "attestations": "read"}
    for name in RELEASE_ONLY_JOBS:
        assert "startsWith(github.ref, 'refs/tags/v')" in jobs[name]["if"], name
    assert publish["permissions"] == {"contents": "read", "id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert "secrets." not in str(publish)
    script = (SCRIPTS / "ci_publish.sh").read_text()
    assert "pypi.txt" in script
    assert "scripts/publish.py" in script
    assert "--attestations" in script
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    gate_run = " ".join(str(s.get("run", "")) for s in jobs["gate"]["steps"])
    assert "scripts/gate.py dist --scope release" in gate_run


def test_release_only_files_never_go_to_pypi() -> None:
    targets = pipeline.load_targets()
    pypi, release_only = gate.split_for_pypi(sorted(pipeline.expected_artifacts("1.0.0", targets)))
    assert release_only == sorted(
        name for t in targets if not t.pypi for name in t.wheel_names("1.0.0")
    )
    assert all(pipeline.pypi_accepts(name) for name in pypi)
    assert pypi[-1].endswith(".tar.gz")


def test_the_workflows_derive_from_maturin_generate_ci(release: dict[str, Any]) -> None:
    """Regenerated here, with our settings: what maturin's own workflow does for a
    release, ours does too — the same build arguments (and zig for Linux), an sdist,
    publishing from a tag through the same environment with an OIDC identity."""
    maturin = shutil.which("maturin", path=pipeline.tool_env()["PATH"])
    assert maturin
    generated = yaml.safe_load(
        subprocess.run(
            [maturin, "generate-ci", "github"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    )
    # Its build arguments are every build's (pyproject's `args`, and zig for Linux).
    linux = str(generated["jobs"]["linux"]["steps"])
    assert "--release" in linux
    assert "--locked" in linux
    for target in pipeline.load_targets():
        args = build.maturin_args(target, "abi3", "cross")
        assert {"--release", "--locked"} <= set(args), target.id
        if target.os == "linux":
            assert "--zig" in linux
            assert "--zig" in args, target.id
    # Its sdist and release jobs are ours: the sdist in build.yml, publishing from a
    # tag through the same environment with an OIDC identity (trusted publishing).
    assert "sdist" in generated["jobs"]
    assert "sdist" in load("build.yml")["jobs"]
    theirs, ours = generated["jobs"]["release"], release["jobs"]["publish"]
    assert ours["environment"]["name"] == theirs["environment"]
    assert ours["permissions"]["id-token"] == theirs["permissions"]["id-token"] == "write"
    assert "refs/tags/" in theirs["if"]
    assert "refs/tags/" in ours["if"]


def test_ci_runs_the_readme_command_and_cibuildwheel() -> None:
    ci = load("ci.yml")
    assert "python3 scripts/dev.py test" in str(ci["jobs"]["checks"]["steps"])
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("python3 scripts/dev.py test")
    wheels = ci["jobs"]["wheels"]
    assert wheels["steps"][-1]["env"]["CIBW_BUILD"] == "${{ matrix.build }}"
    assert wheels["steps"][-1]["env"]["CIBW_SKIP"] == "${{ matrix.skip }}"
    # Main: every CPython of the manifest; a pull request: some of them, manylinux only.
    (full, *_) = plan.plan("push")["workflows"]["ci"]["wheels"]
    (some, *_) = plan.plan("pull_request")["workflows"]["ci"]["wheels"]
    supported = pipeline.supported_pythons()
    assert len(full["build"].split()) == len([p for p in supported if not p.startswith("pypy")])
    assert set(some["build"].split()) < set(full["build"].split())
    assert (full["skip"], some["skip"]) == ("", "*-musllinux_*")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    assert "build" not in config  # the plan's CIBW_BUILD is the one list
    free_threaded = next(o for o in config["overrides"] if o["select"] == "cp31?t-*")
    assert "--parallel-threads" in free_threaded["test-command"]
    # A Windows arch other than the runner's own is cross-built (maturin's build backend
    # passes --target for a 32-bit Python); rustup adds no target by itself.
    # (The narrower row of a runner that builds two: x86 beside x64.)
    windows = [t for t in pipeline.load_targets() if t.os == "win32"]
    crossed = [
        t for t in windows if any(o.ci_build == t.ci_build and o.bits > t.bits for o in windows)
    ]
    assert crossed
    for target in crossed:
        assert f"rustup target add {target.rust}" in config["windows"]["before-all"]
    macos = config["macos"]["environment"]["MACOSX_DEPLOYMENT_TARGET"]
    floors = [t.platform for t in pipeline.load_targets() if t.platform.endswith("_x86_64")]
    assert f"macosx_{macos.replace('.', '_')}_x86_64" in floors


def test_dependabot_covers_actions_cargo_and_python_with_cooldown() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "cargo", "uv"}
    assert all(u["cooldown"]["default-days"] >= 7 for u in ecosystems.values())


def _tool(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd), cwd=cwd, env=pipeline.tool_env(), capture_output=True, text=True, check=False
    )


def test_zizmor_pedantic_has_no_findings() -> None:
    result = _tool(
        "zizmor",
        "--offline",
        "--persona",
        "pedantic",
        ".github/workflows",
        ".github/dependabot.yml",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_actionlint_with_shellcheck_has_no_findings(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "actionlint needs shellcheck to check run: scripts"
    result = _tool("actionlint", f"-shellcheck={shellcheck}")
    assert result.returncode == 0, result.stdout + result.stderr
    # Prove shellcheck is really in the loop: an unquoted variable must be reported.
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $HOME/$1\n"
    )
    caught = _tool("actionlint", f"-shellcheck={shellcheck}", str(bad))
    assert caught.returncode != 0
    assert "SC2086" in caught.stdout + caught.stderr


def test_workflows_match_the_schema() -> None:
    result = _tool(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, sorted(WORKFLOWS.glob("*.yml"))),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [*sorted(str(p) for p in SCRIPTS.glob("*.sh")), str(ROOT / ".ci/run")]
    result = _tool("shellcheck", *scripts)
    assert result.returncode == 0, result.stdout


def _dependabot_bump(root: Path, action: str) -> int:
    """What dependabot writes for a new release of `action`: the SHA and the version
    comment on every `uses:` line, nothing else."""
    bumped = 0
    for path in (root / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        new = re.sub(
            rf"(uses: {re.escape(action)}@)[0-9a-f]{{40}} # v(\d+)\.(\d+)\.(\d+)",
            lambda m: f"{m[1]}{'a' * 40} # v{m[2]}.{int(m[3]) + 1}.0",
            text,
        )
        bumped += text != new
        path.write_text(new)
    return bumped


@pytest.mark.slow
def test_a_dependabot_bump_passes_these_tests(tmp_path: Path) -> None:
    """A copy of the checkout with actions/checkout bumped the way dependabot does it
    passes every test of this file: nothing records pins beside the `uses:` lines."""
    copy = copy_checkout(tmp_path / "checkout")
    assert _dependabot_bump(copy, "actions/checkout") == len(list(WORKFLOWS.glob("*.yml")))
    result = run_tests_in(copy, "test_workflows.py")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


# --- One path: every script call in a workflow is a command line the script accepts,
# and the rehearsal runs the build jobs' exact command lines. ---------------------------

_EXPRESSIONS = {
    r"\$\{\{\s*steps\.[\w-]+\.outputs\.python-path\s*\}\}": "/opt/hostedtoolcache/python",
    r"\$\{\{\s*github\.ref_name\s*\}\}": "v1.0.0",
    r"\$\{\{\s*github\.token\s*\}\}": "token",
    r"\$\{\{[^}]*github\.event_name\s*\}\}": "pull_request",
}


def _substitute(text: str, row: dict[str, Any], env: dict[str, str]) -> str:
    text = re.sub(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", lambda m: str(row.get(m[1], "")), text)
    for pattern, value in _EXPRESSIONS.items():
        text = re.sub(pattern, value, text)
    text = re.sub(r"\$\{\{.*?\}\}", "expr", text)
    for name, value in env.items():
        alternative = r"\1" if value else ""
        text = re.sub(rf"\$\{{{name}:\+(.*?)\}}", alternative, text)
        text = text.replace(f'"${name}"', shlex.quote(value)).replace(f"${name}", value)
    return text


def _rows(workflow: str, job_id: str, job: dict[str, Any], planned: dict[str, Any]) -> Any:
    """A job's matrix rows as a plan gives them (build.yml: the build cells); none when
    the plan does not run a matrix job."""
    if workflow == "build.yml":
        return planned["release"]["build"] if job_id == "wheels" else [{}]
    if "strategy" not in job:
        return [{}]
    return planned.get(workflow.removesuffix(".yml"), {}).get(job_id, [])


def script_calls() -> list[tuple[str, str, list[str]]]:
    """(where, script name, arguments) for every `scripts/NAME.py` a workflow step or a
    workflow's shell script runs, once per planned matrix row (tag and pull request)."""
    calls = []
    plans = [plan.plan("tag")["workflows"], plan.plan("pull_request")["workflows"]]
    for workflow in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in load(workflow.name)["jobs"].items():
            rows = [row for p in plans for row in _rows(workflow.name, job_id, job, p)]
            for row in rows:
                for step in job.get("steps", []):
                    if "run" not in step:
                        continue
                    env = {k: _substitute(str(v), row, {}) for k, v in step.get("env", {}).items()}
                    command = _substitute(step["run"], row, env)
                    for line in command.replace("\\\n", " ").splitlines():
                        calls += _calls_in(f"{workflow.name}:{job_id}", line)
    for script in sorted(SCRIPTS.glob("ci_*.sh")):
        text = re.sub(r'"\$\w+"', "dist", script.read_text()).replace('"$@"', "")
        for line in text.replace("\\\n", " ").splitlines():
            if not line.lstrip().startswith("#"):
                calls += _calls_in(script.name, line.strip().strip("'"))
    return sorted({(w, n, tuple(a)) for w, n, a in calls})  # type: ignore[misc]


def _calls_in(where: str, command: str) -> list[tuple[str, str, list[str]]]:
    found = []
    try:
        tokens = shlex.split(command.replace("\n", " "))
    except ValueError:
        return []
    for i, token in enumerate(tokens):
        match = re.fullmatch(r"scripts/(\w+)\.py", token)
        if match:
            args = []
            for arg in tokens[i + 1 :]:
                if arg in ("&&", ";", "||", ">", "|"):
                    break
                args.append(arg)
            found.append((where, match[1], args))
    return found


def test_workflows_call_scripts_that_exist() -> None:
    calls = script_calls()
    called = {name for _, name, _ in calls}
    assert {"build", "suite", "gate", "publish", "release", "plan"} <= called
    for where, name, _ in calls:
        assert (SCRIPTS / f"{name}.py").exists(), f"{where} calls a missing script {name}"


@pytest.mark.parametrize(
    ("where", "name", "args"), script_calls(), ids=lambda v: v if isinstance(v, str) else None
)
def test_every_script_call_parses(where: str, name: str, args: tuple[str, ...]) -> None:
    """argparse, no execution: a renamed flag or a wrong argument fails here."""
    import importlib

    module = importlib.import_module(name)
    try:
        module.parser().parse_args(list(args))
    except SystemExit as err:
        pytest.fail(f"{where}: scripts/{name}.py refuses {list(args)} (exit {err.code})")


def test_a_renamed_flag_is_caught() -> None:
    """The check above can fail: an argument the build script does not know."""
    import build

    with pytest.raises(SystemExit):
        build.parser().parse_args(["--target", "linux-x86_64", "--no-such-flag"])


def test_rehearsal_runs_the_build_jobs_command_lines() -> None:
    import rehearse

    workflow = {tuple(args) for where, name, args in script_calls() if name == "build"}
    rehearsal = {tuple(call) for call in rehearse.build_calls(True, Path("dist"))}
    # Every row's CI command line, and the sdist job's, is what the rehearsal runs.
    assert rehearsal <= workflow
    # So is the reproduce job's rebuild (its host row's, and the sdist's).
    rebuilt = {tuple(call) for call in rehearse.rebuild_calls(True, Path("expr/rebuilt"))}
    reproduce = {
        tuple(args)
        for where, name, args in script_calls()
        if name == "build" and "reproduce" in where
    }
    assert reproduce
    assert reproduce <= rebuilt
    assert any("--no-sdist-check" in call for call in reproduce)
    planned = {cell["id"] for cell in plan.plan("tag")["workflows"]["release"]["build"]}
    assert {args[1] for args in workflow if args[0] == "--target"} == planned
    assert planned == {t.id for t in pipeline.load_targets()}


def test_tools_are_bootstrapped_from_hashed_requirements() -> None:
    """Every pip install in a workflow or CI shell script installs uv.lock's files by
    hash (dev.py locked-requirement), before uv takes over with its own locked sync."""
    installs = []
    for path in [*WORKFLOWS.glob("*.yml"), *SCRIPTS.glob("ci_*.sh")]:
        text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            if re.search(r"\bpip install\b", line) and not line.lstrip().startswith("#"):
                installs.append((path.name, line))
                assert "--require-hashes" in line, f"{path.name}: {line.strip()}"
    assert len({name for name, _ in installs}) >= 4
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    for name in ("uv", "packaging"):
        (package,) = [p for p in lock["package"] if p["name"] == name]
        requirement = subprocess.run(
            [sys.executable, str(SCRIPTS / "dev.py"), "locked-requirement", name],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        ).stdout.split()
        assert requirement[0] == f"{name}=={package['version']}"
        files = [*package["wheels"], package["sdist"]]
        assert sorted(requirement[1:]) == sorted(f"--hash={f['hash']}" for f in files)
