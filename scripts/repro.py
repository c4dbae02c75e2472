#!/usr/bin/env python3
"""Reproducible builds: one commit gives the same bytes wherever and whenever it is built.

    repro.py compare DIR1 DIR2

`compare` pairs the wheels and sdists of two directories by file name and says, one line
per problem, which files are missing or extra and which pairs' SHA-256 differ; for each
such pair, diffoscope (Debian: `apt-get install diffoscope-minimal`) says how: it opens
both archives and reports every member, entry field and byte that differs. Exit 1 when
anything differs.

What makes two builds of one commit equal (each found by building the same commit in two
directories with two cargo homes; the rehearsal's reproduce stage does it again):
  * SOURCE_DATE_EPOCH = the commit's committer time (`source_date_epoch`): maturin's zip
    and tar entry times, and cargo-cyclonedx's SBOM timestamp and (missing) serialNumber.
  * --remap-path-prefix for the source root, CARGO_HOME, rustup's home and the target
    directory (`reproducible_env`): panic locations of registry crates otherwise carry
    `$CARGO_HOME/registry/src/...` into the native module.
  * for Mach-O targets, `-C link-arg=-Wl,-S` (`reproducible_env(rust_target=...)`): the
    linker's LC_UUID otherwise hashes rustc's random temporary object paths.
  * sbom.normalize_wheel: maturin's SBOM names the checkout (`path+file:///abs/path#...`).
maturin's sdist needs nothing more: its members are sorted, owned by 0:0 with empty
names, mode 0644/0755 and dated SOURCE_DATE_EPOCH (a fixed 2006 date without it), in a
gzip stream with mtime 0, whatever the checkout's modes, times and umask.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import PipelineError, is_artifact, sha256, tool_env

# The spellings every machine's absolute build paths become, in the native module
# (--remap-path-prefix) and in the SBOM (sbom.normalize_wheel). Fixed top-level names
# that exist on no build machine, so a reader sees at once what each stood for.
SOURCE_PLACEHOLDER = "/source"
CARGO_HOME_PLACEHOLDER = "/cargo"
RUSTUP_HOME_PLACEHOLDER = "/rustup"
TARGET_DIR_PLACEHOLDER = "/target"

_ENCODED_SEPARATOR = "\x1f"


def fresh_cargo_home(path: Path, root: Path) -> Path:
    """A cargo home of its own for a second build, filled from this user's download
    cache (crates.io when something is missing): a rebuild must not share one."""
    cache = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo") / "registry"
    for part in ("index", "cache"):
        if (cache / part).is_dir():
            shutil.copytree(cache / part, path / "registry" / part, dirs_exist_ok=True)
    env = {**tool_env(), "CARGO_HOME": str(path)}
    fetch = ["cargo", "fetch", "--locked"]
    offline = subprocess.run(
        [*fetch, "--offline"], cwd=root, env=env, capture_output=True, check=False
    )
    if offline.returncode != 0:
        subprocess.run(fetch, cwd=root, env=env, check=True, capture_output=True)
    return path


def copy_checkout(root: Path, dest: Path) -> Path:
    """The working tree as git sees it (tracked files and untracked ones it does not
    ignore) made the contents of `dest`: the same sources in another place."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    mirror({name: root / name for name in filter(None, listed.split("\0"))}, dest)
    return dest


def mirror(files: dict[str, Path], dest: Path) -> None:
    """Make `dest` hold exactly `files` (relative name -> source), but for its target/.
    A file already there with the same bytes keeps its time, so cargo keeps what it
    compiled from it; a changed one is written anew, with a new time: a time kept from
    the source could be older than a build of the old bytes, and cargo would take that
    build as fresh. Files no longer in the set go (target/, build output, stays)."""
    wanted = {name for name, source in files.items() if source.is_file()}
    walked = []
    for top, dirs, names in os.walk(dest):
        here = Path(top)
        if here == dest and "target" in dirs:
            dirs.remove("target")
        walked.append(here)
        for name in names:
            if (here / name).relative_to(dest).as_posix() not in wanted:
                (here / name).unlink()
    for here in reversed(walked[1:]):  # deepest first; emptied directories go too
        if not any(here.iterdir()):
            here.rmdir()
    for name in wanted:
        copy = dest / name
        if copy.is_file() and filecmp.cmp(files[name], copy, shallow=False):
            # The same bytes: the time stays; the mode follows (maturin packs the x bit).
            if (files[name].stat().st_mode ^ copy.stat().st_mode) & 0o777:
                shutil.copymode(files[name], copy)
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(files[name], copy)


def release_epoch(root: Path) -> int:
    """SOURCE_DATE_EPOCH when the caller set it (a rebuild elsewhere, an unpacked
    sdist), else the commit's time."""
    given = os.environ.get("SOURCE_DATE_EPOCH", "")
    if given.isdigit():
        return int(given)
    return source_date_epoch(root)


def source_date_epoch(root: Path) -> int:
    """The released commit's committer time: the date of every file in every artifact."""
    top = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        raise PipelineError(
            f"{root} is not the top of a git checkout, so it has no commit time for "
            "SOURCE_DATE_EPOCH; build releases from a clone of the tagged commit"
        )
    log = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%ct"],
        capture_output=True,
        text=True,
        check=False,
    )
    stamp = log.stdout.strip()
    if log.returncode != 0 or not stamp.isdigit():
        raise PipelineError(f"{root}: git log found no commit ({log.stderr.strip()})")
    return int(stamp)


def _caller_rustflags(env: dict[str, str]) -> list[str]:
    """The flags cargo would use from the environment, in cargo's order of precedence."""
    if env.get("CARGO_ENCODED_RUSTFLAGS"):
        return env["CARGO_ENCODED_RUSTFLAGS"].split(_ENCODED_SEPARATOR)
    return env.get("RUSTFLAGS", "").split()


def _config_rustflags(root: Path, cargo_home: Path, env: dict[str, str]) -> list[str]:
    """Where rustflags come from that an environment RUSTFLAGS would silently replace."""
    found = [
        name
        for name in env
        if name == "CARGO_BUILD_RUSTFLAGS"
        or (name.startswith("CARGO_TARGET_") and name.endswith("_RUSTFLAGS"))
    ]
    configs = [d / ".cargo" / n for d in (root, *root.parents) for n in ("config", "config.toml")]
    configs += [cargo_home / "config", cargo_home / "config.toml"]
    for config in configs:
        if not config.is_file():
            continue
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise PipelineError(f"{config}: not TOML ({err})") from err
        targets = data.get("target", {})
        if "rustflags" in data.get("build", {}) or any(
            isinstance(t, dict) and "rustflags" in t for t in targets.values()
        ):
            found.append(str(config))
    return found


def reproducible_env(
    env: dict[str, str],
    *,
    root: Path,
    cargo_home: Path,
    epoch: int,
    rust_target: str | None = None,
) -> dict[str, str]:
    """`env` plus what makes a maturin build of `root` independent of where it ran;
    `rust_target` (default: this machine) adds what one target family needs."""
    shadowed = _config_rustflags(root, cargo_home, env)
    if shadowed:
        raise PipelineError(
            "rustflags from " + ", ".join(shadowed) + " would be replaced by the path "
            "remapping (cargo takes RUSTFLAGS from one source only); move them to RUSTFLAGS"
        )
    rustup_home = Path(env.get("RUSTUP_HOME") or Path.home() / ".rustup")
    target_dir = root / env.get("CARGO_TARGET_DIR", "target")  # an absolute one wins
    prefixes: dict[str, str] = {}
    for path, placeholder in (
        (root, SOURCE_PLACEHOLDER),
        (cargo_home, CARGO_HOME_PLACEHOLDER),
        (rustup_home, RUSTUP_HOME_PLACEHOLDER),
        (target_dir, TARGET_DIR_PLACEHOLDER),
    ):
        # Both spellings: cargo passes paths as it was given them, a symlinked /tmp
        # (macOS's /private/tmp) resolves differently.
        for spelling in {str(path.absolute()), str(path.resolve())}:
            prefixes[spelling] = placeholder
    # rustc applies the LAST matching --remap-path-prefix, so the longer (more specific)
    # prefix goes later: a target dir inside the checkout becomes /target, not /source/target.
    remaps = [
        f"--remap-path-prefix={prefix}={prefixes[prefix]}"
        for prefix in sorted(prefixes, key=lambda p: (len(p), p))
    ]
    result = dict(env)
    # CARGO_ENCODED_RUSTFLAGS, not RUSTFLAGS or `maturin build --config build.rustflags=...`.
    # Measured with maturin 1.16 --zig: for x86_64 Linux all three give the same wheel, but
    # for aarch64-apple-darwin a `--config` remapping is lost (the module keeps every
    # `$CARGO_HOME/registry/src/...` path) while the environment's is kept. maturin reads
    # the caller's flags with cargo-config2 and, when it adds its own (macOS `-undefined
    # dynamic_lookup`, musl `-crt-static`, zig's windows-gnu .def file, PGO), hands cargo
    # the union as CARGO_ENCODED_RUSTFLAGS, which outranks any `--config` value it never
    # read. Of the two environment forms the encoded one (0x1f between flags) carries a
    # checkout under "/home/a b/", which RUSTFLAGS would split at the space; and as cargo
    # ignores RUSTFLAGS once CARGO_ENCODED_RUSTFLAGS is set, the caller's are folded in.
    # With --target (every release build) the flags skip build scripts and proc macros:
    # they run on the build machine and put no bytes of their own into the module.
    apple = "apple" in rust_target if rust_target else sys.platform == "darwin"
    # A Mach-O linker (zig's, Apple's ld64) hashes the LC_UUID over an image that still
    # has its debug map: N_OSO entries naming every object file, among them rustc's
    # random /tmp/rustcXXXXXX/symbols.o. Stripping comes after, the UUID stays, and two
    # builds differed in the UUID (and the code signature over it) alone, even in one
    # target directory. -S leaves the debug map out before the hash: two builds in two
    # target directories then gave the same wheel. strip = true drops it anyway.
    darwin = ["-C", "link-arg=-Wl,-S"] if apple else []
    result["CARGO_ENCODED_RUSTFLAGS"] = _ENCODED_SEPARATOR.join(
        [f for f in _caller_rustflags(env) if f] + darwin + remaps
    )
    result.pop("RUSTFLAGS", None)
    result["SOURCE_DATE_EPOCH"] = str(epoch)
    result["CARGO_HOME"] = str(cargo_home)
    return result


def _diffoscope(first: Path, second: Path) -> str:
    """diffoscope's report of how two archives differ, or how to get one."""
    tool = shutil.which("diffoscope")
    if tool is None:
        return f"{first.name}: install diffoscope to see how the two differ"
    try:
        result = subprocess.run(
            [
                tool,
                "--no-progress",
                "--text",
                "-",
                "--max-text-report-size",
                "20000",
                first,
                second,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return f"{first.name}: diffoscope took over 600 s"
    summary = "\n".join(result.stdout.splitlines()[:60])
    return f"{first.name}: diffoscope:\n{summary}"


def compare(first: Path, second: Path, *, diffoscope: bool = True) -> list[str]:
    """Problems (empty: identical) between two directories of wheels and sdists."""
    for directory in (first, second):
        if not directory.is_dir():
            raise PipelineError(f"{directory} is not a directory")
    ones = {p.name for p in first.iterdir() if is_artifact(p.name)}
    twos = {p.name for p in second.iterdir() if is_artifact(p.name)}
    problems = [f"{n}: only in {first}" for n in sorted(ones - twos)]
    problems += [f"{n}: only in {second}" for n in sorted(twos - ones)]
    for name in sorted(ones & twos):
        a, b = first / name, second / name
        if sha256(a) != sha256(b):
            problems.append(f"{name}: sha256 {sha256(a)} vs {sha256(b)}")
            if diffoscope:
                problems.append(_diffoscope(a, b))
    return problems


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    compare_command = commands.add_parser(
        "compare", help="say how two directories of artifacts differ (exit 1 if they do)"
    )
    compare_command.add_argument("first", type=Path)
    compare_command.add_argument("second", type=Path)
    compare_command.add_argument(
        "--no-diffoscope", action="store_true", help="only say which files differ"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        problems = compare(args.first, args.second, diffoscope=not args.no_diffoscope)
    except PipelineError as err:
        print(f"repro: {err}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"repro: {args.first} and {args.second} hold the same artifacts, byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
