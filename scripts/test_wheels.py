#!/usr/bin/env python3
"""Test stage: run the test suite against every wheel, on every interpreter that can
install it, each in a fresh venv with the wheel alone (no source tree on sys.path).

    test_wheels.py DIST [--python PATH ...] [--qemu] [--parallel-threads N]

Interpreters are discovered on PATH (python3.10 ... python3.15, python3.14t,
python3.15t), among uv-managed ones, and from GAME_WITH_PYO3_TEST_PYTHONS
(os.pathsep-separated); `--python` adds more. Free-threaded wheels run the suite a
second time under pytest-run-parallel. `--qemu` also runs the foreign-architecture
Linux wheels of the manifest rows with a `qemu` architecture inside minimal Debian
roots (scripts/qemu_root.py). A wheel nothing here can run is reported "built and
gated, not run here" — never counted as tested.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import (
    ROOT,
    PipelineError,
    Target,
    is_free_threaded,
    load_targets,
    target_of,
    tool_env,
)

ENV_PYTHONS = "GAME_WITH_PYO3_TEST_PYTHONS"
PROBE = (
    "import json, platform, struct, sys, sysconfig; print(json.dumps({"
    "'impl': sys.implementation.name, 'version': list(sys.version_info[:2]),"
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
    "'machine': platform.machine().lower(), 'os': sys.platform, 'exe': sys.executable,"
    "'bits': struct.calcsize('P') * 8,"
    "'libc': ('glibc' if platform.libc_ver()[0] == 'glibc' else 'musl')"
    " if sys.platform == 'linux' else ''}))"
)
# target id -> (sys.platform prefix, platform.machine() values, pointer bits, libc)
MACHINES: dict[str, tuple[str, set[str], int, str]] = {
    "linux-x86_64": ("linux", {"x86_64"}, 64, "glibc"),
    "linux-aarch64": ("linux", {"aarch64"}, 64, "glibc"),
    "linux-i686": ("linux", {"i686", "i386", "x86_64"}, 32, "glibc"),
    "linux-armv7": ("linux", {"armv7l", "armv8l", "aarch64"}, 32, "glibc"),
    "linux-ppc64le": ("linux", {"ppc64le"}, 64, "glibc"),
    "linux-s390x": ("linux", {"s390x"}, 64, "glibc"),
    "musllinux-x86_64": ("linux", {"x86_64"}, 64, "musl"),
    "musllinux-aarch64": ("linux", {"aarch64"}, 64, "musl"),
    "macos-x86_64": ("darwin", {"x86_64"}, 64, ""),
    "macos-arm64": ("darwin", {"arm64"}, 64, ""),
    "windows-x64": ("win32", {"amd64"}, 64, ""),
    "windows-x86": ("win32", {"amd64", "x86"}, 32, ""),
    "windows-arm64": ("win32", {"arm64"}, 64, ""),
    "freebsd-x86_64": ("freebsd", {"amd64"}, 64, ""),
}


@dataclass(frozen=True)
class Interpreter:
    exe: str
    version: tuple[int, int]
    free_threaded: bool
    machine: str
    os: str
    bits: int
    libc: str

    @property
    def label(self) -> str:
        return f"{self.version[0]}.{self.version[1]}{'t' if self.free_threaded else ''}"


@dataclass
class WheelOutcome:
    wheel: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    note: str = ""


def probe(exe: str) -> Interpreter | None:
    try:
        out = subprocess.run(
            [exe, "-c", PROBE], check=True, capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    data = json.loads(out)
    if data["impl"] != "cpython":
        return None
    return Interpreter(
        exe=data["exe"],
        version=tuple(data["version"]),
        free_threaded=data["free_threaded"],
        machine=data["machine"],
        os=data["os"],
        bits=data["bits"],
        libc=data["libc"],
    )


def discover(extra: list[str], patterns: tuple[str, ...] = ()) -> list[Interpreter]:
    import glob

    candidates = list(extra)
    for pattern in patterns:
        candidates += sorted(glob.glob(pattern))
    candidates += [p for p in os.environ.get(ENV_PYTHONS, "").split(os.pathsep) if p]
    for minor in range(10, 16):
        for suffix in ("", "t"):
            found = shutil.which(f"python3.{minor}{suffix}")
            if found:
                candidates.append(found)
    if shutil.which("uv", path=tool_env()["PATH"]):
        listed = subprocess.run(
            ["uv", "python", "list", "--only-installed", "--output-format", "json"],
            env=tool_env(),
            check=False,
            capture_output=True,
            text=True,
        )
        if listed.returncode == 0:
            candidates += [
                entry["path"] for entry in json.loads(listed.stdout or "[]") if entry.get("path")
            ]
    seen: dict[str, Interpreter] = {}
    for exe in candidates:
        interp = probe(exe)
        if interp is not None:
            key = os.path.realpath(interp.exe)
            seen.setdefault(key, interp)
    # One interpreter per (version, build) is enough.
    unique: dict[tuple[tuple[int, int], bool], Interpreter] = {}
    for interp in seen.values():
        unique.setdefault((interp.version, interp.free_threaded), interp)
    return sorted(unique.values(), key=lambda i: (i.version, i.free_threaded))


def can_install(wheel: str, target: Target | None, interp: Interpreter) -> bool:
    if target is None:
        return False
    os_name, machines, bits, libc = MACHINES[target.id]
    if not interp.os.startswith(os_name) or interp.machine not in machines:
        return False
    if (interp.bits, interp.libc) != (bits, libc):
        return False
    if is_free_threaded(wheel):
        tag = wheel.split("-")[-2]  # cp314t
        return interp.free_threaded and tag == f"cp3{interp.version[1]}t"
    return not interp.free_threaded and interp.version >= (3, 10)


def test_requirements() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["dependency-groups"]["test"])


def run_suite(wheel: Path, interp: Interpreter, parallel_threads: int, log_dir: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="gwp-test-") as tmp:
        venv = Path(tmp) / "venv"
        env = tool_env()
        python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if shutil.which("uv", path=env["PATH"]):
            subprocess.run(
                ["uv", "venv", "--quiet", "--python", interp.exe, str(venv)], env=env, check=True
            )
            subprocess.run(
                [
                    "uv",
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(python),
                    str(wheel),
                    *test_requirements(),
                ],
                env=env,
                check=True,
            )
        else:  # e.g. FreeBSD, where PyPI has no uv build
            subprocess.run([interp.exe, "-m", "venv", str(venv)], env=env, check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", str(wheel), *test_requirements()],
                env=env,
                check=True,
            )
        runs: list[list[str]] = [[]]
        if interp.free_threaded and parallel_threads > 1:
            runs.append([f"--parallel-threads={parallel_threads}"])
        ok = True
        for extra in runs:
            log = log_dir / f"{wheel.stem}-{interp.label}{'-parallel' if extra else ''}.log"
            # cwd is a scratch directory and the config comes from the repository, so
            # nothing but the installed wheel can provide `game_with_pyo3`.
            cmd = [
                str(python),
                "-m",
                "pytest",
                "-c",
                str(ROOT / "pyproject.toml"),
                "--rootdir",
                str(ROOT),
                "-p",
                "no:cacheprovider",
                "-q",
                str(ROOT / "tests"),
                *extra,
            ]
            clean_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
            result = subprocess.run(
                cmd,
                cwd=tmp,
                env=clean_env,
                check=False,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            log.write_text(result.stdout, encoding="utf-8")
            summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
            status = "ok" if result.returncode == 0 else f"FAILED (see {log})"
            print(
                f"    {wheel.name} on {interp.label} {' '.join(extra)}: {summary} — {status}",
                flush=True,
            )
            ok = ok and result.returncode == 0
        return ok


def run(
    dist: Path,
    pythons: list[str],
    *,
    qemu: bool = False,
    parallel_threads: int = 4,
    log_dir: Path | None = None,
    patterns: tuple[str, ...] = (),
) -> list[WheelOutcome]:
    log_dir = log_dir or dist / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    interpreters = discover(pythons, patterns)
    print(f"==> interpreters: {', '.join(f'{i.label} ({i.exe})' for i in interpreters)}")
    targets = load_targets()
    outcomes = []
    for wheel in sorted(dist.glob("*.whl")):
        outcome = WheelOutcome(wheel.name)
        target = target_of(wheel.name, targets)
        start = time.monotonic()
        for interp in interpreters:
            if can_install(wheel.name, target, interp):
                ok = run_suite(wheel, interp, parallel_threads, log_dir)
                (outcome.passed if ok else outcome.failed).append(interp.label)
        if qemu and not outcome.passed and not outcome.failed:
            from qemu_root import run_wheel_under_qemu

            if target is not None and target.qemu and not is_free_threaded(wheel.name):
                label, ok = run_wheel_under_qemu(wheel, target.qemu, log_dir)
                (outcome.passed if ok else outcome.failed).append(label)
        if not outcome.passed and not outcome.failed:
            outcome.note = "built and gated, not run here"
        else:
            outcome.note = f"{time.monotonic() - start:.0f}s"
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dist", type=Path)
    parser.add_argument("--python", action="append", default=[], dest="pythons")
    parser.add_argument(
        "--python-glob",
        action="append",
        default=[],
        dest="patterns",
        help="interpreters by pattern, e.g. '/opt/python/cp31*/bin/python'",
    )
    parser.add_argument("--qemu", action="store_true")
    parser.add_argument("--parallel-threads", type=int, default=4)
    parser.add_argument(
        "--require-all",
        action="store_true",
        help="fail if any wheel could not be run (CI test jobs)",
    )
    args = parser.parse_args(argv)
    try:
        outcomes = run(
            args.dist,
            args.pythons,
            qemu=args.qemu,
            parallel_threads=args.parallel_threads,
            patterns=tuple(args.patterns),
        )
    except (PipelineError, subprocess.CalledProcessError) as err:
        print(f"test-wheels: {err}", file=sys.stderr)
        return 1
    failed = False
    for o in outcomes:
        tested = ", ".join(o.passed) or "-"
        print(
            f"  {o.wheel}: passed on {tested}"
            + (f"; FAILED on {', '.join(o.failed)}" if o.failed else "")
            + f" ({o.note})"
        )
        failed = failed or bool(o.failed) or (args.require_all and not o.passed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
