#!/usr/bin/env python3
"""Build stage: the sdist, the wheels of the manifest, and a wheel from the sdist.

    build.py [--out DIR] [--clean] [--all-platforms | --target ID ... | --sdist-only]
             [--no-sdist-check]

Host mode builds the linux-x86_64 row (cp310-abi3, cp314t, cp315t) with a portable
manylinux2014 tag through `maturin --zig`, and the sdist; `--all-platforms` builds
every row of scripts/manifest.toml this host can build. `--target ID` (what one CI
build job runs, and the rehearsal runs the same way) builds that row's wheels only;
`--sdist-only` (the sdist job) builds the sdist. Free-threaded wheels are built with a
bare version (`-i 3.14t`) on every host, with no interpreter installed: maturin
describes the target's interpreter from its own data, so a build can never pick up the
build machine's interpreter and name the module after the wrong platform (see
WHEEL_KINDS in pipeline.py for what happens otherwise).
Windows rows cannot be built here (the MSVC runtime is unreachable) and are reported,
never faked. Every build is the release profile with `--locked`. The sdist comes with a
wheel maturin builds from it unpacked alone (`maturin build --sdist`), which proves it
complete (`--no-sdist-check`: plain `maturin sdist`, for the rebuild that compares
artifacts only).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repro
import sbom
from pipeline import (
    CACHE,
    ROOT,
    WHEEL_KINDS,
    PipelineError,
    Target,
    artifact_version,
    host_target,
    is_artifact,
    load_targets,
    on_sigterm_interrupt,
    require_tools,
    run_at_once,
    sdist_name,
    tool_env,
    wheel_name,
)
from versioning import project_version


@dataclass
class BuildReport:
    out: Path
    version: str
    built: list[str] = field(default_factory=list)
    not_buildable: list[str] = field(default_factory=list)
    sdist_wheel: str | None = None
    seconds: float = 0.0


# The builds running now (several at once: build_target), each in a process group of
# its own so that an interruption stops maturin, cargo and rustc alike (stop_builds).
_RUNNING: set[subprocess.Popen[str]] = set()


def _run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    print("    $", " ".join(cmd), flush=True)
    process = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=own_zig_wrappers(env or tool_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # maturin prints emoji; Windows' default code page cannot decode them.
        encoding="utf-8",
        errors="replace",
        start_new_session=os.name == "posix",
    )
    _RUNNING.add(process)
    try:
        output, _ = process.communicate()
    except BaseException:
        stop_builds()
        raise
    finally:
        _RUNNING.discard(process)
    if process.returncode != 0:
        sys.stdout.write(output[-4000:])
        raise PipelineError(f"command failed (exit {process.returncode}): {' '.join(cmd)}")


def own_zig_wrappers(env: dict[str, str]) -> dict[str, str]:
    """`env` with cargo-zigbuild's linker wrappers in the build's target directory.
    It writes them anew for each build, into one directory per user unless told
    (rust-cross/cargo-zigbuild#318), so a build running beside another could run a
    wrapper half written. (zig's own cache stays shared: zig locks it, and filling one
    takes minutes.)"""
    target_dir = Path(env.get("CARGO_TARGET_DIR") or ROOT / "target")
    return {**env, "CARGO_ZIGBUILD_CACHE_DIR": str(target_dir / "cargo-zigbuild")}


def stop_builds() -> None:
    """Stop every running build with what it started (interrupted: Ctrl-C, SIGTERM)."""
    running = list(_RUNNING)
    for process in running:
        if os.name == "posix":
            # EPERM: macOS's answer for a group whose processes ended but are not reaped
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
    for process in running:
        process.wait()


def check_out_dir(out: Path, version: str, clean: bool) -> None:
    if clean and out.exists():
        old = [p.name for p in out.iterdir() if is_artifact(p.name)]
        if old:
            print(f"    removing {len(old)} artifacts of an earlier run from {out}")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    stale = []
    for path in sorted(out.iterdir()):
        try:
            same = artifact_version(path.name) == version
        except PipelineError:
            same = True  # not an artifact (SHA256SUMS, reports): rewritten later
        if not same:
            stale.append(path.name)
    if stale:
        raise PipelineError(
            f"{out} holds artifacts of another version ({', '.join(stale)}); "
            "remove them or pass --clean"
        )


def ensure_rust_target(rust_target: str) -> None:
    """The toolchain rust-toolchain.toml pins, with the target's standard library. rustup
    no longer installs that toolchain on demand for `rustup target`, so it is installed
    first: in the repository, where `rustup toolchain install` reads the file (a no-op
    once it is there); `rustup target add` is one too for a target already added.
    One process at a time: rustup does not lock its toolchain directory, and builds run
    at once (the rehearsal's rebuild jobs, dev.py test's two lanes)."""
    with _rustup_lock():
        _run(["rustup", "toolchain", "install"])
        _run(["rustup", "target", "add", rust_target])


@contextlib.contextmanager
def _rustup_lock() -> Iterator[None]:
    if os.name != "posix":  # a Windows build job runs one build at a time
        yield
        return
    import fcntl

    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        lock = (CACHE / "rustup.lock").open("w")
    except OSError:  # no writable cache (a container's HOME): unlocked, as before
        yield
        return
    with lock:
        with contextlib.suppress(OSError):  # a filesystem without locks: unlocked too
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def compatibility_args(target: Target) -> list[str]:
    if target.platform.startswith(("manylinux", "musllinux")):
        policy = re.match(r"(manylinux2014|manylinux_\d+_\d+|musllinux_\d+_\d+)_", target.platform)
        if policy is None:
            raise PipelineError(f"{target.id}: cannot read a policy from {target.platform}")
        return ["--zig", "--compatibility", policy.group(1)]
    if target.os in ("darwin", "freebsd"):
        return ["--zig"]
    return []


# Platforms whose interpreter no build machine runs: cibuildwheel builds the wheel (with
# maturin, as the PEP 517 backend) on the runner OS it needs, and tests it there — in a
# Pyodide venv under Node, on an iOS simulator, on an Android emulator — unless the
# manifest says the row is not run (ci_test "none"). Each maps to that OS (sys.platform).
CIBUILDWHEEL = {"emscripten": "linux", "ios": "darwin", "android": "linux"}


def build_mode(target: Target) -> str:
    """'cross' from an x86_64 Linux host (zig links Linux, FreeBSD and macOS targets),
    'native' on the target's own OS (macOS and Windows runners), 'cibuildwheel' for
    Pyodide, iOS and Android on the OS that builds them, or '' when this host cannot
    build the target. (The manifest's `local` says which rows this project's own
    machines can build; a CI runner also builds the others.)"""
    if target.os in CIBUILDWHEEL:
        return "cibuildwheel" if sys.platform == CIBUILDWHEEL[target.os] else ""
    linux_host = platform.machine().lower() in ("x86_64", "amd64") and sys.platform == "linux"
    if linux_host and target.os in ("linux", "freebsd", "darwin"):
        return "cross"
    if target.os in ("darwin", "win32") and sys.platform == target.os:
        return "native"
    return ""


def maturin_args(target: Target, abi: str, mode: str) -> list[str]:
    """The arguments of `maturin build` for one wheel of a row: the same on every host
    (mode "cross" adds zig and the compatibility policy)."""
    args = ["--release", "--locked", "--target", target.rust, *WHEEL_KINDS[abi].maturin]
    return args + (compatibility_args(target) if mode == "cross" else [])


def build_target(target: Target, out: Path, report: BuildReport) -> None:
    mode = build_mode(target)
    if not mode:
        report.not_buildable.append(f"{target.id}: needs {target.ci_build}; built in CI only")
        return
    ensure_rust_target(target.rust)
    env = release_env(target.rust)
    if target.os == "freebsd":
        # maturin reads the FreeBSD release from `uname -r` unless told; the tag must
        # say the release the wheel is for.
        env["MATURIN_FREEBSD_VERSION"] = target.freebsd_release

    def build_kind(abi: str, expected: str) -> str:
        # A target directory per wheel kind: PyO3 is configured per kind, and kinds that
        # shared one rebuilt PyO3 and the crate on every build (the remapped flags place
        # all of them at /target alike, so the wheels do not change). It also lets the
        # kinds build at once: a cold build is one chain of crates, mostly on one core.
        place = Path(env["CARGO_TARGET_DIR"]) / abi
        wheels = place / "wheels"
        shutil.rmtree(wheels, ignore_errors=True)
        call_env = {**env, "CARGO_TARGET_DIR": str(place)}
        cmd = ["maturin", "build", "--out", str(wheels), *maturin_args(target, abi, mode)]
        if mode == "cibuildwheel":
            cmd, call_env = cibuildwheel_call(target, abi, wheels, call_env)
        start = time.monotonic()
        _run(cmd, env=call_env)
        made = sorted(p.name for p in wheels.iterdir()) if wheels.is_dir() else []
        print(f"    built {', '.join(made) or '(nothing)'} in {time.monotonic() - start:.0f}s")
        if made != [expected]:
            raise PipelineError(f"{target.id} {abi}: expected {expected}, maturin made {made}")
        sbom.normalize_wheel(wheels / expected, source_root=ROOT, cargo_home=cargo_home())
        shutil.move(wheels / expected, out / expected)
        return expected

    kinds = list(zip(target.abis, target.wheel_names(report.version), strict=True))
    # cibuildwheel sets up the platform (simulator, emulator, Pyodide's toolchain) per
    # call: one at a time there.
    at_once = 1 if mode == "cibuildwheel" else min(len(kinds), os.cpu_count() or 1)
    jobs = [partial(build_kind, abi, expected) for abi, expected in kinds]
    report.built.extend(run_at_once(jobs, at_once, stop_builds))


def cibuildwheel_call(
    target: Target, abi: str, out: Path, env: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """cibuildwheel for the row's one build identifier; the wheel kind's maturin
    features go through maturin's PEP 517 arguments (its `-i` is the identifier's)."""
    args = list(WHEEL_KINDS[abi].maturin)
    if "-i" in args:
        del args[args.index("-i") : args.index("-i") + 2]
    # The platform's toolchain (pyodide-build, cibuildwheel's iOS and Android setup)
    # sets the compiler flags: ours would hide theirs (cargo reads one source), so the
    # build keeps only the commit time and the target directory of the release env.
    keep = ("SOURCE_DATE_EPOCH", "CARGO_TARGET_DIR")
    # A version-specific wheel is built by its own CPython; an abi3 one by the row's.
    python, platform_part = target.ci_cibuildwheel.split("-", 1)
    tag_python, tag_abi = WHEEL_KINDS[abi].tag.split("-")
    identifier = f"{tag_python if tag_abi == tag_python else python}-{platform_part}"
    env = {
        **tool_env(),
        **{k: env[k] for k in keep if k in env},
        "MATURIN_PEP517_ARGS": " ".join(["--locked", *args]),
    }
    if target.ci_test == "none":
        env["CIBW_TEST_SKIP"] = identifier
    # The oldest system the manifest's tag names is the one the wheel is built for.
    if found := re.match(r"ios_(\d+)_(\d+)_", target.platform):
        env["IPHONEOS_DEPLOYMENT_TARGET"] = f"{found[1]}.{found[2]}"
    if found := re.match(r"android_(\d+)_", target.platform):
        env["ANDROID_API_LEVEL"] = found[1]
    # --only: that one build, on the platform and architecture its identifier names
    # (not only the runner's own architectures).
    return ["cibuildwheel", "--only", identifier, "--output-dir", str(out)], env


def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def release_env(rust_target: str | None) -> dict[str, str]:
    """The environment of every release build: reproducible wherever it runs (scripts/
    repro.py: SOURCE_DATE_EPOCH, build paths remapped) and in a target directory of its
    own, so its flags never invalidate the development build's cache in target/."""
    env = tool_env()
    env.setdefault("CARGO_TARGET_DIR", str(ROOT / "target" / "release-build"))
    return repro.reproducible_env(
        env,
        root=ROOT,
        cargo_home=cargo_home(),
        epoch=repro.release_epoch(ROOT),
        rust_target=rust_target,
    )


# Where the sdist check builds: the wheel maturin makes from the unpacked sdist, and a
# target directory of its own. cargo reuses it although maturin unpacks into a new
# temporary directory each time: the files keep the sdist's dates, and cargo names a
# package's files relative to it.
SDIST_CHECK = ROOT / "target" / "sdist-check"


def build_sdist(out: Path, report: BuildReport, check: bool) -> None:
    """The sdist into `out`; with `check`, also the host row's abi3 wheel built from the
    sdist alone (`maturin build --sdist` unpacks it elsewhere and builds that): a file
    missing from the sdist fails here, not for users."""
    name = sdist_name(report.version)
    if not check:
        _run(["maturin", "sdist", "--out", str(out)], env=release_env(None))
    else:
        host = host_target(load_targets())
        scratch = SDIST_CHECK / "wheels"
        shutil.rmtree(scratch, ignore_errors=True)
        env = {**release_env(host.rust), "CARGO_TARGET_DIR": str(SDIST_CHECK / "target")}
        # The arguments of the host row's abi3 wheel, zig included, on any host.
        args = maturin_args(host, "abi3", "cross")
        _run(["maturin", "build", "--sdist", "--out", str(scratch), *args], env=env)
        (wheel,) = scratch.glob("*.whl")
        report.sdist_wheel = wheel.name
        if (scratch / name).exists():
            shutil.move(scratch / name, out / name)
        # The same files as the host row's abi3 wheel, where this run built that too.
        reference = out / wheel_name(report.version, host.wheel_tag("abi3"))
        if reference.exists():
            ours, theirs = (sorted(zipfile.ZipFile(w).namelist()) for w in (wheel, reference))
            if ours != theirs:
                raise PipelineError(
                    f"the wheel built from {name} differs in content from "
                    f"{reference.name}: {sorted(set(ours) ^ set(theirs))}"
                )
        print(f"    sdist builds: {wheel.name}")
    if not (out / name).exists():
        raise PipelineError(f"maturin did not produce {name}")
    report.built.append(name)


def run(
    out: Path,
    targets: list[Target],
    *,
    clean: bool = False,
    sdist: bool = True,
    sdist_check: bool = True,
) -> BuildReport:
    """Build the wheels of `targets` into `out`; with `sdist`, also the sdist and (with
    `sdist_check`) a wheel from it, compared with the host's abi3 wheel when that is in
    `out`."""
    require_tools("maturin", "cargo", "rustup")
    version = project_version()
    start = time.monotonic()
    report = BuildReport(out=out, version=version)
    check_out_dir(out, version, clean)
    what = [t.id for t in targets] + (["sdist"] if sdist else [])
    print(f"==> build {version} into {out}: {', '.join(what)}", flush=True)
    for target in targets:
        print(f"--> {target.id}", flush=True)
        build_target(target, out, report)
    if sdist:
        build_sdist(out, report, sdist_check)
    report.seconds = time.monotonic() - start
    return report


def select_targets(all_platforms: bool, ids: list[str]) -> list[Target]:
    targets = load_targets()
    if ids:
        known = {t.id: t for t in targets}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise PipelineError(f"unknown target(s) {unknown}; known: {sorted(known)}")
        return [known[i] for i in ids]
    if all_platforms:
        return targets
    return [host_target(targets)]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--all-platforms", action="store_true")
    choice.add_argument("--target", action="append", default=[], dest="targets")
    choice.add_argument(
        "--sdist-only",
        action="store_true",
        help="the sdist and a wheel built from it, no manifest wheels",
    )
    parser.add_argument("--clean", action="store_true", help="empty --out first")
    parser.add_argument(
        "--no-sdist-check",
        dest="sdist_check",
        action="store_false",
        help="no wheel built from the sdist (the rebuild that compares artifacts, CI's "
        "and the rehearsal's: that wheel is a check the first build made, not an artifact)",
    )
    return parser


def execute(args: argparse.Namespace) -> BuildReport:
    """What the command line asks for; the rehearsal calls this with CI's arguments."""
    targets = [] if args.sdist_only else select_targets(args.all_platforms, args.targets)
    # A --target build (one CI build job) makes wheels only: the sdist has its own job.
    sdist = args.sdist_only or not args.targets
    return run(args.out, targets, clean=args.clean, sdist=sdist, sdist_check=args.sdist_check)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    on_sigterm_interrupt()  # a stopped rehearsal or CI job stops the builds too
    try:
        report = execute(args)
    except PipelineError as err:
        print(f"build: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("build: interrupted; the builds were stopped", file=sys.stderr)
        return 130
    for line in report.not_buildable:
        print(f"    not built here: {line}")
    if args.targets and report.not_buildable:
        return 1
    print(f"==> build: {len(report.built)} artifacts in {report.seconds:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
