#!/usr/bin/env python3
"""Reproducible builds: one commit gives the same bytes wherever and whenever it is built.

    repro.py compare DIR1 DIR2

`compare` pairs the wheels and sdists of two directories by file name and says, one line
per problem, which files are missing or extra and, for every pair whose SHA-256 differs,
which archive members differ and how (content, zip or tar metadata, member order). With
`diffoscope` on PATH (Debian: `apt-get install diffoscope-minimal`) its summary of the
first differing member follows. Exit 1 when anything differs.

What makes two builds of one commit equal (each found by building the same commit in two
directories with two cargo homes; scripts/tests/test_repro.py does it again):
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
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
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
# What a problem line says about a zip member whose bytes are equal but whose entry
# differs; every field is one an installer or an unzip can see.
_ZIP_FIELDS: tuple[tuple[str, Callable[[zipfile.ZipInfo], object]], ...] = (
    ("date_time", lambda i: i.date_time),
    ("external_attr", lambda i: oct(i.external_attr >> 16)),
    ("compress_type", lambda i: i.compress_type),
    ("compress_size", lambda i: i.compress_size),
    ("create_system", lambda i: i.create_system),
    ("create_version", lambda i: i.create_version),
    ("extract_version", lambda i: i.extract_version),
    ("flag_bits", lambda i: i.flag_bits),
    ("internal_attr", lambda i: i.internal_attr),
    ("extra", lambda i: i.extra.hex()),
    ("comment", lambda i: i.comment),
)
_TAR_FIELDS: tuple[tuple[str, Callable[[tarfile.TarInfo], object]], ...] = (
    ("type", lambda m: m.type),
    ("mode", lambda m: oct(m.mode)),
    ("mtime", lambda m: m.mtime),
    ("uid", lambda m: m.uid),
    ("gid", lambda m: m.gid),
    ("uname", lambda m: m.uname),
    ("gname", lambda m: m.gname),
    ("linkname", lambda m: m.linkname),
    ("pax_headers", lambda m: sorted(m.pax_headers.items())),
)


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
    ignore) copied to `dest`: the same sources in another place."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = root / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _order_problem(name: str, first: list[str], second: list[str]) -> list[str]:
    if first == second or set(first) != set(second):
        return []
    index = next(i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b)
    return [
        f"{name}: member order differs from position {index} "
        f"({first[index]} in the first, {second[index]} in the second)"
    ]


def _members_only_in_one(name: str, first: Iterable[str], second: Iterable[str]) -> list[str]:
    ones, twos = set(first), set(second)
    return [f"{name}: member {m} only in the first" for m in sorted(ones - twos)] + [
        f"{name}: member {m} only in the second" for m in sorted(twos - ones)
    ]


def _compare_wheels(name: str, first: Path, second: Path) -> tuple[list[str], str | None]:
    problems: list[str] = []
    first_differing: str | None = None
    with zipfile.ZipFile(first) as one, zipfile.ZipFile(second) as two:
        infos_one, infos_two = one.infolist(), two.infolist()
        names_one = [i.filename for i in infos_one]
        names_two = [i.filename for i in infos_two]
        problems += _members_only_in_one(name, names_one, names_two)
        by_name = {i.filename: i for i in infos_two}
        for info in infos_one:
            other = by_name.get(info.filename)
            if other is None:
                continue
            data_one, data_two = one.read(info), two.read(other)
            if data_one != data_two:
                problems.append(
                    f"{name}: {info.filename} content differs (sha256 {_digest(data_one)}… "
                    f"{len(data_one)} bytes vs {_digest(data_two)}… {len(data_two)} bytes)"
                )
                first_differing = first_differing or info.filename
                continue
            for field, read in _ZIP_FIELDS:
                if read(info) != read(other):
                    problems.append(
                        f"{name}: {info.filename} {field} differs "
                        f"({read(info)} vs {read(other)}), content equal"
                    )
        problems += _order_problem(name, names_one, names_two)
        if one.comment != two.comment:
            problems.append(f"{name}: archive comment differs")
    return problems, first_differing


def _gzip_header(raw: bytes) -> str:
    if raw[:2] != b"\x1f\x8b":
        return "not gzip"
    mtime = int.from_bytes(raw[4:8], "little")
    return f"flags {raw[3]:#x}, mtime {mtime}, xfl {raw[8]}, os {raw[9]}"


def _compare_sdists(name: str, first: Path, second: Path) -> tuple[list[str], str | None]:
    problems: list[str] = []
    first_differing: str | None = None
    with tarfile.open(first, "r:gz") as one, tarfile.open(second, "r:gz") as two:
        members_one, members_two = one.getmembers(), two.getmembers()
        names_one = [m.name for m in members_one]
        names_two = [m.name for m in members_two]
        problems += _members_only_in_one(name, names_one, names_two)
        by_name = {m.name: m for m in members_two}
        for a in members_one:
            b = by_name.get(a.name)
            if b is None:
                continue
            file_one, file_two = one.extractfile(a), two.extractfile(b)
            data_one = file_one.read() if file_one else b""
            data_two = file_two.read() if file_two else b""
            if data_one != data_two:
                problems.append(
                    f"{name}: {a.name} content differs (sha256 {_digest(data_one)}… "
                    f"{len(data_one)} bytes vs {_digest(data_two)}… {len(data_two)} bytes)"
                )
                first_differing = first_differing or a.name
                continue
            for field, read in _TAR_FIELDS:
                if read(a) != read(b):
                    problems.append(
                        f"{name}: {a.name} {field} differs ({read(a)} vs {read(b)}), content equal"
                    )
        problems += _order_problem(name, names_one, names_two)
    if not problems:
        raw_one, raw_two = first.read_bytes(), second.read_bytes()
        header_one, header_two = _gzip_header(raw_one), _gzip_header(raw_two)
        if header_one != header_two:
            problems.append(f"{name}: gzip header differs ({header_one} vs {header_two})")
        elif gzip.decompress(raw_one) != gzip.decompress(raw_two):
            problems.append(f"{name}: tar stream differs outside member data and headers")
        else:
            problems.append(f"{name}: same tar, compressed differently (zlib level or version)")
    return problems, first_differing


def _read_member(archive: Path, member: str) -> bytes:
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    with tarfile.open(archive, "r:gz") as sdist:
        handle = sdist.extractfile(member)
        return handle.read() if handle else b""


def _diffoscope(name: str, member: str, first: Path, second: Path) -> str | None:
    tool = shutil.which("diffoscope")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="gwp-diffoscope-") as tmp:
        paths = []
        for side, archive in (("first", first), ("second", second)):
            path = Path(tmp) / side / Path(member).name
            path.parent.mkdir()
            path.write_bytes(_read_member(archive, member))
            paths.append(str(path))
        try:
            result = subprocess.run(
                [tool, "--no-progress", "--text", "-", "--max-text-report-size", "20000", *paths],
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            return f"{name}: diffoscope on {member} took over 300 s"
    summary = "\n".join(result.stdout.splitlines()[:40])
    return f"{name}: diffoscope on {member}:\n{summary}"


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
        if sha256(a) == sha256(b):
            continue
        problems.append(f"{name}: sha256 {sha256(a)} vs {sha256(b)}")
        try:
            if name.endswith(".whl"):
                found, member = _compare_wheels(name, a, b)
            else:
                found, member = _compare_sdists(name, a, b)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, OSError, EOFError) as err:
            problems.append(f"{name}: cannot read as an archive ({err})")
            continue
        if not found:
            found = [f"{name}: every member and entry is equal; the archives differ elsewhere"]
        problems += found
        if diffoscope and member is not None:
            summary = _diffoscope(name, member, a, b)
            if summary:
                problems.append(summary)
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
        "--no-diffoscope", action="store_true", help="do not run diffoscope even if present"
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
