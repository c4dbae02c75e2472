"""Contract test: the workflows say what the project promises, and the linters agree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import gate
import pipeline
import pytest
import tomllib
import yaml
from conftest import ROOT, SCRIPTS

WORKFLOWS = ROOT / ".github" / "workflows"
PIN = re.compile(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
BASELINE_TARGETS = {  # maturin generate-ci's (job, target) -> our manifest id
    ("linux", "x86_64"): "linux-x86_64",
    ("linux", "x86"): "linux-i686",
    ("linux", "aarch64"): "linux-aarch64",
    ("linux", "armv7"): "linux-armv7",
    ("linux", "s390x"): "linux-s390x",
    ("linux", "ppc64le"): "linux-ppc64le",
    ("musllinux", "x86_64"): "musllinux-x86_64",
    ("musllinux", "aarch64"): "musllinux-aarch64",
    ("windows", "x64"): "windows-x64",
    ("windows", "x86"): "windows-x86",
    ("windows", "aarch64"): "windows-arm64",
    ("macos", "x86_64"): "macos-x86_64",
    ("macos", "aarch64"): "macos-arm64",
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def release() -> dict[str, Any]:
    return load("release.yml")


@pytest.fixture(scope="module")
def targets() -> list[pipeline.Target]:
    return pipeline.load_targets()


def matrix(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["strategy"]["matrix"]["include"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["release.yml", "ci.yml"])
def test_hardening(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}
    for job_id, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, job_id
        assert "permissions" in job, job_id
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False, job_id
            assert "cache" not in step.get("uses", ""), job_id
            assert "sccache" not in str(step.get("with", {})), job_id
            if "docker/setup-qemu-action" in step.get("uses", ""):
                # Its default caches the binfmt image in the Actions cache.
                assert step["with"]["cache-image"] is False, job_id
            if "actions/upload-artifact" in step.get("uses", ""):
                # A re-run of the job uploads the same name again; without this,
                # upload-artifact refuses it and the re-run fails.
                assert step["with"]["overwrite"] is True, job_id
    for line in (WORKFLOWS / name).read_text().splitlines():
        if re.match(r"\s*-?\s*uses:", line):
            assert PIN.search(line), f"not pinned by SHA with a version comment: {line}"


TABLE_ROW = re.compile(
    r"#\s+([\w-]+/[\w-]+)\s+(v\d+\.\d+\.\d+)\s+([0-9a-f]{40})\s+(\d+) repos \((.+)\)"
)


def test_every_pin_is_recorded_in_the_confirmation_table() -> None:
    """Each pin is in the table atop release.yml with the same version, and the table
    says where it was seen: at least two independent public workflows."""
    text = (WORKFLOWS / "release.yml").read_text()
    table = {m[1]: (m[2], m[3], int(m[4]), m[5]) for m in TABLE_ROW.finditer(text)}
    assert table
    for action, (_, _, count, where) in table.items():
        assert count >= 2, action
        assert len(where.split(",")) >= min(count, 2), action
    used = set()
    for name in ("release.yml", "ci.yml"):
        for line in (WORKFLOWS / name).read_text().splitlines():
            found = PIN.search(line)
            if found:
                version = line.rsplit("# ", 1)[1].strip()
                assert table[found[1]][:2] == (version, found[2]), line
                used.add(found[1])
    assert used == set(table), "the table lists pins no workflow uses"


def test_release_trigger_and_concurrency(release: dict[str, Any]) -> None:
    assert release["on"]["push"] == {"tags": ["v[0-9]*"]}
    assert "workflow_dispatch" in release["on"]
    assert "refs/tags/" in release["concurrency"]["cancel-in-progress"]
    # A pull request that changes the code runs the build and test cells ci.yml lacks.
    paths = release["on"]["pull_request"]["paths"]
    for path in (
        "src/**",
        "python/**",
        "tests/**",
        "Cargo.lock",
        "rust-toolchain.toml",
        "README.md",
        ".gitattributes",
    ):
        assert path in paths, path


def test_ci_runs_on_main_are_never_cancelled() -> None:
    # GitHub cancels a run still pending in a concurrency group when a newer one
    # arrives, cancel-in-progress or not: a push to main must get a group of its own.
    concurrency = load("ci.yml")["concurrency"]
    assert "github.run_id" in concurrency["group"]
    assert "github.event_name == 'pull_request' && github.ref" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_build_matrix_is_the_manifest(
    release: dict[str, Any], targets: list[pipeline.Target]
) -> None:
    rows = {row["id"]: row["runner"] for row in matrix(release["jobs"]["build"])}
    assert rows == {t.id: t.ci_build for t in targets}
    for image in [t.ci_test_image for t in targets]:
        assert image is None or re.search(r":\d{4}\.\d\d\.\d\d-\d+@sha256:[0-9a-f]{64}$", image)
    steps = " ".join(str(s.get("run", "")) for s in release["jobs"]["build"]["steps"])
    assert "scripts/build.py --target" in steps


def test_every_built_wheel_is_tested(
    release: dict[str, Any], targets: list[pipeline.Target]
) -> None:
    jobs = release["jobs"]
    native = {row["id"]: row["runner"] for row in matrix(jobs["test-native"])}
    container = {row["id"]: (row["runner"], row["image"]) for row in matrix(jobs["test-container"])}
    assert native == {t.id: t.ci_test_runner for t in targets if t.ci_test == "native"}
    assert container == {
        t.id: (t.ci_test_runner, t.ci_test_image) for t in targets if t.ci_test == "container"
    }
    vm = [t for t in targets if t.ci_test == "vm"]
    assert [t.id for t in vm] == ["freebsd-x86_64"]
    assert "wheels-freebsd-x86_64" in str(jobs["test-freebsd"])
    assert "wheels-sdist" in str(jobs["test-freebsd"])
    releases = {row["release"]: row["wheel"] for row in matrix(jobs["test-freebsd"])}
    assert set(releases) == set(vm[0].ci_test_releases)
    # The wheel is tested on the one release its tag names; the sdist on every release.
    tagged = vm[0].platform.removeprefix("freebsd_").split("_release")[0].replace("_", ".")
    assert [r for r, wheel in releases.items() if wheel] == [tagged]
    assert "--require-all" in str(jobs["test-native"])
    for script in ("ci_container_test.sh", "ci_freebsd_test.sh"):
        assert "--require-all" in (ROOT / "scripts" / script).read_text()
    installed = [
        (s["with"]["python-version"], s.get("if"))
        for s in jobs["test-native"]["steps"]
        if "setup-python" in s.get("uses", "") and "id" in s
    ]
    for row in matrix(jobs["test-native"]):
        target = next(t for t in targets if t.id == row["id"])
        versions = [
            v.replace("${{ matrix.oldest || '3.10' }}", row.get("oldest", "3.10"))
            for v, condition in installed
            if condition is None or row.get(condition.removeprefix("matrix."))
        ]
        assert sorted(versions) == sorted(target.ci_test_pythons), row["id"]


def test_publish_needs_everything_and_holds_one_permission(release: dict[str, Any]) -> None:
    jobs = release["jobs"]
    assert set(jobs["gate"]["needs"]) == {
        "build",
        "sdist",
        "test-native",
        "test-container",
        "test-freebsd",
    }
    publish = jobs["publish"]
    # The gate passed the set, and an independent rebuild matched it byte for byte.
    assert publish["needs"] == ["gate", "reproduce"]
    assert set(jobs["reproduce"]["needs"]) == {"build", "sdist"}
    assert "scripts/repro.py compare dist" in str(jobs["reproduce"])
    # Outside the checkout: maturin's sdist would list untracked rebuilt files.
    rebuilt = {s.get("env", {}).get("REBUILT") for s in jobs["reproduce"]["steps"]} - {None}
    assert rebuilt == {"${{ runner.temp }}/rebuilt"}
    assert jobs["attest"]["permissions"] == {"id-token": "write", "attestations": "write"}
    assert set(jobs["github-release"]["needs"]) == {"gate", "publish", "attest"}
    verify = jobs["verify-release"]
    assert set(verify["needs"]) == {"publish", "github-release"}
    assert verify["permissions"] == {"contents": "read", "attestations": "read"}
    runners = {row["runner"].split("-")[0] for row in matrix(verify)}
    assert runners == {"ubuntu", "macos", "windows"}
    assert "--repository" in str(verify)
    assert "gh attestation verify" in str(verify)
    assert publish["permissions"] == {"contents": "read", "id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert "refs/tags/v" in publish["if"]
    assert "github.event_name == 'push'" in publish["if"]
    assert "secrets." not in str(publish)
    script = (ROOT / "scripts" / "ci_publish.sh").read_text()
    assert "pypi.txt" in script
    assert "scripts/publish.py" in script
    assert "--attestations" in script
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    gate_run = " ".join(str(s.get("run", "")) for s in jobs["gate"]["steps"])
    assert "scripts/gate.py dist --scope release" in gate_run


def test_freebsd_never_goes_to_pypi(targets: list[pipeline.Target]) -> None:
    expected = pipeline.expected_artifacts("1.0.0", targets)
    pypi, release_only = gate.split_for_pypi(sorted(expected))
    assert release_only == ["game_with_pyo3-1.0.0-cp310-abi3-freebsd_14_4_release_amd64.whl"]
    assert not any("freebsd" in name for name in pypi)
    assert pypi[-1].endswith(".tar.gz")


def test_baseline_is_current_and_covered(release: dict[str, Any]) -> None:
    baseline_path = ROOT / ".github" / "maturin-baseline.yml"
    maturin = shutil.which("maturin", path=pipeline.tool_env()["PATH"])
    assert maturin
    fresh = subprocess.run(
        [maturin, "generate-ci", "github"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert fresh == baseline_path.read_text(), (
        "regenerate the baseline: maturin generate-ci github > .github/maturin-baseline.yml"
    )
    baseline = yaml.safe_load(fresh)
    built = {row["id"] for row in matrix(release["jobs"]["build"])}
    listed = {
        (job, row["target"])
        for job in ("linux", "musllinux", "windows", "macos")
        for row in baseline["jobs"][job]["strategy"]["matrix"]["platform"]
    }
    assert listed <= set(BASELINE_TARGETS), listed - set(BASELINE_TARGETS)
    assert {BASELINE_TARGETS[k] for k in listed} <= built
    assert "sdist" in baseline["jobs"]
    assert "sdist" in release["jobs"]


def test_ci_runs_the_readme_command_and_cibuildwheel() -> None:
    ci = load("ci.yml")
    assert "python3 scripts/dev.py test" in str(ci["jobs"]["checks"]["steps"])
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("python3 scripts/dev.py test")
    runners = ci["jobs"]["wheels"]["strategy"]["matrix"]["runner"]
    assert any(r.startswith("ubuntu") for r in runners)
    assert any(r.startswith("macos") for r in runners)
    assert any(r.startswith("windows") for r in runners)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    for identifier in ("cp310-*", "cp315-*", "cp314t-*", "cp315t-*"):
        assert identifier in config["build"]
    free_threaded = next(o for o in config["overrides"] if o["select"] == "cp31?t-*")
    assert "--parallel-threads" in free_threaded["test-command"]
    # A Windows arch other than the runner's own is cross-built (maturin's build backend
    # passes --target for a 32-bit Python); rustup adds no target by itself.
    windows_runner_hosts = {"windows-2025": "x86_64-pc-windows-msvc"}
    crossed = [
        t.rust
        for t in pipeline.load_targets()
        if t.os == "win32" and windows_runner_hosts.get(t.ci_build, t.rust) != t.rust
    ]
    assert crossed == ["i686-pc-windows-msvc"]
    for rust in crossed:
        assert f"rustup target add {rust}" in config["windows"]["before-all"]
    macos = config["macos"]["environment"]["MACOSX_DEPLOYMENT_TARGET"]
    release_macos = next(t for t in pipeline.load_targets() if t.id == "macos-x86_64")
    assert release_macos.platform == f"macosx_{macos.replace('.', '_')}_x86_64"


def test_dependabot_covers_actions_cargo_and_python_with_cooldown() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "cargo", "uv"}
    assert all(u["cooldown"]["default-days"] >= 7 for u in ecosystems.values())


def _tool(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd), cwd=ROOT, env=pipeline.tool_env(), capture_output=True, text=True, check=False
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
    scripts = [*sorted(str(p) for p in (ROOT / "scripts").glob("*.sh")), str(ROOT / ".ci/run")]
    result = _tool("shellcheck", *scripts)
    assert result.returncode == 0, result.stdout


# --- One path: every script call in a workflow is a command line the script accepts,
# and the rehearsal runs the build jobs' exact command lines. ---------------------------

_EXPRESSIONS = {
    r"\$\{\{\s*steps\.[\w-]+\.outputs\.python-path\s*\}\}": "/opt/hostedtoolcache/python",
    r"\$\{\{\s*github\.ref_name\s*\}\}": "v1.0.0",
    r"\$\{\{\s*github\.token\s*\}\}": "token",
}


def _substitute(text: str, row: dict[str, Any], env: dict[str, str]) -> str:
    text = re.sub(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", lambda m: str(row.get(m[1], "")), text)
    for pattern, value in _EXPRESSIONS.items():
        text = re.sub(pattern, value, text)
    text = re.sub(r"\$\{\{.*?\}\}", "expr", text)
    for name, value in env.items():
        alternative = r"\1" if value else ""
        text = re.sub(rf"\$\{{{name}:\+(.*?)\}}", alternative, text)
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return text


def _applies(condition: str | None, row: dict[str, Any]) -> bool:
    """A step's `if:` for a matrix row, where it only compares matrix values."""
    found = re.fullmatch(r"matrix\.([\w-]+) (==|!=) '([^']*)'", (condition or "").strip())
    if found is None:
        return True
    equal = str(row.get(found[1], "")) == found[3]
    return equal if found[2] == "==" else not equal


def script_calls() -> list[tuple[str, str, list[str]]]:
    """(where, script name, arguments) for every `scripts/NAME.py` a workflow step or a
    workflow's shell script runs, once per matrix row."""
    import shlex

    calls = []
    for workflow in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in load(workflow.name)["jobs"].items():
            rows = job.get("strategy", {}).get("matrix", {}).get("include", [{}])
            for row in rows:
                for step in job["steps"]:
                    if "run" not in step or not _applies(step.get("if"), row):
                        continue
                    env = {k: _substitute(str(v), row, {}) for k, v in step.get("env", {}).items()}
                    command = _substitute(step["run"], row, env)
                    for line in command.replace("\\\n", " ").splitlines():
                        calls += _calls_in(f"{workflow.name}:{job_id}", line, shlex)
    for script in sorted((ROOT / "scripts").glob("ci_*.sh")):
        text = re.sub(r'"\$\w+"', "dist", script.read_text())
        for line in text.replace("\\\n", " ").splitlines():
            if not line.lstrip().startswith("#"):
                calls += _calls_in(script.name, line.strip().strip("'"), shlex)
    return calls


def _calls_in(where: str, command: str, shlex: Any) -> list[tuple[str, str, list[str]]]:
    found = []
    tokens = shlex.split(command.replace("\n", " "))
    for i, token in enumerate(tokens):
        match = re.fullmatch(r"scripts/(\w+)\.py", token)
        if match:
            args = []
            for arg in tokens[i + 1 :]:
                if arg in ("&&", ";", "||"):
                    break
                args.append(arg)
            found.append((where, match[1], args))
    return found


def test_workflows_call_scripts_that_exist() -> None:
    calls = script_calls()
    called = {name for _, name, _ in calls}
    assert {"build", "suite", "gate", "publish", "release", "github_release"} <= called
    for where, name, _ in calls:
        assert (ROOT / "scripts" / f"{name}.py").exists(), f"{where} calls a missing script {name}"


@pytest.mark.parametrize(
    ("where", "name", "args"), script_calls(), ids=lambda v: v if isinstance(v, str) else None
)
def test_every_script_call_parses(where: str, name: str, args: list[str]) -> None:
    """argparse, no execution: a renamed flag or a wrong argument fails here."""
    import importlib

    module = importlib.import_module(name)
    try:
        module.parser().parse_args(args)
    except SystemExit as err:
        pytest.fail(f"{where}: scripts/{name}.py refuses {args} (exit {err.code})")


def test_a_renamed_flag_is_caught() -> None:
    """The check above can fail: an argument the build script does not know."""
    import build

    with pytest.raises(SystemExit):
        build.parser().parse_args(["--target", "linux-x86_64", "--no-sdist-check"])


def test_rehearsal_runs_the_build_jobs_command_lines(release: dict[str, Any]) -> None:
    import rehearse

    workflow = {
        tuple(args)
        for where, name, args in script_calls()
        if name == "build" and where.startswith("release.yml")
    }
    rehearsal = {tuple(call) for call in rehearse.build_calls(True, Path("dist"))}
    # Every row's CI command line, and the sdist job's, is what the rehearsal runs.
    assert rehearsal <= workflow
    buildable_by_script = {row["id"] for row in matrix(release["jobs"]["build"])}
    assert {args[1] for args in workflow if args[0] == "--target"} == buildable_by_script


def test_a_new_manifest_row_fails_the_contract_until_the_workflow_has_it(
    release: dict[str, Any], targets: list[pipeline.Target]
) -> None:
    """Adding a platform is adding a manifest row; this test shows the contract then
    asks for the workflow's matrix rows (README: "Adding a platform")."""
    import dataclasses

    loongarch64 = dataclasses.replace(
        next(t for t in targets if t.id == "linux-s390x"),
        id="linux-loongarch64",
        machines=("loongarch64",),
        rust="loongarch64-unknown-linux-gnu",
        platform="manylinux_2_36_loongarch64",
    )
    for contract in (test_build_matrix_is_the_manifest, test_every_built_wheel_is_tested):
        with pytest.raises(AssertionError, match="linux-loongarch64"):
            contract(release, [*targets, loongarch64])


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
    assert len(installs) >= 11
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    for name in ("uv", "packaging"):
        (package,) = [p for p in lock["package"] if p["name"] == name]
        requirement = subprocess.run(
            [sys.executable, str(SCRIPTS / "dev.py"), "locked-requirement", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert requirement[0] == f"{name}=={package['version']}"
        files = [*package["wheels"], package["sdist"]]
        assert sorted(requirement[1:]) == sorted(f"--hash={f['hash']}" for f in files)
