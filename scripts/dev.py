#!/usr/bin/env python3
"""The project's front door: set up, test and rehearse a release.

    python3 scripts/dev.py setup      # .venv with every tool (uv, locked versions)
    python3 scripts/dev.py test       # every check and test (what CI runs)
    python3 scripts/dev.py rehearse   # the release rehearsal (see scripts/rehearse.py)

Runs with any Python >= 3.10 and only the standard library until the venv exists;
then every stage runs inside `.venv`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
TEST_WHEELS = ROOT / "target" / "test-wheels"


def step(title: str, *cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print(f"\n==> {title}: {' '.join(str(c) for c in cmd)}", flush=True)
    start = time.monotonic()
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"FAILED at stage '{title}' (exit {result.returncode})")
    print(f"    {title}: ok in {time.monotonic() - start:.1f}s", flush=True)


def ensure_system_tools() -> None:
    """shellcheck lets actionlint check `run:` scripts; Debian ships it."""
    if shutil.which("shellcheck"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        step("install shellcheck", "apt-get", "update", "-qq")
        step("install shellcheck", "apt-get", "install", "-y", "-qq", "shellcheck")
    else:
        sys.exit("shellcheck is missing: install it with your package manager")


def setup() -> None:
    if shutil.which("cargo") is None:
        sys.exit("cargo is missing: install Rust with rustup (https://rustup.rs)")
    ensure_system_tools()
    installed = subprocess.run(
        ["rustup", "component", "list", "--installed"], check=False, capture_output=True, text=True
    ).stdout
    missing = [c for c in ("clippy", "rustfmt") if c not in installed]
    if missing and shutil.which("rustup"):
        step("rust components", "rustup", "component", "add", *missing)
    if not PYTHON.exists():
        step("create venv", sys.executable, "-m", "venv", VENV)
    if not (BIN / "uv").exists():
        step("install uv", PYTHON, "-m", "pip", "install", "--quiet", "uv>=0.8")
    step(
        "sync tools",
        BIN / "uv",
        "sync",
        "--locked",
        "--no-install-project",
        "--all-groups",
        "--python",
        PYTHON,
    )


def install_wheel() -> Path:
    """Build the release wheel and install it (not editable: tests see the artifact)."""
    shutil.rmtree(TEST_WHEELS, ignore_errors=True)
    step("build wheel", BIN / "maturin", "build", "--release", "--out", TEST_WHEELS)
    (wheel,) = TEST_WHEELS.glob("*.whl")
    step(
        "install wheel",
        BIN / "uv",
        "pip",
        "install",
        "--python",
        PYTHON,
        "--reinstall",
        "--no-deps",
        wheel,
    )
    return wheel


def test() -> None:
    setup()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    step("rustfmt", "cargo", "fmt", "--check")
    step("clippy", "cargo", "clippy", "--all-targets", "--locked", "--", "-D", "warnings")
    step("cargo test", "cargo", "test", "--locked")
    install_wheel()
    step("ruff", BIN / "ruff", "check", ".")
    step("ruff format", BIN / "ruff", "format", "--check", ".")
    step("mypy (package, tests)", BIN / "mypy")
    step(
        "mypy (scripts)",
        BIN / "mypy",
        "scripts",
        env={**os.environ, "MYPYPATH": str(ROOT / "scripts")},
    )
    step(
        "stubtest",
        PYTHON,
        "-m",
        "mypy.stubtest",
        "game_with_pyo3",
        "--allowlist",
        ROOT / ".mypy-stubtest-allowlist",
    )
    step("validate-pyproject", BIN / "validate-pyproject", "pyproject.toml")
    step("pytest (package)", PYTHON, "-m", "pytest", "tests", env=env)
    step(
        "pytest (package, 4 threads per test)",
        PYTHON,
        "-m",
        "pytest",
        "tests",
        "-q",
        "--parallel-threads=4",
        env=env,
    )
    step("pytest (pipeline and scripts)", PYTHON, "-m", "pytest", "scripts/tests", env=env)


def rehearse(argv: list[str]) -> None:
    setup()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    step("rehearse", PYTHON, ROOT / "scripts" / "rehearse.py", *argv, env=env)


def main(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "setup":
        setup()
    elif command == "test":
        test()
    elif command == "rehearse":
        rehearse(rest)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
