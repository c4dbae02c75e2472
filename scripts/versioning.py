"""Versions and the CHANGELOG: one module for both spellings of a version and for what
a release tag must match. Cargo.toml holds the version in SemVer spelling (1.2.0-rc.1);
tags, the CHANGELOG and PyPI use PEP 440's (1.2.0rc1)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import tomllib
from packaging.version import InvalidVersion, Version
from pipeline import ROOT, PipelineError

UNRELEASED = "## [Unreleased]"
_PRE = {"a": "alpha", "b": "beta", "rc": "rc"}
_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\S+))?\s*$")


class ReleaseError(PipelineError):
    pass


def cargo_version(root: Path = ROOT) -> str:
    data = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    return str(data["package"]["version"])


def python_version(cargo: str) -> str:
    """The PEP 440 spelling of a Cargo (SemVer) version: 1.2.0-rc.1 -> 1.2.0rc1."""
    try:
        return str(Version(cargo))
    except InvalidVersion as err:
        raise PipelineError(f"Cargo version {cargo!r} has no PEP 440 spelling") from err


def project_version(root: Path = ROOT) -> str:
    return python_version(cargo_version(root))


def parse_version(text: str) -> Version:
    try:
        version = Version(text)
    except InvalidVersion as err:
        raise ReleaseError(f"{text!r} is not a valid PEP 440 version") from err
    if str(version) != text:
        raise ReleaseError(f"write the version in its normal form: {version} (not {text})")
    if version.epoch or version.post is not None or version.dev is not None or version.local:
        raise ReleaseError(f"{text}: only X.Y.Z and X.Y.Z{{a,b,rc}}N have a Cargo spelling")
    if len(version.release) != 3:
        raise ReleaseError(f"{text}: use three numbers, X.Y.Z")
    return version


def cargo_spelling(version: Version) -> str:
    """1.2.0rc1 -> 1.2.0-rc.1 (SemVer pre-release, sorted the same way as PEP 440)."""
    base = ".".join(map(str, version.release))
    if version.pre is None:
        return base
    kind, number = version.pre
    return f"{base}-{_PRE[kind]}.{number}"


def current_version(root: Path) -> Version:
    return Version(cargo_version(root))


@dataclass
class Section:
    version: str
    date: str | None
    body: str


def changelog_sections(text: str) -> list[Section]:
    sections: list[Section] = []
    current: Section | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match or (line.startswith("[") and "]: " in line):
            if current is not None:
                current.body = "\n".join(lines).strip()
                sections.append(current)
                current = None
            if match:
                current = Section(match["version"], match["date"], "")
                lines = []
            continue
        if current is not None:
            lines.append(line)
    if current is not None:
        current.body = "\n".join(lines).strip()
        sections.append(current)
    return sections


def section_has_entries(body: str) -> bool:
    return any(line.strip() and not line.startswith("#") for line in body.splitlines())


def changelog_section(root: Path, version: str) -> Section | None:
    """The CHANGELOG's section of a version ("Unreleased" for the one to come)."""
    sections = changelog_sections((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    return next((s for s in sections if s.version == version), None)


def notes(root: Path, version_text: str) -> str:
    section = changelog_section(root, version_text)
    if section is None:
        raise ReleaseError(f"CHANGELOG.md has no section for {version_text}")
    return section.body


def verify_tag(root: Path, tag: str) -> str:
    if not tag.startswith("v"):
        raise ReleaseError(f"tag {tag!r} must look like vX.Y.Z")
    version = parse_version(tag[1:])
    cargo = current_version(root)
    if cargo != version:
        raise ReleaseError(
            f"tag {tag} does not match Cargo.toml's version {cargo_spelling(cargo)} ({cargo})"
        )
    section = changelog_section(root, str(version))
    if section is None:
        raise ReleaseError(f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section")
    try:
        dt.date.fromisoformat(section.date or "")
    except ValueError as err:
        raise ReleaseError(f"the CHANGELOG section for {version} has no valid date") from err
    if not section_has_entries(section.body):
        raise ReleaseError(f"the CHANGELOG section for {version} is empty")
    return str(version)
