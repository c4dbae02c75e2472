"""Look inside a wheel: does its native code keep the promise its file name makes?

    inspect_wheel(path) -> the problems, each naming the wheel and the file (gate.py)

A wheel's tags say which interpreter ABI and which platform it is for. Two things
inside must agree, whoever built it and however:
  module name  the extension module is named the way that interpreter looks for it
               (`_core.abi3.so`, `_core.cpython-314t-aarch64-linux-gnu.so`,
               `_core.cp314t-win_amd64.pyd`, `_core.cpython-314-iphonesimulator.so`,
               `_core.cpython-314-wasm32-emscripten.so`, ...), so it is found at all;
  binary       every native file is the platform's format (ELF, Mach-O, PE, WebAssembly),
               a shared library, for the tag's architecture, bitness and byte order; a
               universal2 Mach-O holds exactly the two halves its tag names; an ELF
               module links the C library of the tag's OS and libc (glibc, musl,
               FreeBSD's, Android's), since its header cannot tell Linux from FreeBSD;
               it names the tag's OS (BRANDS), no newer than the tag's iOS or Android;
               a Pyodide module is a WebAssembly side module (`dylink.0` first).
Each Pyodide ABI (pyemscripten_2026_0) is one CPython (PYEMSCRIPTEN), whose module name
and tags the wheel's must be. Nothing inside a module tells one Emscripten ABI from
another (emcc writes no producers section: pydantic-core's cp314 Pyodide module has
dylink.0 and standard sections only), so its name and tags are what refuse the other's.
Binaries are read with the parsers from PyPI (pyelftools, macholib, pefile), never from
byte offsets of our own, but for a WebAssembly module's first section name (none of our
dependencies reads WebAssembly). Every fact about an architecture lives in one row of
ARCHES, every naming rule in one entry of MODULE_SUFFIX.
"""

from __future__ import annotations

import io
import re
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pefile  # type: ignore[import-untyped]
from elftools.common.exceptions import ELFError
from elftools.elf.constants import E_FLAGS
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import NoteSection
from macholib.mach_o import (  # type: ignore[import-untyped]
    CPU_TYPE_NAMES,
    LC_BUILD_VERSION,
    MH_BUNDLE,
    MH_CIGAM_64,
    MH_DYLIB,
    MH_MAGIC_64,
    PLATFORM_NAMES,
)
from macholib.MachO import MachO  # type: ignore[import-untyped]
from packaging.tags import Tag, cpython_tags
from packaging.utils import parse_wheel_filename

MODULE = "game_with_pyo3/_core"
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")


@dataclass(frozen=True)
class Arch:
    """One CPU architecture, spelled the way each tag, triplet and file format spells it.

    Binary facts use the parsers' own names: pyelftools' `e_machine`, macholib's
    `CPU_TYPE_NAMES`, pefile's `MACHINE_TYPE`. A platform spelling of None means
    wheels for that OS and architecture are not a thing we know of.
    """

    name: str
    bits: int
    little_endian: bool
    elf_machine: str
    # e_flags bits every binary for this architecture carries (armv7l: hard-float ABI)
    elf_flags: int
    macho_cputype: str | None
    pe_machine: str | None
    linux_tag: str
    macos_tag: str | None
    windows_tag: str | None
    freebsd_tag: str | None
    android_tag: str | None  # iOS tags spell architectures as macOS tags do
    # CPython's multiarch triplet (sysconfig MULTIARCH) for glibc and musl, and PyPy's
    # own, which differs for x86, arm and ppc64le and ignores the libc.
    gnu_triplet: str
    musl_triplet: str
    pypy_triplet: str


# Columns: name, bits, little-endian, ELF machine, ELF flags, Mach-O cputype, PE machine;
# the arch in linux, macOS, Windows, FreeBSD and Android platform tags (CPython builds
# Android for aarch64 and x86_64 only: configure.ac's PEP 11 tiers); gnu, musl, PyPy
# triplets. wasm32 is only Pyodide's.
ARCHES: tuple[Arch, ...] = (
    Arch(
        "x86_64", 64, True, "EM_X86_64", 0, "x86_64", "IMAGE_FILE_MACHINE_AMD64",
        "x86_64", "x86_64", "win_amd64", "amd64", "x86_64",
        "x86_64-linux-gnu", "x86_64-linux-musl", "x86_64-linux-gnu",
    ),
    Arch(
        "i686", 32, True, "EM_386", 0, "i386", "IMAGE_FILE_MACHINE_I386",
        "i686", "i386", "win32", "i386", None,
        "i386-linux-gnu", "i386-linux-musl", "x86-linux-gnu",
    ),
    Arch(
        "aarch64", 64, True, "EM_AARCH64", 0, "ARM64", "IMAGE_FILE_MACHINE_ARM64",
        "aarch64", "arm64", "win_arm64", "arm64", "arm64_v8a",
        "aarch64-linux-gnu", "aarch64-linux-musl", "aarch64-linux-gnu",
    ),
    Arch(
        "armv7l", 32, True, "EM_ARM", E_FLAGS.EF_ARM_ABI_FLOAT_HARD, None, None,
        "armv7l", None, None, None, None,
        "arm-linux-gnueabihf", "arm-linux-musleabihf", "arm-linux-gnu",
    ),
    Arch(
        "ppc64le", 64, True, "EM_PPC64", 0, None, None,
        "ppc64le", None, None, None, None,
        "powerpc64le-linux-gnu", "powerpc64le-linux-musl", "ppc_64-linux-gnu",
    ),
    Arch(
        "s390x", 64, False, "EM_S390", 0, None, None,
        "s390x", None, None, None, None,
        "s390x-linux-gnu", "s390x-linux-musl", "s390x-linux-gnu",
    ),
    Arch(
        "riscv64", 64, True, "EM_RISCV", 0, None, None,
        "riscv64", None, None, None, None,
        "riscv64-linux-gnu", "riscv64-linux-musl", "riscv64-linux-gnu",
    ),
    Arch("wasm32", 32, True, "", 0, None, None, "", None, None, None, None, "", "", ""),
)  # fmt: skip

# macOS tags that name more than one architecture: the fat file holds exactly these.
MACOS_MULTI = {"universal2": ("x86_64", "aarch64"), "intel": ("i686", "x86_64")}

# The module's file-name suffix per (OS, kind of module), as maturin 1.16 writes it.
# Kinds: "stable" is abi3 or abi3t for a minimum Python before 3.15; "stable315" the
# same for 3.15 and later, whose stable-ABI suffixes carry CPython's SOABI_PLATFORM
# (gh-122917: .abi3-x86_64-linux-gnu.so, .abi3t-darwin.so; FreeBSD has none);
# "cpython" a version-specific module; "pypy" PyPy's own. Fields: {abi} abi3 or abi3t,
# {version} "314t" or "pypy311-pp73"; {triplet} (gnu or musl by the tag), {arch} (the
# row's name, which is CPython's for Android: aarch64-linux-android), {pypy_triplet} and
# {windows_tag} from the Arch row; {libc} iOS's SOABI_PLATFORM, iphoneos or
# iphonesimulator (configure.ac: the second field of arm64-iphonesimulator). The names
# of real wheels built here are pinned in scripts/tests/test_wheel_inspect.py (NAMES).
MODULE_SUFFIX = {
    ("linux", "stable"): ".{abi}.so",
    ("linux", "stable315"): ".{abi}-{triplet}.so",
    ("linux", "cpython"): ".cpython-{version}-{triplet}.so",
    ("linux", "pypy"): ".{version}-{pypy_triplet}.so",
    ("macos", "stable"): ".{abi}.so",
    ("macos", "stable315"): ".{abi}-darwin.so",
    ("macos", "cpython"): ".cpython-{version}-darwin.so",
    ("macos", "pypy"): ".{version}-darwin.so",
    ("windows", "stable"): ".pyd",
    ("windows", "stable315"): ".pyd",
    ("windows", "cpython"): ".cp{version}-{windows_tag}.pyd",
    ("windows", "pypy"): ".{version}-{windows_tag}.pyd",
    ("freebsd", "stable"): ".{abi}.so",
    ("freebsd", "stable315"): ".{abi}.so",
    ("freebsd", "cpython"): ".cpython-{version}.so",
    ("ios", "stable"): ".{abi}.so",
    ("ios", "stable315"): ".{abi}-{libc}.so",
    ("ios", "cpython"): ".cpython-{version}-{libc}.so",
    ("android", "stable"): ".{abi}.so",
    ("android", "stable315"): ".{abi}-{arch}-linux-android.so",
    ("android", "cpython"): ".cpython-{version}-{arch}-linux-android.so",
    ("pyodide", "stable"): ".{abi}.so",
    ("pyodide", "stable315"): ".{abi}-wasm32-emscripten.so",
    ("pyodide", "cpython"): ".cpython-{version}-wasm32-emscripten.so",
}
STABLE_PLATFORM_SINCE = 15  # CPython 3.x minor from which stable-ABI names carry it

# The container format per OS, and the ELF OS/ABI bytes its linkers write: FreeBSD's
# own toolchain brands ELFOSABI_FREEBSD, but lld as maturin --zig drives it leaves
# ELFOSABI_SYSV, the same as Linux, so the byte only refuses the other OS's brand.
FORMATS = {"linux": "ELF", "freebsd": "ELF", "android": "ELF", "macos": "Mach-O", "ios": "Mach-O",
           "windows": "PE", "pyodide": "WebAssembly"}  # fmt: skip
ELF_OSABI = {
    "linux": {"ELFOSABI_SYSV", "ELFOSABI_LINUX"},
    "freebsd": {"ELFOSABI_SYSV", "ELFOSABI_FREEBSD"},
    "android": {"ELFOSABI_SYSV"},
}
# What tells an ELF module's OS and libc apart: the C library it links (DT_NEEDED).
# (os, libc) -> the name; musl is libc.musl-<arch>.so.1 from Alpine's toolchain and
# plain libc.so from zig's, the name of Android's bionic too (its note tells them apart).
C_LIBRARIES = {
    ("linux", "gnu"): re.compile(r"libc\.so\.6"),
    ("linux", "musl"): re.compile(r"libc\.musl-\w+\.so\.1|libc\.so"),
    ("freebsd", ""): re.compile(r"libc\.so\.7"),
    ("android", ""): re.compile(r"libc\.so"),
}
# The OS a binary names itself (Slice.brand): a Mach-O's LC_BUILD_VERSION platform, the
# note Android's NDK links into every library. Other platforms' binaries name none, nor
# may a macOS one (no LC_BUILD_VERSION before macOS 10.14).
BRANDS = {("macos", ""): "macOS", ("ios", "iphoneos"): "iOS",
          ("ios", "iphonesimulator"): "iOS simulator", ("android", ""): "Android"}  # fmt: skip
# Pyodide's ABIs (pyodide's docs/development/abi/*.md): pyemscripten_<year>_<patch> ->
# the one CPython it runs (Emscripten 4.0.9, 5.0.3 and 6.0.5 respectively).
PYEMSCRIPTEN = {"2025_0": (3, 13), "2026_0": (3, 14), "2026_5": (3, 15)}

# Each form's group `arch` is the tag's architecture; `libc`, where there is one, the
# variant (iOS's SDK, Pyodide's ABI) and `min` the oldest OS (iOS version, API level).
_PLATFORM_FORMS = (
    ("linux", "gnu", re.compile(r"^(?:manylinux(?:1|2010|2014|_\d+_\d+)|linux)_(?P<arch>\w+)$")),
    ("linux", "musl", re.compile(r"^musllinux_\d+_\d+_(?P<arch>\w+)$")),
    ("macos", "", re.compile(r"^macosx_\d+_\d+_(?P<arch>\w+)$")),
    ("windows", "", re.compile(r"^(?P<arch>win32|win_\w+)$")),
    ("freebsd", "", re.compile(r"^freebsd_\w+_(?P<arch>[a-z0-9]+)$")),
    ("ios", "", re.compile(
        r"^ios_(?P<min>\d+_\d+)_(?P<arch>arm64|x86_64(?=_iphonesimulator))"
        r"_(?P<libc>iphoneos|iphonesimulator)$")),
    ("android", "", re.compile(r"^android_(?P<min>\d+)_(?P<arch>\w+)$")),
    ("pyodide", "", re.compile(r"^pyemscripten_(?P<libc>\d+_\d+)_(?P<arch>\w+)$")),
)  # fmt: skip
_TAG_FIELD = {
    "linux": "linux_tag",
    "macos": "macos_tag",
    "windows": "windows_tag",
    "freebsd": "freebsd_tag",
    "ios": "macos_tag",
    "android": "android_tag",
    "pyodide": "name",
}


class InspectError(Exception):
    """The wheel's tags promise something this module has no rule for."""


@dataclass(frozen=True)
class Platform:
    os: str
    libc: str  # gnu or musl; iOS's iphoneos or iphonesimulator; Pyodide's ABI "2026_0"
    arches: tuple[Arch, ...]
    minimum: tuple[int, ...] = ()  # the tag's oldest iOS (13, 0) or Android API level (24,)

    @property
    def label(self) -> str:
        variant = f" {self.libc}" if self.os in ("ios", "pyodide") else ""
        return f"{self.os} {'+'.join(a.name for a in self.arches)}{variant}"


@dataclass(frozen=True)
class Abi:
    kind: str  # a MODULE_SUFFIX kind: stable, stable315, cpython or pypy
    name: str  # abi3 or abi3t; cpython "314t"; pypy "pypy311-pp73"
    label: str  # the wheel's python and ABI tags, e.g. "cp315-abi3.abi3t"


def arch_by_name(name: str) -> Arch:
    return next(a for a in ARCHES if a.name == name)


def parse_platform(tag: str) -> Platform:
    """One platform tag -> the OS, libc and architectures it names."""
    for os_name, fixed_libc, form in _PLATFORM_FORMS:
        match = form.match(tag)
        if match is None:
            continue
        spelled, groups = match["arch"], match.groupdict()
        libc = groups.get("libc") or fixed_libc
        minimum = tuple(int(n) for n in (groups.get("min") or "").split("_") if n)
        if os_name == "macos" and spelled in MACOS_MULTI:
            return Platform(os_name, libc, tuple(arch_by_name(n) for n in MACOS_MULTI[spelled]))
        if os_name == "pyodide" and libc not in PYEMSCRIPTEN:
            raise InspectError(f"platform tag {tag}: no known Pyodide ABI {libc}")
        field = _TAG_FIELD[os_name]
        arches = tuple(a for a in ARCHES if getattr(a, field) == spelled)
        if arches:
            return Platform(os_name, libc, arches, minimum)
        raise InspectError(f"platform tag {tag}: no known {os_name} architecture {spelled!r}")
    raise InspectError(f"platform tag {tag} is not one of {', '.join(_TAG_FIELD)}")


def parse_abi(tags: frozenset[Tag]) -> Abi:
    """The python and ABI tags of one wheel -> the kind of module it carries."""
    abis = {t.abi for t in tags}
    interpreters = {t.interpreter for t in tags}
    label = f"{'.'.join(sorted(interpreters))}-{'.'.join(sorted(abis))}"
    minors = [re.fullmatch(r"cp3(\d+)", i) for i in interpreters]
    if abis <= {"abi3", "abi3t"} and all(minors):
        # abi3.abi3t is one module for both, named as abi3t
        name = "abi3t" if "abi3t" in abis else "abi3"
        oldest = min(int(m[1]) for m in minors if m)
        return Abi("stable315" if oldest >= STABLE_PLATFORM_SINCE else "stable", name, label)
    if len(abis) == 1:
        (abi,) = abis
        cpython = re.fullmatch(r"cp(\d)(\d+)(t?)", abi)
        if cpython:
            return Abi("cpython", "".join(cpython.groups()), label)
        pypy = re.fullmatch(r"(pypy\d+)_(pp\d+)", abi)
        if pypy:
            return Abi("pypy", "-".join(pypy.groups()), label)
    raise InspectError(f"tags {label}: no rule for the module's name")


def wheel_platform(platform_tags: set[str]) -> Platform:
    """The platform a wheel's (compressed) platform tags name together. On macOS they
    add up (`macosx_10_12_universal2.macosx_10_12_x86_64.macosx_11_0_arm64` is one fat
    file of two halves); elsewhere every tag must name the same architecture."""
    platforms = {parse_platform(tag) for tag in platform_tags}
    if len({(p.os, p.libc) for p in platforms}) == 1 and next(iter(platforms)).os == "macos":
        names = {a.name for p in platforms for a in p.arches}
        arches = tuple(a for a in ARCHES if a.name in names)
        return Platform("macos", "", arches)
    if len(platforms) != 1:
        labels = sorted(p.label for p in platforms)
        raise InspectError(f"its platform tags name different platforms: {labels}")
    return platforms.pop()


def wheel_platform_and_abi(filename: str) -> tuple[Platform, Abi]:
    _, _, _, tags = parse_wheel_filename(filename)
    platform, abi = wheel_platform({t.platform for t in tags}), parse_abi(tags)
    if platform.os == "pyodide":
        # the tags a Pyodide of this ABI installs, by packaging's rules for its CPython
        major, minor = PYEMSCRIPTEN[platform.libc]
        plats = sorted(t.platform for t in tags)
        if not tags <= set(cpython_tags((major, minor), [f"cp{major}{minor}"], plats)):
            raise InspectError(
                f"tags {abi.label}: {plats[0]} is the ABI of Pyodide's CPython "
                f"{major}.{minor}, which installs no such wheel"
            )
    return platform, abi


def module_suffix(platform: Platform, abi: Abi) -> str:
    template = MODULE_SUFFIX.get((platform.os, abi.kind))
    if template is None:
        raise InspectError(f"no rule for a {abi.label} module on {platform.os}")
    uses_arch = any(f in template for f in ("triplet", "windows_tag", "{arch}"))
    if uses_arch and len(platform.arches) != 1:
        raise InspectError(f"a {abi.label} module cannot be named for {platform.label}")
    arch = platform.arches[0]
    return template.format(
        abi=abi.name,
        version=abi.name,
        triplet=arch.musl_triplet if platform.libc == "musl" else arch.gnu_triplet,
        pypy_triplet=arch.pypy_triplet,
        windows_tag=arch.windows_tag,
        arch=arch.name,
        libc=platform.libc,
    )


def expected_module(filename: str) -> str:
    """The one extension module path a wheel with this file name must carry."""
    platform, abi = wheel_platform_and_abi(filename)
    return MODULE + module_suffix(platform, abi)


def is_native(member: str) -> bool:
    name = member.rsplit("/", 1)[-1]
    return name.endswith(NATIVE_SUFFIXES) or ".so." in name


# --- what a binary is, read by the parsers ------------------------------------------


@dataclass(frozen=True)
class Slice:
    """One architecture's code in a binary, in the words of the parser that read it."""

    machine: str
    bits: int
    little_endian: bool
    shared: bool  # ET_DYN, MH_DYLIB/MH_BUNDLE, a DLL, a wasm side module: importable
    osabi: str = ""  # ELF only
    flags: int = 0  # ELF only
    needed: tuple[str, ...] = ()  # ELF only: DT_NEEDED
    brand: str = ""  # the OS it names: LC_BUILD_VERSION's platform, ELF's Android note
    minimum: tuple[int, ...] = ()  # the oldest OS it names: minos (13, 0), API level (24,)


@dataclass(frozen=True)
class Binary:
    format: str  # ELF, Mach-O, PE or WebAssembly
    slices: tuple[Slice, ...]
    fat: bool = False


def _read_elf(data: bytes) -> Binary | None:
    try:
        elf = ELFFile(io.BytesIO(data))
        header = elf.header
        needed = tuple(
            str(tag.needed)  # type: ignore[attr-defined]  # set for DT_NEEDED tags only
            for section in elf.iter_sections()
            if isinstance(section, DynamicSection)
            for tag in section.iter_tags("DT_NEEDED")
        )
        # bionic's crtbrand.S: a note "Android" whose description starts with the API level
        ident = elf.get_section_by_name(".note.android.ident")
        notes = [n["n_desc"] for n in ident.iter_notes()] if isinstance(ident, NoteSection) else []
    except ELFError:
        return None
    api = tuple(int.from_bytes(d[:4], "little" if elf.little_endian else "big") for d in notes[:1])
    part = Slice(
        machine=str(header["e_machine"]),
        bits=int(elf.elfclass),
        little_endian=bool(elf.little_endian),
        shared=header["e_type"] == "ET_DYN",
        osabi=str(header["e_ident"]["EI_OSABI"]),
        flags=int(header["e_flags"]),
        needed=needed,
        brand="Android" if notes else "",
        minimum=api,
    )
    return Binary("ELF", (part,))


def _read_pe(data: bytes) -> Binary | None:
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError:
        return None
    part = Slice(
        machine=str(pefile.MACHINE_TYPE.get(int(pe.FILE_HEADER.Machine), "unknown")),
        bits=64 if int(pe.OPTIONAL_HEADER.Magic) == pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS else 32,
        little_endian=True,  # every PE machine Windows runs is little-endian
        shared=bool(pe.is_dll()),
    )
    return Binary("PE", (part,))


def _read_macho(data: bytes) -> Binary | None:
    # macholib reads from a named file only
    with tempfile.TemporaryDirectory(prefix="gwp-macho-") as tmp:
        path = Path(tmp) / "module"
        path.write_bytes(data)
        try:
            macho = MachO(str(path), allow_unknown_load_commands=True)
        except (ValueError, struct.error):
            return None
    parts = []
    for header in macho.headers:
        cputype = int(header.header.cputype)
        build = [cmd for lc, cmd, _ in header.commands if lc.cmd == LC_BUILD_VERSION][:1]
        parts.append(
            Slice(
                machine=str(CPU_TYPE_NAMES.get(cputype, f"cputype {cputype:#x}")),
                bits=64 if int(header.MH_MAGIC) in (MH_MAGIC_64, MH_CIGAM_64) else 32,
                little_endian=header.endian == "<",
                shared=int(header.header.filetype) in (MH_DYLIB, MH_BUNDLE),
                brand="".join(str(PLATFORM_NAMES.get(int(b.platform), b.platform)) for b in build),
                minimum=next(((int(b.minos) >> 16, int(b.minos) >> 8 & 0xFF) for b in build), ()),
            )
        )
    return Binary("Mach-O", tuple(parts), fat=macho.fat is not None)


WASM_MAGIC = b"\0asm\1\0\0\0"  # and a version of 1


def _leb128(data: bytes, at: int) -> tuple[int, int]:  # an unsigned number, where next
    value = shift = 0
    while data[at] & 0x80:
        value, shift, at = value | (data[at] & 0x7F) << shift, shift + 7, at + 1
    return value | data[at] << shift, at + 1


def _read_wasm(data: bytes) -> Binary | None:
    """An Emscripten side module, which dlopen loads, has the custom section (id 0)
    `dylink.0` first (WebAssembly tool-conventions, DynamicLinking.md)."""
    if not data.startswith(WASM_MAGIC):
        return None
    try:
        _, at = _leb128(data, len(WASM_MAGIC) + 1)  # the first section's size
        length, at = _leb128(data, at)
        side = data[len(WASM_MAGIC)] == 0 and data[at : at + length] == b"dylink.0"
    except IndexError:
        side = False
    return Binary("WebAssembly", (Slice("wasm32", 32, little_endian=True, shared=side),))


def read_binary(data: bytes) -> Binary | None:
    """What the parsers make of a file: None when none of them can read it."""
    for reader in (_read_wasm, _read_elf, _read_pe, _read_macho):
        binary = reader(data)
        if binary is not None:
            return binary
    return None


def _machine(arch: Arch, fmt: str) -> str | None:
    machines = {"ELF": arch.elf_machine, "Mach-O": arch.macho_cputype, "PE": arch.pe_machine}
    return machines.get(fmt, arch.name)  # WebAssembly: wasm32


def _endian(*, little: bool) -> str:
    return "little-endian" if little else "big-endian"


def binary_problems(binary: Binary | None, platform: Platform) -> list[str]:
    """Why this binary does not belong in a wheel for `platform` (empty: it does)."""
    wanted_format = FORMATS[platform.os]
    if binary is None:
        return [f"is no binary that pyelftools, pefile or macholib can read ({wanted_format})"]
    if binary.format != wanted_format:
        return [f"is {binary.format}, a {platform.os} wheel needs {wanted_format}"]
    problems = []
    wanted = {str(_machine(a, binary.format)): a for a in platform.arches}
    found = [s.machine for s in binary.slices]
    if sorted(found) != sorted(wanted):
        what = f"{binary.format} {_spell(found, binary.format)}"
        if binary.format == "Mach-O":
            what = f"a {'fat' if binary.fat else 'thin'} {what}"
        problems.append(
            f"is {what}, the tag {platform.label} needs {_spell(list(wanted), binary.format)}"
        )
    for part in binary.slices:
        # bits and byte order against the architecture the tag names for this slice (or,
        # for a single-architecture tag, the one architecture it names)
        arch = wanted.get(part.machine) or (
            platform.arches[0] if len(platform.arches) == 1 else None
        )
        if arch is None:
            continue
        if part.bits != arch.bits:
            problems.append(f"is {part.bits}-bit code, {arch.name} is {arch.bits}-bit")
        if part.little_endian != arch.little_endian:
            problems.append(
                f"is {_endian(little=part.little_endian)} code, "
                f"{arch.name} is {_endian(little=arch.little_endian)}"
            )
        if (
            part.machine == _machine(arch, binary.format)
            and part.flags & arch.elf_flags != arch.elf_flags
        ):
            problems.append(
                f"has ELF flags {part.flags:#x}, without the {arch.elf_flags:#x} every "
                f"{arch.name} binary carries"
            )
    for part in binary.slices:
        if not part.shared:
            side = ", no dylink.0 section first" if binary.format == "WebAssembly" else ""
            problems.append(f"is not a shared library ({binary.format} {part.machine}{side})")
        if binary.format == "ELF":
            problems += _elf_os_problems(part, platform)
        problems += _brand_problems(part, binary.format, platform)
    return problems


def _brand_problems(part: Slice, fmt: str, platform: Platform) -> list[str]:
    where = "LC_BUILD_VERSION" if fmt == "Mach-O" else ".note.android.ident"
    wanted = BRANDS.get((platform.os, platform.libc), "")
    if part.brand != wanted and (part.brand or platform.os != "macos"):
        said = f"says {part.brand} in its {where}" if part.brand else f"has no {where}"
        should = f"say {wanted}" if wanted else "have none"
        return [f"{said}, where {platform.label} binaries {should}"]
    if platform.minimum and part.minimum > platform.minimum:
        return [
            f"needs {wanted} {'.'.join(map(str, part.minimum))}, newer than its tag's "
            f"{'.'.join(map(str, platform.minimum))} ({where})"
        ]
    return []


def _elf_os_problems(part: Slice, platform: Platform) -> list[str]:
    problems = []
    if part.osabi not in ELF_OSABI[platform.os]:
        problems.append(
            f"has ELF OS/ABI {part.osabi}; {platform.os} binaries have "
            f"{' or '.join(sorted(ELF_OSABI[platform.os]))}"
        )
    wanted = (platform.os, platform.libc)
    for library in part.needed:
        owners = [k for k, name in C_LIBRARIES.items() if name.fullmatch(library)]
        if owners and wanted not in owners:
            problems.append(
                f"links {library}, the C library of "
                f"{' or '.join(' '.join(filter(None, o)) for o in owners)}, "
                f"not of {' '.join(filter(None, wanted))}"
            )
    return problems


def _spell(machines: list[str], fmt: str) -> str:
    """Machines by our arch names with the parser's name: "aarch64 (EM_AARCH64)"."""
    if not machines:
        return "no code"
    names = []
    for machine in sorted(machines):
        arch = next((a.name for a in ARCHES if _machine(a, fmt) == machine), None)
        names.append(f"{arch} ({machine})" if arch else machine)
    return " + ".join(names)


# --- the whole wheel ---------------------------------------------------------------


def inspect_wheel(path: Path) -> list[str]:
    """Every way this wheel's native code breaks its tags, each as
    "<wheel>: <file> <reason>". Empty when the wheel keeps its promise."""
    try:
        platform, abi = wheel_platform_and_abi(path.name)
        expected = MODULE + module_suffix(platform, abi)
    except (InspectError, ValueError) as err:
        return [f"{path.name}: {err}"]
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        problems = []
        modules = [n for n in names if n.startswith(f"{MODULE}.") and is_native(n)]
        if expected not in names:
            found = ", ".join(modules) or "no extension module"
            problems.append(
                f"{path.name}: carries {found}; its tags ({abi.label} on {platform.label}) "
                f"call for {expected}"
            )
        for extra in sorted(set(modules) - {expected}):
            if expected in names:
                problems.append(f"{path.name}: {extra} is a second extension module")
        for member in sorted(n for n in names if is_native(n)):
            reasons = binary_problems(read_binary(wheel.read(member)), platform)
            problems += [f"{path.name}: {member} {reason}" for reason in reasons]
    return problems
