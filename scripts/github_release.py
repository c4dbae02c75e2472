#!/usr/bin/env python3
"""Create (or complete) the GitHub Release for a tag with the `gh` CLI.

    github_release.py vX.Y.Z DIST [--dry-run]

Body: the version's CHANGELOG section. Assets: every wheel (FreeBSD included), the
sdist and SHA256SUMS from the gated DIST. Re-runnable: if the release exists, the
assets are uploaded again with --clobber, so a failed run can simply be re-run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import versioning
from pipeline import ROOT, PipelineError, is_artifact


def assets(dist: Path) -> list[Path]:
    found = sorted(p for p in dist.iterdir() if is_artifact(p.name))
    sums = dist / "SHA256SUMS"
    if not sums.exists():
        raise PipelineError(f"{sums} is missing: the gate did not pass on {dist}")
    listed = {line.split()[1] for line in sums.read_text().splitlines() if line.strip()}
    if listed != {p.name for p in found}:
        raise PipelineError("SHA256SUMS does not list exactly the artifacts in DIST")
    return [*found, sums]


def commands(tag: str, dist: Path, notes_file: Path, exists: bool) -> list[list[str]]:
    files = [str(p) for p in assets(dist)]
    if exists:
        return [["gh", "release", "upload", tag, "--clobber", *files]]
    version = tag.removeprefix("v")
    cmd = [
        "gh",
        "release",
        "create",
        tag,
        "--verify-tag",
        "--title",
        f"game-with-pyo3 {version}",
        "--notes-file",
        str(notes_file),
        *files,
    ]
    if versioning.parse_version(version).is_prerelease:
        cmd.insert(4, "--prerelease")
    return [cmd]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tag")
    parser.add_argument("dist", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        version = versioning.verify_tag(ROOT, args.tag)
        with tempfile.TemporaryDirectory() as tmp:
            notes_file = Path(tmp) / "notes.md"
            notes_file.write_text(versioning.notes(ROOT, version) + "\n", encoding="utf-8")
            exists = (
                not args.dry_run
                and subprocess.run(
                    ["gh", "release", "view", args.tag], capture_output=True, check=False
                ).returncode
                == 0
            )
            for cmd in commands(args.tag, args.dist, notes_file, exists):
                print("$", " ".join(cmd))
                if not args.dry_run:
                    subprocess.run(cmd, check=True)
    except (PipelineError, subprocess.CalledProcessError) as err:
        print(f"github-release: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
