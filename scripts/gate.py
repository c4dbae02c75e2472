#!/usr/bin/env python3
"""Release gate: decide whether a directory of artifacts may be released.

    gate.py DIST [--scope host|local|release]

Rules, each reported with the artifact it concerns:
  manifest    exactly the expected artifacts for the scope — nothing missing, nothing extra;
              each is named with Cargo.toml's version (which the release workflow's plan
              job has checked against the tag: release.py verify-tag)
  contents    check-wheel-contents with pyproject.toml's [tool.check-wheel-contents]: each
              wheel holds every file of python/game_with_pyo3 and nothing beside it
  binary      inside each wheel, independent of how it was built (scripts/wheel_inspect.py):
              the module's file name is the one its ABI and platform tags call for
              (`_core.abi3.so`, `_core.cpython-314t-aarch64-linux-gnu.so`, `_core.pyd`, ...);
              every native file is the platform's format (ELF, Mach-O, PE), a shared
              library for the tag's architecture, bitness and byte order, linked against
              the tag's C library (ELF); a universal2 Mach-O holds both halves
  pypi-tags   artifacts PyPI would refuse (freebsd_*, plain linux_*) are split off into the
              release-assets set; they can never reach a PyPI upload
  twine       `twine check --strict` (metadata, README rendering)
  abi3audit   abi3audit's report on abi3 and abi3t wheels (see check_abi3audit for what it
              cannot know about abi3t)
  auditwheel  `auditwheel show` on manylinux wheels: the expected policy, no external
              libraries; musllinux wheels: their modules need only what auditwheel's
              musllinux policy whitelists (auditwheel cannot judge musl on a glibc host)
  sbom        the wheel's CycloneDX SBOM: exactly one, schema-valid, deterministic (no serial
              number, SOURCE_DATE_EPOCH, no build paths), the crates and versions of
              Cargo.lock that the target compiles in (scripts/sbom.py)
Writes DIST/SHA256SUMS, DIST/pypi.txt and DIST/release-only.txt on success.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repro
import sbom
import wheel_inspect
from pipeline import (
    ROOT,
    PipelineError,
    Target,
    expected_artifacts,
    host_target,
    is_artifact,
    kind_of,
    load_targets,
    pypi_accepts,
    require_tools,
    sha256,
    target_of,
    tool_env,
)
from versioning import project_version

GATE_OUTPUTS = ("SHA256SUMS", "pypi.txt", "release-only.txt")


@dataclass
class GateResult:
    problems: list[str] = field(default_factory=list)
    pypi: list[str] = field(default_factory=list)
    release_only: list[str] = field(default_factory=list)
    checks: dict[str, list[str]] = field(default_factory=dict)

    def passed(self, name: str, check: str) -> None:
        self.checks.setdefault(name, []).append(check)


def scope_targets(scope: str, targets: list[Target]) -> list[Target]:
    if scope == "host":
        return [host_target(targets)]
    if scope == "local":
        return [t for t in targets if t.local]
    if scope == "release":
        return targets
    raise PipelineError(f"unknown scope {scope!r} (host, local or release)")


def check_manifest(names: list[str], expected: set[str]) -> list[str]:
    present = set(names)
    problems = [f"manifest: {n} is missing" for n in sorted(expected - present)]
    problems += [
        f"manifest: {n} is not expected in this release" for n in sorted(present - expected)
    ]
    return problems


def split_for_pypi(names: list[str]) -> tuple[list[str], list[str]]:
    """(files PyPI accepts, files only for the GitHub Release); sdist sorts last."""
    pypi = [n for n in names if pypi_accepts(n)]
    pypi.sort(key=lambda n: (n.endswith(".tar.gz"), n))
    return pypi, sorted(n for n in names if not pypi_accepts(n))


def expected_policy(name: str) -> str | None:
    platform = name.removesuffix(".whl").split("-")[-1]
    for tag in platform.split("."):
        if tag.startswith(("manylinux_", "musllinux_")):
            return tag
    return None


def _tool(cmd: list[str]) -> tuple[int, str]:
    result = subprocess.run(cmd, env=tool_env(), check=False, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def musllinux_whitelist(policy: str) -> set[str]:
    """The libraries a musllinux policy allows, from auditwheel's own policy data."""
    from importlib.resources import files

    data = json.loads(files("auditwheel.policy").joinpath("musllinux-policy.json").read_text())
    name = "_".join(policy.split("_")[:3])  # musllinux_1_2_x86_64 -> musllinux_1_2
    for entry in data:
        if entry["name"] == name:
            return set(entry["lib_whitelist"])
    raise PipelineError(f"auditwheel knows no policy {name}")


def check_musllinux(path: Path, policy: str) -> list[str]:
    """`auditwheel show` judges a wheel against the libraries of the machine it runs on,
    so on a glibc host (this one, GitHub's ubuntu runners) it crashes on zig's "libc.so"
    or calls a musl wheel "linux_*". Here the modules' DT_NEEDED must be within the
    policy's whitelist (musl's loader resolves "libc.so" to itself); the binary rule has
    checked machine, bitness and byte order."""
    allowed = musllinux_whitelist(policy)
    problems = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not wheel_inspect.is_native(member):
                continue
            binary = wheel_inspect.read_binary(archive.read(member))
            for part in binary.slices if binary else ():
                extra = sorted(set(part.needed) - allowed)
                if extra:
                    problems.append(
                        f"auditwheel: {path.name}: {member} needs {extra}, outside {policy}"
                    )
    return problems


def check_auditwheel(path: Path) -> list[str]:
    policy = expected_policy(path.name)
    if policy is None:
        return []
    if policy.startswith("musllinux_"):
        return check_musllinux(path, policy)
    code, output = _tool(["auditwheel", "show", str(path)])
    flat = " ".join(output.split())
    if code != 0:
        return [f"auditwheel: {path.name}: {flat[:300]}"]
    problems = []
    if f'platform tag: "{policy}"' not in flat:
        problems.append(f"auditwheel: {path.name} is not consistent with {policy}: {flat[:300]}")
    if "external shared libraries are required" in flat:
        problems.append(f"auditwheel: {path.name} needs external shared libraries: {flat[:300]}")
    return problems


# The entry points a module defines for the interpreter to find it (PEP 489's PyInit_,
# PEP 793's PyModExport_, new in 3.15): abi3audit 0.0.26 predates PEP 793 and lists the
# module's own PyModExport_ among "non-ABI3 symbols" although no Python API is used.
_MODULE_HOOKS = re.compile(r"(PyInit|PyModExport)__core")


def check_abi3audit(path: Path) -> list[str]:
    """abi3audit's JSON report: no symbol outside the stable ABI of the wheel's minimum
    version, except the module's own entry points. For an abi3t wheel abi3audit checks
    the abi3 symbol set: it does not know PEP 803's narrower abi3t set (what free-
    threaded builds leave out), which only the free-threaded CI cells exercise."""
    with tempfile.TemporaryDirectory(prefix="gwp-abi3audit-") as tmp:
        report_path = Path(tmp) / "report.json"
        code, output = _tool(["abi3audit", "--report", "-o", str(report_path), str(path)])
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
            specs = report["specs"].values()
            results = [m["result"] for spec in specs for m in spec["wheel"]]
        except (OSError, ValueError, KeyError, TypeError):
            flat = " ".join(output.split())[-300:]
            return [f"abi3audit: {path.name}: no report (exit {code}): {flat}"]
    if not results:  # a binary format abi3audit does not read: nothing was audited
        return [f"abi3audit: {path.name}: audited no native module"]
    problems = []
    for found in results:
        symbols = [s for s in found["non_abi3_symbols"] if not _MODULE_HOOKS.fullmatch(s)]
        if symbols or found["future_abi3_objects"] or not found["is_abi3_baseline_compatible"]:
            problems.append(
                f"abi3audit: {path.name}: non-abi3 symbols {symbols}, newer than "
                f"{found['baseline']}: {found['future_abi3_objects']}"
            )
    return problems


def check_wheel(path: Path, result: GateResult) -> list[str]:
    """Contents, binary, auditwheel, abi3audit and SBOM for one wheel."""
    # Named explicitly: check-wheel-contents looks for it from the working directory.
    code, output = _tool(
        ["check-wheel-contents", "--config", str(ROOT / "pyproject.toml"), str(path)]
    )
    problems = [f"contents: {output.strip()}"] if code != 0 else []
    inside = [f"binary: {p}" for p in wheel_inspect.inspect_wheel(path)]
    if not inside:
        result.passed(path.name, "binary")
    problems += inside + check_auditwheel(path)
    if kind_of(path.name) in ("abi3", "abi3t"):
        audit = check_abi3audit(path)
        problems += audit
        if not audit:
            result.passed(path.name, "abi3audit")
    target = target_of(path.name, load_targets())
    if target is not None:
        # The SBOM: one, CycloneDX-valid, deterministic (no serial, the release's
        # SOURCE_DATE_EPOCH, no build paths) and listing exactly the crates compiled in.
        epoch = repro.release_epoch(ROOT)
        found = sbom.check_wheel(path, ROOT / "Cargo.lock", rust_target=target.rust, epoch=epoch)
        problems += [f"sbom: {p}" for p in found]
        if not found:
            result.passed(path.name, "sbom")
    if not problems:
        result.passed(path.name, "contents")
        if expected_policy(path.name):
            result.passed(path.name, "auditwheel")
    return problems


def run(dist: Path, scope: str) -> GateResult:
    require_tools("twine", "abi3audit", "auditwheel", "check-wheel-contents")
    if not dist.is_dir():
        raise PipelineError(f"{dist} is not a directory of artifacts")
    for output in GATE_OUTPUTS:
        (dist / output).unlink(missing_ok=True)
    version = project_version()
    targets = scope_targets(scope, load_targets())
    paths = sorted(p for p in dist.iterdir() if p.is_file())
    names = [p.name for p in paths]
    result = GateResult()
    result.problems += check_manifest(names, expected_artifacts(version, targets))
    artifacts = [p for p in paths if is_artifact(p.name)]
    result.pypi, result.release_only = split_for_pypi([p.name for p in artifacts])
    for name in result.release_only:
        result.passed(name, "pypi-tags: release assets only")
    code, output = _tool(["twine", "check", "--strict", *map(str, artifacts)])
    if code != 0:
        result.problems.append(f"twine: {output.strip()[-800:]}")
    wheels = [p for p in artifacts if p.name.endswith(".whl")]
    for path in artifacts:
        if code == 0:
            result.passed(path.name, "twine")
    for path in wheels:
        result.problems += check_wheel(path, result)
    if not result.problems:
        sums = "".join(f"{sha256(p)}  {p.name}\n" for p in artifacts)
        (dist / "SHA256SUMS").write_text(sums, encoding="utf-8")
        (dist / "pypi.txt").write_text("".join(f"{n}\n" for n in result.pypi), encoding="utf-8")
        (dist / "release-only.txt").write_text(
            "".join(f"{n}\n" for n in result.release_only), encoding="utf-8"
        )
    return result


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dist", type=Path)
    parser.add_argument("--scope", default="host", choices=["host", "local", "release"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = run(args.dist, args.scope)
    except PipelineError as err:
        print(f"gate: {err}", file=sys.stderr)
        return 1
    if result.problems:
        print(f"gate: REFUSED ({len(result.problems)} problems)", file=sys.stderr)
        for problem in result.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"gate: passed — {len(result.pypi)} for PyPI, {len(result.release_only)} release-only")
    for name in result.release_only:
        print(f"  release asset only (PyPI refuses its tag): {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
