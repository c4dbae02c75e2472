#!/usr/bin/env python3
"""Cut a release: one maintainer command, and the checks the release workflow runs.

    release.py prepare X.Y.Z [--dry-run] [--push] [--date YYYY-MM-DD]
    release.py notes X.Y.Z          # the version's CHANGELOG section (Release body)
    release.py verify-tag vX.Y.Z    # tag == Cargo.toml version == dated CHANGELOG section

`prepare` checks first (clean tree, default branch, not behind upstream, a valid
PEP 440 version with a SemVer spelling for Cargo, greater than the current one, no such
tag, a non-empty Unreleased section), then bumps Cargo.toml and Cargo.lock (tomlkit,
format preserved), dates the CHANGELOG section, commits and creates the annotated tag
vX.Y.Z. It pushes only with --push. On any failure or Ctrl-C the repository is put back
exactly as it was: files, index and tags. Versions are spelled the PEP 440 way in
tags and the CHANGELOG (1.2.0rc1), the SemVer way in Cargo.toml (1.2.0-rc.1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import ROOT, PipelineError, on_sigterm_interrupt

try:
    import tomlkit
    from packaging.version import Version
except ModuleNotFoundError as missing:
    sys.exit(
        f"release.py: the Python package {missing.name!r} is missing. Run `python3 "
        "scripts/dev.py setup` once, then `.venv/bin/python scripts/release.py ...`"
    )
from versioning import (
    UNRELEASED,
    ReleaseError,
    Section,
    cargo_spelling,
    changelog_section,
    changelog_sections,
    current_version,
    notes,
    parse_version,
    section_has_entries,
    verify_tag,
)

CRATE = "game-with-pyo3"


def git(root: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=root, check=False, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def repository_url(root: Path) -> str:
    project = tomlkit.parse((root / "pyproject.toml").read_text(encoding="utf-8"))
    return str(project["project"]["urls"]["Repository"]).rstrip("/")


def new_changelog(text: str, version: str, date: str, previous: str | None, repo: str) -> str:
    if UNRELEASED not in text:
        raise ReleaseError(f"CHANGELOG.md has no '{UNRELEASED}' heading")
    text = text.replace(UNRELEASED, f"{UNRELEASED}\n\n## [{version}] - {date}", 1)
    links = [line for line in text.splitlines() if line.startswith("[Unreleased]: ")]
    unreleased_link = f"[Unreleased]: {repo}/compare/v{version}...HEAD"
    version_link = (
        f"[{version}]: {repo}/compare/v{previous}...v{version}"
        if previous
        else f"[{version}]: {repo}/releases/tag/v{version}"
    )
    if links:
        text = text.replace(links[0], f"{unreleased_link}\n{version_link}", 1)
    else:
        text = text.rstrip("\n") + f"\n\n{unreleased_link}\n{version_link}\n"
    return text


def bump_cargo(text: str, cargo_version: str) -> str:
    doc = tomlkit.parse(text)
    doc["package"]["version"] = cargo_version
    return tomlkit.dumps(doc)


def bump_lock(text: str, cargo_version: str) -> str:
    doc = tomlkit.parse(text)
    packages = [p for p in doc["package"] if p["name"] == CRATE]
    if len(packages) != 1:
        raise ReleaseError(f"Cargo.lock has {len(packages)} entries for {CRATE}")
    packages[0]["version"] = cargo_version
    return tomlkit.dumps(doc)


def default_branch(root: Path) -> str:
    ref = git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False)
    return ref.rsplit("/", 1)[-1] if ref else "main"


def preflight(root: Path, target: Version) -> tuple[Version, Section]:
    if git(root, "status", "--porcelain"):
        raise ReleaseError("the work tree is not clean: commit or stash your changes first")
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    expected = default_branch(root)
    if branch != expected:
        raise ReleaseError(f"releases are cut from {expected}, but you are on {branch}")
    upstream = git(root, "rev-parse", "--abbrev-ref", "@{upstream}", check=False)
    if upstream:
        behind = int(git(root, "rev-list", "--count", f"HEAD..{upstream}"))
        if behind:
            raise ReleaseError(f"{branch} is {behind} commit(s) behind {upstream}: pull first")
    current = current_version(root)
    # The version Cargo.toml holds may itself be the first release (0.1.0 of a new
    # project): no tag and no CHANGELOG section says it was released yet.
    current_released = changelog_section(root, str(current)) is not None or bool(
        git(root, "rev-parse", "-q", "--verify", f"refs/tags/v{current}", check=False)
    )
    if target < current or (target == current and current_released):
        raise ReleaseError(f"{target} is not greater than the current version {current}")
    if git(root, "rev-parse", "-q", "--verify", f"refs/tags/v{target}", check=False):
        raise ReleaseError(f"tag v{target} already exists")
    unreleased = changelog_section(root, "Unreleased")
    if unreleased is None or not section_has_entries(unreleased.body):
        raise ReleaseError("the Unreleased section of CHANGELOG.md is empty: say what changed")
    return current, unreleased


def prepare(
    root: Path,
    version_text: str,
    *,
    date: str | None = None,
    dry_run: bool = False,
    push: bool = False,
) -> str:
    target = parse_version(version_text)
    current, unreleased = preflight(root, target)
    date = date or dt.date.today().isoformat()
    dt.date.fromisoformat(date)
    cargo_version = cargo_spelling(target)
    tag = f"v{target}"
    paths = [root / "Cargo.toml", root / "Cargo.lock", root / "CHANGELOG.md"]
    before = {p: p.read_text(encoding="utf-8") for p in paths}
    released = [s for s in changelog_sections(before[paths[2]]) if s.version != "Unreleased"]
    after = {
        paths[0]: bump_cargo(before[paths[0]], cargo_version),
        paths[1]: bump_lock(before[paths[1]], cargo_version),
        paths[2]: new_changelog(
            before[paths[2]],
            str(target),
            date,
            released[0].version if released else None,
            repository_url(root),
        ),
    }
    if dry_run:
        for path in paths:
            sys.stdout.writelines(
                difflib.unified_diff(
                    before[path].splitlines(True),
                    after[path].splitlines(True),
                    f"a/{path.name}",
                    f"b/{path.name}",
                )
            )
        print(
            f"\nwould commit 'Release {target}' and tag {tag} (from {current}); nothing was changed"
        )
        return tag
    head = git(root, "rev-parse", "HEAD")
    tagged = False
    try:
        for path, text in after.items():
            path.write_text(text, encoding="utf-8")
        git(root, "add", *(str(p) for p in paths))
        git(root, "commit", "--quiet", "-m", f"Release {target}")
        message = f"game-with-pyo3 {target}\n\n{unreleased.body}\n"
        git(root, "tag", "--annotate", tag, "--message", message)
        tagged = True
        if push:
            git(root, "push", "--atomic", "origin", default_branch(root), tag)
    except BaseException:
        # Back to exactly where we started: the tree was clean, so a hard reset to the
        # old HEAD restores files and index; the tag goes too.
        if tagged:
            git(root, "tag", "--delete", tag, check=False)
        git(root, "reset", "--quiet", "--hard", head, check=False)
        for path, text in before.items():
            path.write_text(text, encoding="utf-8")
        raise
    if not push:
        print(
            f"prepared {tag}. Push it with:\n    git push --atomic origin "
            f"{default_branch(root)} {tag}"
        )
    return tag


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=ROOT)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("version")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--push", action="store_true")
    p.add_argument("--date")
    commands.add_parser("notes").add_argument("version")
    commands.add_parser("verify-tag").add_argument("tag")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    on_sigterm_interrupt()
    try:
        if args.command == "prepare":
            prepare(args.repo, args.version, date=args.date, dry_run=args.dry_run, push=args.push)
        elif args.command == "notes":
            print(notes(args.repo, args.version))
        else:
            version = verify_tag(args.repo, args.tag)
            print(f"verify-tag: {args.tag} matches Cargo.toml and CHANGELOG.md ({version})")
    except (PipelineError, ValueError) as err:
        print(f"release {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"release {args.command}: interrupted; the repository is as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
