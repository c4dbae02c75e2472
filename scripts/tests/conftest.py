from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))


@pytest.hookimpl(tryfirst=True)  # before `-m` selects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """scripts/dev.py runs `-m rehearsal` and `-m "not rehearsal"` at once. What builds
    in the rehearsal's places (target/release-build, target/elsewhere, the sdist builds)
    or reads its artifacts is marked `rehearsal` and runs in one session, in order:
    maturin moves the module cargo just wrote there, which a second build could replace
    in between, and the session fixture is made once."""
    for item in items:
        if "rehearsal" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.rehearsal)


# For a release-profile build whose subject is not the optimized code (a version, a
# module's name, paths and times): unoptimized, it builds in about a third of the time.
# The rehearsal builds, rebuilds and tests the real artifacts.
UNOPTIMIZED_RELEASE = {
    "CARGO_PROFILE_RELEASE_OPT_LEVEL": "0",
    "CARGO_PROFILE_RELEASE_LTO": "off",
    "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "16",
}


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One real host-mode rehearsal per test session: (dist dir, its output)."""
    dist = tmp_path_factory.mktemp("rehearsal") / "dist"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "rehearse.py"), "--out", str(dist)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return dist, output


@pytest.fixture(scope="session")
def host_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This machine's row of release wheels, every kind, made by the command of its CI
    build job (`build.py --target ID`), which the rehearsal runs too: `dev.py test`
    hands over the ones `dev.py install` just made that way (GWP_HOST_WHEELS)."""
    if given := os.environ.get("GWP_HOST_WHEELS"):
        return Path(given)
    import pipeline

    out = tmp_path_factory.mktemp("host-wheels")
    host = pipeline.host_target(pipeline.load_targets())
    build = [sys.executable, str(SCRIPTS / "build.py"), "--target", host.id, "--out", str(out)]
    # Not in the rehearsal's target/release-build: it may run beside this.
    env = {**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target" / "host-wheels")}
    result = subprocess.run(
        build, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return out


def host_wheel(directory: Path, kind: str) -> Path:
    """This machine's row's wheel of one kind in `directory`, named from the manifest."""
    import pipeline
    import versioning

    host = pipeline.host_target(pipeline.load_targets())
    return directory / pipeline.wheel_name(versioning.project_version(), host.wheel_tag(kind))


@pytest.fixture(scope="session")
def host_abi3_wheel(host_wheels: Path) -> Path:
    return host_wheel(host_wheels, "abi3")


def rewrite_wheel(
    source: Path, dest: Path, replace: dict[str, tuple[str, bytes]] | None = None
) -> Path:
    """Copy a wheel, member by member; `replace` maps a member to (new name, new bytes).
    RECORD is written anew, so the copy differs from a real wheel only as intended."""
    replace = replace or {}
    with zipfile.ZipFile(source) as src:
        members = []
        for item in src.infolist():
            name, data = replace.get(item.filename, (item.filename, src.read(item)))
            members.append((name, data))
    record = next(name for name, _ in members if name.endswith(".dist-info/RECORD"))
    lines = []
    for name, data in members:
        if name != record:
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            lines.append(f"{name},sha256={digest.decode()},{len(data)}\n")
    lines.append(f"{record},,\n")
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members:
            out.writestr(name, "".join(lines) if name == record else data)
    return dest


def copy_checkout(dest: Path) -> Path:
    """This checkout's files copied to `dest` (scripts/repro.py), as a repository of its
    own: a tree to change the way a contributor or a bot would, and run the suite on
    (actionlint finds workflows through the repository; a run there may copy it again)."""
    import repro

    repro.copy_checkout(ROOT, dest)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


def run_tests_in(checkout: Path, *test_files: str) -> subprocess.CompletedProcess[str]:
    """Fast tests of `test_files` (paths under scripts/tests) run in another checkout."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            *(str(checkout / "scripts" / "tests" / name) for name in test_files),
        ],
        cwd=checkout,
        env={
            **{k: v for k, v in os.environ.items() if k != "GWP_HOST_WHEELS"},  # this tree's
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
