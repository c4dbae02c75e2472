"""Find and describe the Python interpreters that can run a wheel's test suite.

Interpreters come from `--python`, glob patterns (pypa images keep theirs in
/opt/python), GAME_WITH_PYO3_TEST_PYTHONS (os.pathsep-separated), PATH
(python3.10 ... python3.15, and the `t` builds) and uv's managed interpreters. Each is
asked about itself; which wheel it can install is decided against the manifest row.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from pipeline import Target, is_free_threaded, tool_env

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
        """The manifest's spelling: "3.14", "3.14t"."""
        return f"{self.version[0]}.{self.version[1]}{'t' if self.free_threaded else ''}"


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
    major, minor = data["version"]
    return Interpreter(
        exe=data["exe"],
        version=(major, minor),
        free_threaded=data["free_threaded"],
        machine=data["machine"],
        os=data["os"],
        bits=data["bits"],
        libc=data["libc"],
    )


def _uv_managed() -> list[str]:
    if not shutil.which("uv", path=tool_env()["PATH"]):
        return []
    listed = subprocess.run(
        ["uv", "python", "list", "--only-installed", "--output-format", "json"],
        env=tool_env(),
        check=False,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        return []
    return [entry["path"] for entry in json.loads(listed.stdout or "[]") if entry.get("path")]


def discover(extra: list[str], patterns: tuple[str, ...] = ()) -> list[Interpreter]:
    """One interpreter per (version, build), sorted."""
    candidates = list(extra)
    for pattern in patterns:
        candidates += sorted(glob.glob(pattern))
    candidates += [p for p in os.environ.get(ENV_PYTHONS, "").split(os.pathsep) if p]
    for minor in range(10, 16):
        for suffix in ("", "t"):
            found = shutil.which(f"python3.{minor}{suffix}")
            if found:
                candidates.append(found)
    candidates += _uv_managed()
    unique: dict[tuple[tuple[int, int], bool], Interpreter] = {}
    for exe in candidates:
        interp = probe(exe)
        if interp is not None:
            unique.setdefault((interp.version, interp.free_threaded), interp)
    return sorted(unique.values(), key=lambda i: (i.version, i.free_threaded))


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
    return wheel_fits(wheel, interp.label)


def wheel_fits(wheel: str, python: str) -> bool:
    """Whether a wheel of ours is the one an interpreter spelled "3.14t" picks."""
    free_threaded = python.endswith("t")
    major, minor = (int(x) for x in python.rstrip("t").split("."))
    if is_free_threaded(wheel):
        return free_threaded and wheel.split("-")[-2] == f"cp{major}{minor}t"
    return not free_threaded and (major, minor) >= (3, 10)
