"""The wheel's CycloneDX SBOM (PEP 770, `<name>.dist-info/sboms/`): stable and true.

maturin writes `game-with-pyo3.cyclonedx.json` with cargo-cyclonedx. It names the
checkout by its absolute path (`path+file:///home/me/src#game-with-pyo3@0.1.0`), so two
builds of one commit in two directories differ. `normalize_wheel` (called by build.py)
rewrites the build machine's paths to the fixed spellings of repro.py (the source root
becomes `/source`, so that reference reads `path+file:///source#game-with-pyo3@0.1.0`;
CARGO_HOME becomes `/cargo`), keeping everything else of the document and of the wheel.

`check_wheel` (called by gate.py) refuses a wheel whose SBOM is missing or doubled, does
not validate against the CycloneDX schema of its own specVersion (offline:
cyclonedx-python-lib ships the schemas), carries a random serialNumber, another timestamp
than SOURCE_DATE_EPOCH, or an absolute build path, or lists other crates than cargo
compiles for the wheel's target.
What the crates must be: the components scoped `required` are exactly
`cargo tree -e normal --target T` (the crates linked into the module, and the proc macros
that generated part of it, which cargo counts as normal dependencies); the components
scoped `excluded` are exactly the crates that only build scripts use
(`-e normal,build` minus `-e normal`, e.g. pyo3-build-config). Every crate must be in
Cargo.lock with the version the SBOM says, and its SHA-256 must be Cargo.lock's checksum.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import PipelineError, tool_env
from repro import CARGO_HOME_PLACEHOLDER, SOURCE_PLACEHOLDER

# Paths that only exist on a build machine: home directories, temporary and CI work
# directories (GitHub's /home/runner/work, /__w in containers, /github/workspace), macOS's
# /Users and /private/var/folders, and Windows drive letters. The lookbehind keeps URL
# paths (https://host/home/...) out: there a host name precedes the slash.
_BUILD_PATH = re.compile(
    r"(?<![\w.~-])(?:/(?:root|home|tmp|work|Users|private|var/folders|var/tmp|github|__w"
    r"|runner|builds|mnt|opt/actions-runner)(?=[/#?\s\"']|$)|[A-Za-z]:[\\/])"
)


# Where a path ends inside a string: a separator, a URL fragment or query, quoting, or the end.
_PATH_END = r"(?=[/\\#?\s\"']|$)"


def _sbom_members(names: list[str]) -> list[str]:
    return [n for n in names if re.fullmatch(r"[^/]+\.dist-info/sboms/[^/]+", n)]


def _record_digest(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _path_spellings(path: Path) -> list[str]:
    """How a path can appear: as given, resolved, with forward slashes, and as cargo's
    package-id URLs spell it (`path+file:///home/a%20b/src`, `file:///D:/a/src`)."""
    spellings = {str(path.absolute()), str(path.resolve())}
    spellings |= {Path(s).as_posix() for s in spellings}
    spellings |= {urllib.parse.quote(s, safe="/:\\") for s in spellings}
    return sorted(spellings)


def _path_pattern(spelling: str) -> re.Pattern[str]:
    # A drive-letter path follows the slash of `file:///`; it goes with the path.
    return re.compile(("" if spelling.startswith("/") else "/?") + re.escape(spelling) + _PATH_END)


def _rewrite_strings(value: Any, replace: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, list):
        return [_rewrite_strings(v, replace) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite_strings(v, replace) for k, v in value.items()}
    return value


def normalized_sbom(data: bytes, *, source_root: Path, cargo_home: Path) -> bytes:
    """The document with the build machine's paths replaced; the same bytes if none."""
    rules = [
        (_path_pattern(spelling), placeholder)
        for path, placeholder in (
            (source_root, SOURCE_PLACEHOLDER),
            (cargo_home, CARGO_HOME_PLACEHOLDER),
        )
        for spelling in _path_spellings(path)
    ]
    # The longest spelling first, whichever path it belongs to: a CARGO_HOME inside the
    # checkout must become /cargo, not /source/.cargo.
    rules.sort(key=lambda rule: len(rule[0].pattern), reverse=True)

    def replace(text: str) -> str:
        for pattern, placeholder in rules:
            text = pattern.sub(placeholder, text)
        return text

    document = json.loads(data)
    rewritten = _rewrite_strings(document, replace)
    if rewritten == document:
        return data
    # serde_json's pretty printer, which maturin uses: two spaces, UTF-8, no final newline.
    return json.dumps(rewritten, indent=2, ensure_ascii=False).encode()


def _replace_record_line(record: bytes, member: str, old: bytes, new: bytes) -> bytes:
    lines = record.decode().splitlines(keepends=True)
    prefix = f"{member},"
    matches = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    if len(matches) != 1:
        raise PipelineError(f"RECORD has {len(matches)} lines for {member}")
    index = matches[0]
    expected = f"{member},{_record_digest(old)},{len(old)}"
    if lines[index].rstrip("\r\n") != expected:
        raise PipelineError(f"RECORD's line for {member} does not match its content")
    ending = lines[index][len(lines[index].rstrip("\r\n")) :]
    lines[index] = f"{member},{_record_digest(new)},{len(new)}{ending}"
    return "".join(lines).encode()


# The zip format's own records (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16), all little-endian.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_END_OF_CENTRAL_DIRECTORY = struct.Struct("<4s4H2LH")


def _deflate_stored(data: bytes) -> bytes:
    """A Deflate stream of stored blocks: the same bytes from every zlib (zlib-ng, zlib
    1.2 and 1.3, miniz compress differently), at the price of no compression."""
    blocks = [data[i : i + 0xFFFF] for i in range(0, len(data), 0xFFFF)] or [b""]
    out = bytearray()
    for index, block in enumerate(blocks):
        out.append(1 if index == len(blocks) - 1 else 0)  # BFINAL, BTYPE 00 (stored)
        out += struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return bytes(out)


def _raw_member(handle: BinaryIO, info: zipfile.ZipInfo) -> tuple[bytes, bytes]:
    """(local extra field, compressed bytes) exactly as they are in the archive."""
    handle.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    name_length, extra_length = fields[-2], fields[-1]
    handle.seek(name_length, os.SEEK_CUR)
    extra = handle.read(extra_length)
    return extra, handle.read(info.compress_size)


def _dos_time(info: zipfile.ZipInfo) -> tuple[int, int]:
    year, month, day, hour, minute, second = info.date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def _write_zip(path: Path, members: list[tuple[zipfile.ZipInfo, bytes, bytes]]) -> None:
    """Write (entry, local extra, compressed bytes) in order, entry fields as given."""
    central = bytearray()
    with path.open("wb") as out:
        for info, local_extra, raw in members:
            offset = out.tell()
            name = info.filename.encode("utf-8" if info.flag_bits & 0x800 else "ascii")
            time, date = _dos_time(info)
            common = (
                info.flag_bits,
                info.compress_type,
                time,
                date,
                info.CRC,
                len(raw),
                info.file_size,
                len(name),
            )
            out.write(
                _LOCAL_HEADER.pack(
                    b"PK\x03\x04", info.extract_version, info.reserved, *common, len(local_extra)
                )
            )
            out.write(name + local_extra + raw)
            central += _CENTRAL_HEADER.pack(
                b"PK\x01\x02",
                info.create_version,
                info.create_system,
                info.extract_version,
                info.reserved,
                *common,
                len(info.extra),
                len(info.comment),
                0,
                info.internal_attr,
                info.external_attr,
                offset,
            )
            central += name + info.extra + info.comment
        start = out.tell()
        out.write(central)
        out.write(
            _END_OF_CENTRAL_DIRECTORY.pack(
                b"PK\x05\x06",
                0,
                0,
                len(members),
                len(members),
                len(central),
                start,
                0,
            )
        )


def _member(
    wheel: str, handle: BinaryIO, info: zipfile.ZipInfo, data: bytes | None
) -> tuple[zipfile.ZipInfo, bytes, bytes]:
    """The member as it is, or with new contents `data` and otherwise the same entry."""
    local_extra, raw = _raw_member(handle, info)
    if info.flag_bits & 0x08:
        raise PipelineError(f"{wheel}: {info.filename} has a data descriptor")
    if data is None:
        return info, local_extra, raw
    if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        raise PipelineError(f"{wheel}: {info.filename} uses compression {info.compress_type}")
    entry = copy.copy(info)
    entry.CRC = zlib.crc32(data)
    entry.file_size = len(data)
    raw = _deflate_stored(data) if info.compress_type == zipfile.ZIP_DEFLATED else data
    return entry, local_extra, raw


def normalize_wheel(wheel: Path, *, source_root: Path, cargo_home: Path) -> bool:
    """Rewrite the SBOM's build paths in place; whether anything changed."""
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        contents = {n: archive.read(n) for n in _sbom_members(names)}
    replaced: dict[str, bytes] = {}
    for member, data in contents.items():
        new = normalized_sbom(data, source_root=source_root, cargo_home=cargo_home)
        if new != data:
            replaced[member] = new
    if not replaced:
        return False
    if len(infos) >= 0xFFFF or any(
        i.flag_bits & 0x1 or max(i.file_size, i.compress_size, i.header_offset) >= 0xFFFFFFFF
        for i in infos
    ):
        raise PipelineError(f"{wheel.name}: encrypted or zip64 archives are not handled")
    (record,) = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/RECORD", n)]
    with zipfile.ZipFile(wheel) as archive:
        record_data = archive.read(record)
    for member, new in replaced.items():
        record_data = _replace_record_line(record_data, member, contents[member], new)
    replaced[record] = record_data
    # Same members, same order, same entries (date_time, external_attr, compress_type,
    # create_system, ...); every unchanged member keeps maturin's compressed bytes, and
    # the SBOM and RECORD are deflated the one way that no zlib version can change.
    with wheel.open("rb") as handle:
        members = [_member(wheel.name, handle, info, replaced.get(info.filename)) for info in infos]
    fd, tmp = tempfile.mkstemp(dir=wheel.parent, prefix=f".{wheel.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _write_zip(Path(tmp), members)
        with zipfile.ZipFile(tmp) as check:
            bad = check.testzip()
        if bad is not None:
            raise PipelineError(f"{wheel.name}: rewriting broke {bad}")
        shutil.copymode(wheel, tmp)  # mkstemp made it 0600
        os.replace(tmp, wheel)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else key)


def _schema_problems(text: str, spec_version: str) -> list[str]:
    try:
        # the json-validation extra: without it validate_str raises instead of judging
        import jsonschema  # type: ignore[import-untyped]  # noqa: F401
        from cyclonedx.schema import SchemaVersion  # type: ignore[import-not-found,unused-ignore]
        from cyclonedx.validation.json import (  # type: ignore[import-not-found,unused-ignore]
            JsonStrictValidator,
        )
    except ModuleNotFoundError:
        return [
            "schema: cannot validate, cyclonedx-python-lib[json-validation] is not "
            "installed (it is in the release dependency group)"
        ]
    try:
        version = SchemaVersion.from_version(spec_version)
    except ValueError:
        return [f"schema: unknown CycloneDX specVersion {spec_version!r}"]
    error = JsonStrictValidator(version).validate_str(text)
    if error is None:
        return []
    first_line = str(error).splitlines()[0]
    return [f"schema: not valid CycloneDX {spec_version}: {first_line}"]


def _determinism_problems(
    document: dict[str, Any], epoch: int | None, checkout: Path | None = None
) -> list[str]:
    problems = []
    serial = document.get("serialNumber")
    if serial is not None:
        try:
            name_based = uuid.UUID(str(serial).removeprefix("urn:uuid:")).version in (3, 5)
        except ValueError:
            name_based = False
        if not name_based:
            problems.append(
                f"determinism: serialNumber {serial} is not derived from the content "
                "(build with SOURCE_DATE_EPOCH set, and cargo-cyclonedx leaves it out)"
            )
    timestamp = document.get("metadata", {}).get("timestamp")
    if epoch is not None:
        expected = dt.datetime.fromtimestamp(epoch, dt.UTC)
        try:
            found = dt.datetime.fromisoformat(str(timestamp))
        except ValueError:
            found = None
        if found != expected:
            problems.append(
                f"determinism: timestamp {timestamp} is not SOURCE_DATE_EPOCH {epoch} "
                f"({expected.isoformat()})"
            )
    # The checkout itself counts wherever it is (/srv/src is not in _BUILD_PATH's list).
    own = [_path_pattern(s) for s in _path_spellings(checkout)] if checkout is not None else []
    for where, text in _strings(document):
        if _BUILD_PATH.search(text) or any(pattern.search(text) for pattern in own):
            problems.append(f"determinism: {where} holds the build path {text!r}")
    return problems


@functools.cache  # every wheel of a target asks the same; cargo tree takes a while
def _cargo_tree(manifest: Path, target: str, edges: str) -> frozenset[tuple[str, str]]:
    result = _run_cargo_tree(manifest, target, edges, offline=True)
    if result.returncode != 0:  # a fresh runner (the gate job) has no crates cached yet
        result = _run_cargo_tree(manifest, target, edges, offline=False)
    if result.returncode != 0:
        raise PipelineError(f"cargo tree failed: {result.stderr.strip()[-500:]}")
    crates = set()
    for line in result.stdout.splitlines():
        # `name vX.Y.Z`, then ` (path)` for path crates, ` (proc-macro)`, ` (*)` for repeats.
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v"):
            crates.add((parts[0], parts[1][1:]))
    return frozenset(crates)


def _run_cargo_tree(
    manifest: Path, target: str, edges: str, *, offline: bool
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "cargo",
            "tree",
            "--locked",
            *(["--offline"] if offline else []),
            "--manifest-path",
            str(manifest),
            "-e",
            edges,
            "--target",
            target,
            "--prefix",
            "none",
            "--format",
            "{p}",
        ],
        cwd=manifest.parent,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def _lock_packages(cargo_lock: Path) -> tuple[dict[tuple[str, str], str | None], str, str]:
    """Cargo.lock's (name, version) -> checksum, and the root package's name and version."""
    lock = tomllib.loads(cargo_lock.read_text(encoding="utf-8"))
    packages = {(p["name"], p["version"]): p.get("checksum") for p in lock.get("package", [])}
    manifest = tomllib.loads((cargo_lock.parent / "Cargo.toml").read_text(encoding="utf-8"))
    return packages, manifest["package"]["name"], manifest["package"]["version"]


def _crate_problems(document: dict[str, Any], cargo_lock: Path, target: str) -> list[str]:
    lock, root_name, root_version = _lock_packages(cargo_lock)
    manifest = cargo_lock.parent / "Cargo.toml"
    try:
        normal = _cargo_tree(manifest, target, "normal")
        everything = _cargo_tree(manifest, target, "normal,build")
    except PipelineError as err:
        return [f"crates: {err}"]
    root = (root_name, root_version)
    expected = dict.fromkeys(normal - {root}, "required")
    expected |= dict.fromkeys(everything - normal - {root}, "excluded")
    problems = [
        f"crates: cargo tree names {name} {version}, which Cargo.lock does not have"
        for name, version in sorted(expected)
        if (name, version) not in lock
    ]
    component = document.get("metadata", {}).get("component", {})
    if (component.get("name"), component.get("version")) != root:
        problems.append(
            f"crates: the SBOM describes {component.get('name')} {component.get('version')}, "
            f"not {root_name} {root_version}"
        )

    listed: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in document.get("components", []):
        key = (str(entry.get("name")), str(entry.get("version")))
        if key in listed:
            problems.append(f"crates: {key[0]} {key[1]} is listed twice")
        listed[key] = entry
    extra = set(listed) - set(expected)
    missing = set(expected) - set(listed)
    wrong_version = {name for name, _ in extra} & {name for name, _ in missing}
    for name, version in sorted(extra):
        if name not in wrong_version:
            problems.append(f"crates: the SBOM lists {name} {version}, not compiled for {target}")
    for name, version in sorted(missing):
        if name in wrong_version:
            said = ", ".join(sorted(v for n, v in extra if n == name))
            problems.append(f"crates: the SBOM says {name} {said}, the build uses {version}")
        else:
            problems.append(f"crates: the SBOM lacks {name} {version}, compiled for {target}")
    for key in sorted(set(listed) & set(expected)):
        entry = listed[key]
        if entry.get("scope") != expected[key]:
            why = "linked into the module" if expected[key] == "required" else "build-time only"
            problems.append(f"crates: {key[0]} {key[1]} is {why} but scoped {entry.get('scope')!r}")
        checksum = lock.get(key)
        hashes = {h.get("content") for h in entry.get("hashes", []) if h.get("alg") == "SHA-256"}
        if checksum and hashes != {checksum}:
            problems.append(
                f"crates: {key[0]} {key[1]} has SHA-256 {sorted(hashes)}, "
                f"Cargo.lock says {checksum}"
            )
    return problems


def check_wheel(
    wheel: Path, cargo_lock: Path, *, rust_target: str, epoch: int | None = None
) -> list[str]:
    """Problems with the wheel's SBOM (empty: it is there once, valid, stable and true)."""
    with zipfile.ZipFile(wheel) as archive:
        members = _sbom_members(archive.namelist())
        if len(members) != 1:
            where = "none" if not members else ", ".join(members)
            return [f"{wheel.name}: sbom: expected one SBOM under .dist-info/sboms/, found {where}"]
        (member,) = members
        text = archive.read(member).decode()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        return [f"{wheel.name}: sbom: {member} is not JSON ({err})"]
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        return [f"{wheel.name}: sbom: {member} is not a CycloneDX document"]
    problems = _schema_problems(text, str(document.get("specVersion")))
    problems += _determinism_problems(document, epoch, cargo_lock.parent)
    problems += _crate_problems(document, cargo_lock, rust_target)
    return [f"{wheel.name}: {p}" for p in problems]
