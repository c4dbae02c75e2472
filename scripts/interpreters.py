"""Describe the Python interpreters a caller names for a wheel's test suite.

Interpreters come only from the caller: `--python` paths and glob patterns (pypa images
keep theirs in /opt/python), which the workflow takes from the cells the plan chose.
Nothing is looked up on PATH or in uv's managed interpreters: a runner's extra
interpreters would add test cells nobody chose. Each is asked about itself (PROBE;
scripts/debian_root.py asks the interpreters of its Debian roots the same way); which
wheel it can install is decided against the manifest row.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
from dataclasses import dataclass

from pipeline import PipelineError, Target
from tags import picks

PROBE = (
    "import json, platform, struct, sys, sysconfig; print(json.dumps({"
    "'impl': sys.implementation.name, 'version': list(sys.version_info[:2]),"
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
    "'machine': platform.machine().lower(), 'os': sys.platform, 'exe': sys.executable,"
    "'bits': struct.calcsize('P') * 8, 'soabi': sysconfig.get_config_var('SOABI') or '',"
    "'libc': ('glibc' if platform.libc_ver()[0] == 'glibc' else 'musl')"
    " if sys.platform == 'linux' else '',"
    "'purelib': sysconfig.get_path('purelib')}))"
)


@dataclass(frozen=True)
class Interpreter:
    exe: str
    impl: str
    version: tuple[int, int]
    free_threaded: bool
    machine: str
    os: str
    bits: int
    libc: str
    soabi: str = ""
    purelib: str = ""  # where an installer puts packages for it (a venv's site-packages)

    @property
    def label(self) -> str:
        """The manifest's spelling: "3.14", "3.14t", "pypy3.11" (ABI pp73) or
        "pypy3.11-pp80" (another PyPy ABI, such as Debian's PyPy 8)."""
        number = f"{self.version[0]}.{self.version[1]}"
        if self.impl == "pypy":
            abi = re.search(r"-pp(\d+)", self.soabi)
            suffix = f"-pp{abi[1]}" if abi and abi[1] != "73" else ""
            return f"pypy{number}{suffix}"
        return f"{number}{'t' if self.free_threaded else ''}"


def probe(exe: str) -> Interpreter | None:
    try:
        out = subprocess.run(
            [exe, "-c", PROBE], check=True, capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return from_probe(out)


def from_probe(out: str) -> Interpreter | None:
    """The interpreter PROBE's output (its last line) describes; None for one that is
    neither CPython nor PyPy."""
    lines = out.strip().splitlines()
    data = json.loads(lines[-1]) if lines else {}
    if data.get("impl") not in ("cpython", "pypy"):
        return None
    major, minor = data["version"]
    return Interpreter(
        exe=data["exe"],
        impl=data["impl"],
        soabi=data["soabi"],
        version=(major, minor),
        free_threaded=data["free_threaded"],
        machine=data["machine"],
        os=data["os"],
        bits=data["bits"],
        libc=data["libc"],
        purelib=data.get("purelib") or "",
    )


def given(exes: list[str], patterns: tuple[str, ...] = ()) -> list[Interpreter]:
    """The interpreters named by path or glob pattern, one per (version, build), sorted.
    A named one that does not answer, and a pattern that matches nothing, are errors."""
    candidates = list(exes)
    for pattern in patterns:
        matched = sorted(glob.glob(pattern))
        if not matched:
            raise PipelineError(f"no interpreter matches {pattern!r}")
        candidates += matched
    unique: dict[str, Interpreter] = {}
    for exe in candidates:
        interp = probe(exe)
        if interp is None:
            raise PipelineError(f"{exe} is not a CPython or PyPy interpreter that runs here")
        unique.setdefault(interp.label, interp)
    return sorted(unique.values(), key=lambda i: (i.impl, i.version, i.free_threaded))


def runs_on(target: Target, interp_os: str, machine: str, bits: int, libc: str) -> bool:
    """Whether an interpreter of this OS, machine, pointer size and libc can load the
    row's wheels at all."""
    return (
        interp_os.startswith(target.os)
        and machine in target.machines
        and (bits, libc) == (target.bits, target.libc)
    )


def can_install(wheel: str, target: Target | None, interp: Interpreter) -> bool:
    if target is None or not runs_on(target, interp.os, interp.machine, interp.bits, interp.libc):
        return False
    return wheel_fits(wheel, interp.label, target)


def wheel_fits(wheel: str, python: str, target: Target) -> bool:
    """Whether `wheel` is the one of the row's wheels that the interpreter installs
    (packaging's tag order, as pip and uv decide; scripts/tags.py)."""
    version = wheel.split("-")[1]
    return picks(python, target.platform, target.wheel_names(version)) == wheel
