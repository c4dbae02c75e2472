"""The suite's test dependencies per test cell, pinned from uv.lock, from wheels only.

A test cell is one (manifest row, interpreter) pair that CI tests: `linux-armv7` on
CPython 3.14t, say. Cells run in places without a compiler for every dependency
(pypa's manylinux images have no Rust, and hypothesis's sdist needs it), so every
test dependency is installed from a wheel, at the version uv.lock pins for that
interpreter, with the hashes uv.lock records.

The `test-core` dependency group is needed everywhere: a cell without a wheel for one
of its packages is a broken cell, and `scripts/tests/test_testdeps.py` proves offline,
from uv.lock, that every cell of the manifest has them. The rest of the `test` group
is optional: it adds tests that skip, with their reason in pytest's summary, where it
has no wheel (hypothesis has none for free-threaded 3.14 on several architectures) or
where its wheel installs but does not load (`CellRequirements.without`: hypothesis's
pp73 wheel calls PyModule_FromDefAndSpec2, which Debian trixie's PyPy 7.3.19 does not
export; scripts/debian_root.py tries the import in its roots).

The same resolution runs inside every cell (scripts/suite.py) and in the offline
proof: one path, so the proof covers what CI installs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import tomllib
from packaging.markers import Marker
from packaging.utils import canonicalize_name, parse_wheel_filename
from pipeline import ROOT, PipelineError, Target
from tags import interpreter_tags, parse_label

LOCK = ROOT / "uv.lock"
PROJECT = "game-with-pyo3"
REQUIRED_GROUP = "test-core"
FULL_GROUP = "test"

_SYSTEM = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows", "freebsd": "FreeBSD"}


@dataclass(frozen=True)
class Cell:
    """One CI test cell: a manifest row and an interpreter ("3.14", "3.14t", "pypy3.11")."""

    target: Target
    python: str

    def marker_environment(self) -> dict[str, str]:
        impl, version, _, _ = parse_label(self.python)
        full = f"{version[0]}.{version[1]}.0"
        return {
            "implementation_name": impl,
            "implementation_version": full,
            "os_name": "nt" if self.target.os == "win32" else "posix",
            "platform_machine": self.target.machines[0],
            "platform_python_implementation": "PyPy" if impl == "pypy" else "CPython",
            "platform_release": "",
            "platform_system": _SYSTEM[self.target.os],
            "platform_version": "",
            "python_full_version": full,
            "python_version": f"{version[0]}.{version[1]}",
            "sys_platform": self.target.os,
            "extra": "",
        }

    def tags(self) -> set[str]:
        """Wheel tags an installer accepts in this cell, on the oldest system the
        wheel's own platform tag admits (so a dependency wheel found here installs
        wherever our wheel does)."""
        return set(interpreter_tags(self.python, self.target.platform))


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    wheels: tuple[tuple[str, str], ...]  # (filename, "sha256:...") of every locked wheel

    def wheel_for(self, cell: Cell) -> tuple[str, str] | None:
        accepted = cell.tags()
        for filename, digest in self.wheels:
            if {str(t) for t in parse_wheel_filename(filename)[3]} & accepted:
                return filename, digest
        return None

    def requirement_line(self) -> str:
        hashes = " ".join(f"--hash={digest}" for _, digest in self.wheels)
        return f"{self.name}=={self.version} {hashes}"


@dataclass(frozen=True)
class CellRequirements:
    cell: Cell
    pins: tuple[Pin, ...]
    skipped: tuple[str, ...]  # optional dependencies left out here, and why
    # each optional dependency installed here and the pins only it brings
    optional: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def requirements_text(self) -> str:
        return "".join(f"{pin.requirement_line()}\n" for pin in self.pins)

    def without(self, name: str, reason: str) -> CellRequirements:
        """These requirements less the optional dependency `name` and what only it
        brought: for a wheel that installs but cannot load in the cell (a native wheel
        built for a newer interpreter of the same ABI tag). Its tests skip, as where it
        has no wheel, and `reason` says why."""
        brought = dict(self.optional)
        if name not in brought:
            raise PipelineError(f"{name} is not an optional test dependency of this cell")
        return CellRequirements(
            self.cell,
            tuple(p for p in self.pins if p.name not in brought[name]),
            (*self.skipped, reason),
            tuple((n, pins) for n, pins in self.optional if n != name),
        )


def import_name(name: str) -> str:
    """The module a test dependency is imported as (hypothesis: hypothesis)."""
    return canonicalize_name(name).replace("-", "_")


def load_failures(
    needs: CellRequirements, python: Callable[..., CompletedProcess[str]]
) -> Iterator[tuple[str, str]]:
    """Each optional test dependency of `needs` that installed but does not import, and
    the last line of its error. `python(*args)` runs the cell's interpreter (on the host
    or in a Debian root) and captures its output as text. A native wheel can install
    (its tags fit) and still not load on the cell's build of the interpreter, such as
    hypothesis's pp73 wheel on an older PyPy, whose pytest plugin would break every
    run: such a dependency is left out like one without a wheel, and its tests skip."""
    for name, _ in needs.optional:
        tried = python("-c", f"import {import_name(name)}")
        if tried.returncode != 0:
            yield name, (tried.stderr.strip().splitlines() or ["?"])[-1]


def install_loadable(
    needs: CellRequirements,
    install: Callable[[CellRequirements], None],
    python: Callable[..., CompletedProcess[str]],
    where: str,
) -> CellRequirements:
    """Install the cell with `install`; an optional dependency that then does not
    import (load_failures) is left out, and the cell installed again without it. The
    requirements installed in the end, with why each left-out one is missing."""
    install(needs)
    failed = list(load_failures(needs, python))
    for name, error in failed:
        needs = needs.without(name, f"{name}: its wheel does not load on {where} ({error})")
    if failed:
        install(needs)
    return needs


class Lock:
    """The packages of uv.lock, read with tomllib."""

    def __init__(self, path: Path = LOCK) -> None:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        self.packages: dict[str, list[dict[str, Any]]] = {}
        for package in data["package"]:
            self.packages.setdefault(canonicalize_name(package["name"]), []).append(package)

    def group(self, name: str) -> list[dict[str, Any]]:
        (project,) = self.packages[PROJECT]
        groups: dict[str, list[dict[str, Any]]] = project.get("dev-dependencies", {})
        if name not in groups:
            raise PipelineError(f"uv.lock has no dependency group {name!r}")
        return groups[name]

    def _entry(self, edge: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
        candidates = self.packages[canonicalize_name(edge["name"])]
        if "version" in edge:
            candidates = [p for p in candidates if p["version"] == edge["version"]]
        if len(candidates) > 1:
            candidates = [
                p
                for p in candidates
                if any(Marker(m).evaluate(env) for m in p.get("resolution-markers", []))
            ]
        if len(candidates) != 1:
            raise PipelineError(f"uv.lock: cannot choose one {edge['name']} for {env}")
        return candidates[0]

    def closure(self, roots: Iterable[dict[str, Any]], env: dict[str, str]) -> list[Pin]:
        pins: dict[str, Pin] = {}
        todo = [e for e in roots if Marker(e.get("marker", "python_version > '0'")).evaluate(env)]
        while todo:
            edge = todo.pop()
            name = canonicalize_name(edge["name"])
            if name in pins:
                continue
            entry = self._entry(edge, env)
            wheels = tuple(
                (w["url"].rsplit("/", 1)[-1], w["hash"]) for w in entry.get("wheels", [])
            )
            pins[name] = Pin(name, entry["version"], wheels)
            todo += [
                dep
                for dep in entry.get("dependencies", [])
                if "marker" not in dep or Marker(dep["marker"]).evaluate(env)
            ]
        return sorted(pins.values(), key=lambda p: p.name)


def requirements(cell: Cell, lock: Lock | None = None) -> CellRequirements:
    """The pinned wheels a cell installs; raises if a required one has no wheel."""
    lock = lock or Lock()
    env = cell.marker_environment()
    core = {canonicalize_name(r["name"]) for r in lock.group(REQUIRED_GROUP)}
    roots = lock.group(FULL_GROUP)
    required = lock.closure([r for r in roots if canonicalize_name(r["name"]) in core], env)
    missing = [p for p in required if p.wheel_for(cell) is None]
    if missing:
        names = ", ".join(f"{p.name}=={p.version}" for p in missing)
        raise PipelineError(
            f"{cell.target.id} on {cell.python}: no wheel in uv.lock for {names}; "
            "the suite cannot be installed there from wheels"
        )
    chosen = {p.name for p in required}
    pins = list(required)
    skipped = []
    installed = []
    optional = [r for r in roots if canonicalize_name(r["name"]) not in core]
    for root in sorted(optional, key=lambda r: str(r["name"])):
        extra = [p for p in lock.closure([root], env) if p.name not in chosen]
        lacking = [p for p in extra if p.wheel_for(cell) is None]
        if lacking:
            skipped.append(
                f"{root['name']}: no wheel for {cell.python} on {cell.target.platform} "
                f"({', '.join(f'{p.name}=={p.version}' for p in lacking)})"
            )
        elif extra:  # a group may list a dependency twice (under different markers)
            pins += extra
            chosen.update(p.name for p in extra)
            installed.append((str(root["name"]), tuple(p.name for p in extra)))
    return CellRequirements(
        cell, tuple(sorted(pins, key=lambda p: p.name)), tuple(skipped), tuple(installed)
    )


def cells(targets: Iterable[Target]) -> list[Cell]:
    return [Cell(t, python) for t in targets for python in t.ci_test_pythons]
