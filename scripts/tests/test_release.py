"""release.py against real temporary git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import zipfile
from pathlib import Path

import build
import pipeline
import pytest
import release
import repro
import sbom
import versioning
from conftest import ROOT, SCRIPTS, UNOPTIMIZED_RELEASE

CHANGELOG = """# Changelog

## [Unreleased]

### Added

- Dice.

[Unreleased]: https://example.invalid/compare/v0.1.0...HEAD
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def snapshot(repo: Path) -> tuple[str, str, str, dict[str, bytes]]:
    files = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "tag", "--list"),
        git(repo, "status", "--porcelain"),
        files,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Cargo.toml", "Cargo.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, repo / name)
    (repo / "CHANGELOG.md").write_text(CHANGELOG)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.name", "Release Test")
    git(repo, "config", "user.email", "release-test@example.invalid")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "initial")
    return repo


def current(repo: Path) -> str:
    return str(versioning.current_version(repo))


def test_happy_path(repo: Path) -> None:
    before = current(repo)
    tag = release.prepare(repo, "9.1.0rc2", date="2026-11-25")
    assert tag == "v9.1.0rc2"
    assert 'version = "9.1.0-rc.2"' in (repo / "Cargo.toml").read_text()
    lock = (repo / "Cargo.lock").read_text()
    assert 'name = "game-with-pyo3"\nversion = "9.1.0-rc.2"' in lock
    changelog = (repo / "CHANGELOG.md").read_text()
    assert "## [Unreleased]\n\n## [9.1.0rc2] - 2026-11-25\n\n### Added\n\n- Dice." in changelog
    assert (
        "[Unreleased]: https://github.com/game-with-pyo3/game-with-pyo3/compare/v9.1.0rc2...HEAD"
        in changelog
    )
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "log", "-1", "--format=%s") == "Release 9.1.0rc2"
    assert git(repo, "cat-file", "-t", "v9.1.0rc2") == "tag"
    assert versioning.verify_tag(repo, "v9.1.0rc2") == "9.1.0rc2"
    assert versioning.notes(repo, "9.1.0rc2") == "### Added\n\n- Dice."
    assert before != current(repo)
    # The new Unreleased section is empty, so a second release needs new entries.
    with pytest.raises(versioning.ReleaseError, match=r"Unreleased section .* is empty"):
        release.prepare(repo, "9.1.0")


def _dirty(repo: Path) -> None:
    (repo / "stray.txt").write_text("x")


def _branch(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "-b", "feature")


def _tag(repo: Path) -> None:
    git(repo, "tag", "v9.0.0")


def _empty(repo: Path) -> None:
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n### Added\n\n")
    git(repo, "commit", "--quiet", "-am", "empty changelog")


@pytest.mark.parametrize(
    ("setup", "version", "message"),
    [
        (_dirty, "9.0.0", "not clean"),
        (_branch, "9.0.0", "cut from main, but you are on feature"),
        (None, "nine", "not a valid PEP 440 version"),
        (None, "9.0", "three numbers"),
        (None, "9.0.0.post1", "Cargo spelling"),
        (None, "09.0.0", "normal form"),
        (None, "0.0.1", "not greater than the current version"),
        (_tag, "9.0.0", "tag v9.0.0 already exists"),
        (_empty, "9.0.0", "Unreleased section of CHANGELOG.md is empty"),
    ],
)
def test_refusals_leave_the_repository_unchanged(
    repo: Path, setup: object, version: str, message: str
) -> None:
    if setup is not None:
        setup(repo)  # type: ignore[operator]
    before = snapshot(repo)
    with pytest.raises(versioning.ReleaseError, match=message):
        release.prepare(repo, version)
    assert snapshot(repo) == before


def test_the_first_release_can_be_the_version_cargo_toml_holds(repo: Path) -> None:
    first = current(repo)
    cargo = (repo / "Cargo.toml").read_text()
    assert release.prepare(repo, first, date="2026-12-05") == f"v{first}"
    assert (repo / "Cargo.toml").read_text() == cargo
    assert f"## [{first}] - 2026-12-05" in (repo / "CHANGELOG.md").read_text()
    assert versioning.verify_tag(repo, f"v{first}") == first
    # Released now (tag and section): the same version again is refused.
    (repo / "CHANGELOG.md").write_text(
        (repo / "CHANGELOG.md")
        .read_text()
        .replace("## [Unreleased]\n", "## [Unreleased]\n\n### Fixed\n\n- More dice.\n", 1)
    )
    git(repo, "commit", "--quiet", "-am", "more")
    with pytest.raises(versioning.ReleaseError, match="not greater than the current version"):
        release.prepare(repo, first)


def test_a_version_with_a_changelog_section_counts_as_released(repo: Path) -> None:
    first = current(repo)
    text = (repo / "CHANGELOG.md").read_text()
    (repo / "CHANGELOG.md").write_text(
        text.replace("[Unreleased]: ", f"## [{first}] - 2026-01-01\n\n- Old.\n\n[Unreleased]: ", 1)
    )
    git(repo, "commit", "--quiet", "-am", "history without a tag")
    before = snapshot(repo)
    with pytest.raises(versioning.ReleaseError, match="not greater than the current version"):
        release.prepare(repo, first)
    assert snapshot(repo) == before


def test_behind_upstream_is_refused(repo: Path, tmp_path: Path) -> None:
    upstream = tmp_path / "upstream.git"
    git(repo, "clone", "--quiet", "--bare", str(repo), str(upstream))
    git(repo, "remote", "add", "origin", str(upstream))
    git(repo, "fetch", "--quiet", "origin")
    git(repo, "branch", "--quiet", "--set-upstream-to=origin/main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(upstream), str(other))
    git(
        other,
        "-c",
        "user.name=x",
        "-c",
        "user.email=x@example.invalid",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "ahead",
    )
    git(other, "push", "--quiet", "origin", "main")
    git(repo, "fetch", "--quiet", "origin")
    before = snapshot(repo)
    with pytest.raises(versioning.ReleaseError, match=r"1 commit\(s\) behind origin/main"):
        release.prepare(repo, "9.0.0")
    assert snapshot(repo) == before


def test_failure_half_way_rolls_everything_back(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(repo)
    real_git = release.git

    def interrupted(root: Path, *args: str, check: bool = True) -> str:
        if args[:1] == ("push",):
            raise KeyboardInterrupt
        return real_git(root, *args, check=check)

    monkeypatch.setattr(release, "git", interrupted)
    with pytest.raises(KeyboardInterrupt):
        release.prepare(repo, "9.0.0", push=True)
    assert snapshot(repo) == before


def test_dry_run_changes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(repo)
    release.prepare(repo, "9.0.0", dry_run=True, date="2026-01-02")
    out = capsys.readouterr().out
    assert '+version = "9.0.0"' in out
    assert "+## [9.0.0] - 2026-01-02" in out
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("9.0.0", "must look like vX.Y.Z"),
        ("v9.0.1", "does not match Cargo.toml"),
        ("v0.1.0", "no '## \\[0.1.0\\]"),
    ],
)
def test_verify_tag_refusals(repo: Path, tag: str, message: str) -> None:
    release.prepare(repo, "9.0.0")
    if tag == "v0.1.0":
        (repo / "Cargo.toml").write_text(
            (repo / "Cargo.toml").read_text().replace('"9.0.0"', '"0.1.0"')
        )
    with pytest.raises(versioning.ReleaseError, match=message):
        versioning.verify_tag(repo, tag)


def test_verify_tag_wants_a_dated_section(repo: Path) -> None:
    release.prepare(repo, "9.0.0")
    text = (repo / "CHANGELOG.md").read_text().replace("## [9.0.0] - ", "## [9.0.0] - not-")
    (repo / "CHANGELOG.md").write_text(text)
    with pytest.raises(versioning.ReleaseError, match="no valid date"):
        versioning.verify_tag(repo, "v9.0.0")


def test_cli_messages(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "release.py"), "--repo", str(repo), "verify-tag", "v3.0.0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("release verify-tag: tag v3.0.0 does not match")


@pytest.mark.slow
def test_prepare_then_build_then_verify(tmp_path: Path) -> None:
    """prepare -> the build stage makes artifacts of that version -> gate and verify-tag pass."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(ROOT), str(clone))
    # The checkout under test may be anything: a detached HEAD (pull requests), a shallow
    # clone or another branch. The release is cut from a local `main` at that commit.
    git(clone, "checkout", "--quiet", "-B", "main")
    subprocess.run(
        ["git", "branch", "--unset-upstream"], cwd=clone, capture_output=True, check=False
    )
    git(clone, "config", "user.name", "Release Test")
    git(clone, "config", "user.email", "release-test@example.invalid")
    if not versioning.section_has_entries(
        versioning.changelog_sections((clone / "CHANGELOG.md").read_text())[0].body
    ):
        pytest.skip("the Unreleased section is empty right after a release")
    next_version = versioning.current_version(clone)
    target = f"{next_version.major}.{next_version.minor + 1}.0"
    release.prepare(clone, target, date="2026-11-25")
    dist = tmp_path / "dist"
    env = {
        **os.environ,
        **UNOPTIMIZED_RELEASE,  # the version in every place is under test
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    # The sdist job's command: the sdist, and a wheel built from it alone. Every wheel
    # takes its version from the same Cargo.toml; the rehearsal gates a whole set.
    subprocess.run(
        [sys.executable, str(clone / "scripts" / "build.py"), "--sdist-only", "--out", str(dist)],
        cwd=clone,
        env=env,
        check=True,
        capture_output=True,
    )
    (sdist,) = dist.iterdir()
    sdist_check = clone / build.SDIST_CHECK.relative_to(ROOT)
    (wheel,) = (sdist_check / "wheels").glob("*.whl")
    names = [sdist.name, wheel.name]
    assert {pipeline.artifact_version(name) for name in names} == {target}
    versioning.verify_tag(clone, f"v{target}")
    # The bumped Cargo.lock is the one the wheel was built from: its SBOM names the new
    # version of the crate and the locked versions of the others (normalized as the
    # release's wheels are, from where maturin unpacked the sdist: its root crate's id).
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if "/sboms/" in n]
        root_id = json.loads(archive.read(member))["metadata"]["component"]["bom-ref"]
    source = Path(urllib.parse.unquote(root_id.removeprefix("path+file://").split("#")[0]))
    sbom.normalize_wheel(wheel, source_root=source, cargo_home=build.cargo_home())
    host = pipeline.host_target(pipeline.load_targets())
    epoch = repro.release_epoch(clone)
    assert sbom.check_wheel(wheel, clone / "Cargo.lock", rust_target=host.rust, epoch=epoch) == []


@pytest.mark.parametrize(
    ("tag", "exists", "expected"),
    [
        ("v1.2.0", False, "create v1.2.0 --verify-tag --title game-with-pyo3 1.2.0 --notes-file"),
        ("v1.2.0rc1", False, "create v1.2.0rc1 --verify-tag --prerelease --title"),
        ("v1.2.0", True, "upload v1.2.0 --clobber a.whl b.tar.gz SHA256SUMS"),
    ],
)
def test_github_release_step(tmp_path: Path, tag: str, exists: bool, expected: str) -> None:
    """scripts/ci_github_release.sh with stand-ins for `gh` (which records its calls)
    and `uv` (which prints the command that gives the notes): created once with the
    CHANGELOG section as its body, the gated files and SHA256SUMS as assets; completed
    with --clobber; refused when a file is not the one the gate passed."""
    bin_dir, dist = tmp_path / "bin", tmp_path / "dist"
    bin_dir.mkdir()
    dist.mkdir()
    calls = tmp_path / "gh-calls"
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        f'if [ "$2" = view ]; then exit {0 if exists else 1}; fi\n'
        f'echo "$*" >> {calls}\n'
        'for a in "$@"; do case $a in /*) cat "$a" >> ' + f"{calls};; esac; done\n"
    )
    (bin_dir / "uv").write_text('#!/bin/sh\necho "$*"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    for name in ("a.whl", "b.tar.gz"):
        (dist / name).write_bytes(name.encode())
    sums = subprocess.run(
        ["sha256sum", "a.whl", "b.tar.gz"], cwd=dist, capture_output=True, check=True
    )
    (dist / "SHA256SUMS").write_bytes(sums.stdout)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    script = SCRIPTS / "ci_github_release.sh"
    subprocess.run([script, tag, str(dist)], cwd=ROOT, env=env, check=True)
    recorded = calls.read_text()
    assert recorded.startswith(f"release {expected}")
    if not exists:
        assert recorded.splitlines()[0].endswith("a.whl b.tar.gz SHA256SUMS")
        notes = f"run --no-sync python scripts/release.py notes {tag.removeprefix('v')}"
        assert recorded.splitlines()[1] == notes

    (dist / "a.whl").write_bytes(b"changed after the gate")
    calls.unlink()
    refused = subprocess.run([script, tag, str(dist)], cwd=ROOT, env=env, check=False)
    assert refused.returncode != 0
    assert not calls.exists()
