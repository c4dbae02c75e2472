#!/usr/bin/env python3
"""The project's front door: set up, test and rehearse a release.

    python3 scripts/dev.py setup      # .venv with every tool (uv, locked versions)
    python3 scripts/dev.py install    # the release wheel built and installed into .venv
    python3 scripts/dev.py test       # every check and test (what CI runs)
    python3 scripts/dev.py rehearse   # the release rehearsal (see scripts/rehearse.py)
    python3 scripts/dev.py locked-requirement uv   # uv.lock's uv, with hashes, for pip

Needs Python >= 3.11 (the package itself supports 3.10; the project's tools read TOML
with the standard library) and only the standard library until the venv exists; then
every stage runs inside `.venv`. Works as root or as a user with password-less sudo
(GitHub's runners): the few steps that need root say so and use sudo.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

MINIMUM_PYTHON = (3, 11)
if sys.version_info < MINIMUM_PYTHON:
    sys.exit(
        f"scripts/dev.py needs Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer "
        f"(this is {sys.version.split()[0]}): run it with python3.11 or later"
    )

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
TEST_WHEELS = ROOT / "target" / "test-wheels"
# Whether `install` builds this machine's whole manifest row, as its CI build job does.
HOST_ROW_BUILT = sys.platform == "linux" and platform.machine().lower() in ("x86_64", "amd64")


def step(title: str, *cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print(f"\n==> {title}: {' '.join(str(c) for c in cmd)}", flush=True)
    start = time.monotonic()
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"FAILED at stage '{title}' (exit {result.returncode})")
    print(f"    {title}: ok in {time.monotonic() - start:.1f}s", flush=True)


def as_root(*cmd: str) -> list[str]:
    """`cmd` as root: directly, or through password-less sudo; else exit saying so."""
    if os.geteuid() == 0:
        return list(cmd)
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0:
        return ["sudo", "-n", *cmd]
    sys.exit(f"`{' '.join(cmd)}` needs root: run it as root, or give this user sudo")


def apt_install(*packages: str) -> None:
    """Debian's (or Ubuntu's) packages, as root; the package lists first, which a fresh
    machine may lack."""
    title = f"install {', '.join(packages)}"
    if not shutil.which("apt-get"):
        sys.exit(f"{title}: no apt-get here, install them with your package manager")
    step(title, *as_root("apt-get", "update", "-qq"))
    step(title, *as_root("apt-get", "install", "-y", "-qq", *packages))


def ensure_system_tools() -> None:
    """shellcheck lets actionlint check `run:` scripts; Debian and Ubuntu ship it."""
    if not shutil.which("shellcheck"):
        apt_install("shellcheck")


def locked_requirement(name: str) -> str:
    """A pip requirement for a tool's version in uv.lock with the hash of every file
    uv.lock lists for it, for `pip install --require-hashes`: how uv is bootstrapped
    before anything else is installed, so that no job (some hold a publishing identity)
    runs a file that uv.lock does not name."""
    import tomllib  # after the version check above: 3.11 and later

    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    found = [p for p in lock["package"] if p["name"] == name]
    if len(found) != 1:
        sys.exit(f"uv.lock pins {len(found)} versions of {name}; one is needed here")
    files = [*found[0].get("wheels", []), *([found[0]["sdist"]] if "sdist" in found[0] else [])]
    hashes = " ".join(f"--hash={f['hash']}" for f in files)
    return f"{name}=={found[0]['version']} {hashes}"


def setup() -> None:
    for tool in ("rustup", "cargo"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: install Rust with rustup (https://rustup.rs)")
    ensure_system_tools()
    # rust-toolchain.toml pins the toolchain and its components; rustup installs them
    # on first use, so ask for them once here where a failure is easy to read.
    step("rust toolchain", "rustup", "toolchain", "install")
    if not PYTHON.exists():
        step("create venv", sys.executable, "-m", "venv", VENV)
    if not (BIN / "uv").exists():
        requirement = VENV / "uv-requirement.txt"
        requirement.write_text(locked_requirement("uv") + "\n", encoding="utf-8")
        step(
            "install uv",
            PYTHON,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "-r",
            requirement,
        )
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
    """Build the release wheel and install it (not editable: tests see the artifact).
    On Linux x86_64 it is the release build of this machine's manifest row, exactly as
    its CI build job and the rehearsal make it (scripts/build.py), which then find it
    compiled; elsewhere maturin's release build."""
    shutil.rmtree(TEST_WHEELS, ignore_errors=True)
    if HOST_ROW_BUILT:
        host = subprocess.run(
            [
                PYTHON,
                "-c",
                "import pipeline; print(pipeline.host_target(pipeline.load_targets()).id)",
            ],
            cwd=ROOT / "scripts",
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        step("build wheels", PYTHON, "scripts/build.py", "--target", host, "--out", TEST_WHEELS)
    else:
        step("build wheel", BIN / "maturin", "build", "--release", "--out", TEST_WHEELS)
    (wheel,) = TEST_WHEELS.glob("*-abi3-*.whl")
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
    if HOST_ROW_BUILT:  # the pipeline tests read the host row's wheels from there
        env["GWP_HOST_WHEELS"] = str(TEST_WHEELS)
    step("rustfmt", "cargo", "fmt", "--check")
    # Two lanes at once, one a core. The first builds and installs the release wheel,
    # then runs the pipeline tests marked `rehearsal` (the rehearsal's builds and what
    # reads their artifacts stay in one pytest session: conftest.py), the longest part;
    # the other runs the rest, its checks of the installed wheel once it is installed.
    install = Stage("build and install the wheel", [PYTHON, "scripts/dev.py", "install"])
    pytest = (PYTHON, "-m", "pytest")
    pipeline = (*pytest, "scripts/tests", "-p", "no:cacheprovider", "--durations=8", "-m")
    lanes = Lanes(
        [
            [install, Stage("pytest (pipeline: the rehearsal)", [*pipeline, "rehearsal"])],
            [
                Stage(
                    "clippy",
                    ["cargo", "clippy", "--all-targets", "--locked", "--", "-D", "warnings"],
                ),
                # One build for both crates' tests and each engine benchmark run once
                # (divan's test mode); then the doc tests, which --all-targets leaves out.
                Stage(
                    "cargo test (and benchmarks once)",
                    ["cargo", "test", "--locked", "--all-targets"],
                ),
                Stage("cargo test (doc)", ["cargo", "test", "--locked", "--doc"]),
                Stage("ruff", [BIN / "ruff", "check", "."]),
                Stage("ruff format", [BIN / "ruff", "format", "--check", "."]),
                Stage("validate-pyproject", [BIN / "validate-pyproject", "pyproject.toml"]),
                Stage(
                    "mypy (scripts)", [BIN / "mypy", "scripts"], {"MYPYPATH": str(ROOT / "scripts")}
                ),
                Stage("mypy (package, tests)", [BIN / "mypy"], after=install),
                Stage(
                    "stubtest",
                    [
                        PYTHON,
                        "-m",
                        "mypy.stubtest",
                        "game_with_pyo3",
                        "--allowlist",
                        ROOT / ".mypy-stubtest-allowlist",
                    ],
                ),
                # Once, in threads: the rehearsal runs the suite plainly on this
                # interpreter against the same wheel (in a fresh venv, without NumPy,
                # whose one test runs here).
                Stage(
                    "pytest (package, 4 threads per test)",
                    [*pytest, "tests", "-q", "--parallel-threads=4"],
                ),
                Stage("pytest (pipeline: the rest)", [*pipeline, "not rehearsal"], after=install),
            ],
        ],
        env=env,
    )
    # SIGTERM (a cancelled CI job) unwinds like Ctrl-C: the lanes' stages are stopped.
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(f"stopped by signal {signum}"))
    failed = lanes.run()
    if failed:
        sys.exit(f"FAILED at stage {', '.join(failed)}")


class Stage(NamedTuple):
    title: str
    cmd: list[str | Path]
    env: dict[str, str] | None = None  # added to the lanes' environment
    after: Stage | None = None  # a stage of another lane that must pass first


class Lanes:
    """Lanes side by side, the stages of each in order; each stage's output kept and
    printed whole when it ends. The first failure stops everything (the other lane's
    running stage with all it started), and so do Ctrl-C and SIGTERM."""

    def __init__(
        self,
        lanes: list[list[Stage]],
        env: dict[str, str],
        logs: Path = ROOT / "target" / "stage-logs",
    ) -> None:
        self.lanes, self.env, self.logs = lanes, env, logs
        self.lock = threading.Lock()
        self.ended = {stage.title: threading.Event() for lane in lanes for stage in lane}
        self.passed: set[str] = set()
        self.running: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()

    def stop_all(self) -> None:
        with self.lock:
            self.stopping.set()
            for process in self.running.values():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if os.name == "posix":
                        os.killpg(process.pid, signal.SIGTERM)
                    else:
                        process.terminate()

    def run_stage(self, number: int, index: int, stage: Stage) -> int:
        command = [str(c) for c in stage.cmd]
        start = time.monotonic()
        with (self.logs / f"{number}-{index}.log").open("w+b") as log:
            with self.lock:  # not started at all once everything is stopping
                if self.stopping.is_set():
                    return -1
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env={**self.env, **(stage.env or {})},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=os.name == "posix",
                )
                self.running[number] = process
            code = process.wait()
            log.seek(0)
            output = log.read().decode("utf-8", errors="replace")
        with self.lock:
            print(f"\n==> {stage.title}: {' '.join(command)}\n{output}", flush=True)
            print(f"    {stage.title}: exit {code} in {time.monotonic() - start:.1f}s", flush=True)
        return code

    def run_lane(self, number: int) -> str | None:
        lane = self.lanes[number]
        try:
            for index, stage in enumerate(lane):
                if stage.after is not None:
                    self.ended[stage.after.title].wait()
                    if stage.after.title not in self.passed:
                        return None  # the other lane's failure is the one to report
                try:
                    code = self.run_stage(number, index, stage)
                except BaseException:  # a tool missing, say: the other lane stops too
                    self.stop_all()
                    raise
                if code == 0:
                    self.passed.add(stage.title)
                self.ended[stage.title].set()
                if self.stopping.is_set():
                    return None
                if code != 0:
                    self.stop_all()
                    return f"'{stage.title}' (exit {code})"
            return None
        finally:  # a lane that stops early releases what waits on its later stages
            for stage in lane:
                self.ended[stage.title].set()

    def run(self) -> list[str]:
        """What failed (empty if nothing did)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=len(self.lanes)) as pool:
            futures = [pool.submit(self.run_lane, number) for number in range(len(self.lanes))]
            try:
                return [f for f in (future.result() for future in futures) if f]
            except BaseException:
                self.stop_all()
                raise


def rehearse(argv: list[str]) -> None:
    setup()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    step("rehearse", PYTHON, ROOT / "scripts" / "rehearse.py", *argv, env=env)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="the .venv with every tool, from uv.lock")
    commands.add_parser(
        "install", help="build the release wheel and install it into .venv (not editable)"
    )
    commands.add_parser("test", help="every check and test (what CI runs)")
    rehearse_cmd = commands.add_parser("rehearse", help="the release rehearsal")
    rehearse_cmd.add_argument("args", nargs=argparse.REMAINDER, help="scripts/rehearse.py's")
    requirement = commands.add_parser(
        "locked-requirement",
        help="a tool's version in uv.lock with its files' hashes (pip --require-hashes)",
    )
    requirement.add_argument("name")
    requirement.add_argument("--out", type=Path, help="requirements file (default: print it)")
    return parser


def main(argv: list[str]) -> None:
    if argv[:1] == ["rehearse"]:  # everything after it is rehearse.py's, --help included
        rehearse(argv[1:])
        return
    args = parser().parse_args(argv)
    if args.command == "locked-requirement":
        if args.out is None:
            print(locked_requirement(args.name))
        else:
            args.out.write_text(locked_requirement(args.name) + "\n", encoding="utf-8")
    elif args.command == "setup":
        setup()
    elif args.command == "install":
        setup()
        install_wheel()
    elif args.command == "test":
        test()
    else:
        rehearse(args.args)


if __name__ == "__main__":
    main(sys.argv[1:])
