"""Which wheel an interpreter picks: packaging's tag order, the same rule pip and uv use.

Interpreters are spelled as the manifest spells them: "3.12" (CPython with the GIL),
"3.14t" (free-threaded CPython), "pypy3.11" (PyPy 7.3.x, ABI pp73) or, for another PyPy
ABI, "pypy3.11-pp80" (Debian's PyPy 8). A platform is a wheel's platform tag, read as
the oldest system that wheel admits (`installer_platforms`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from packaging import tags as ptags
from packaging.utils import parse_wheel_filename

_LEGACY_MANYLINUX = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}
_LABEL = re.compile(r"(?P<pypy>pypy)?3\.(?P<minor>\d+)(?P<t>t)?(?:-pp(?P<pp>\d+))?")


def parse_label(label: str) -> tuple[str, tuple[int, int], bool, str]:
    """("cpython" | "pypy", (major, minor), free-threaded, PyPy ABI version)."""
    found = _LABEL.fullmatch(label)
    if found is None:
        raise ValueError(f"not an interpreter spelling: {label!r} (3.12, 3.14t, pypy3.11)")
    impl = "pypy" if found["pypy"] else "cpython"
    return impl, (3, int(found["minor"])), bool(found["t"]), found["pp"] or "73"


def installer_platforms(platform_tag: str) -> list[str]:
    """Platform tags accepted on the oldest system a wheel tagged `platform_tag` runs on."""
    result: list[str] = []
    for written in platform_tag.split("."):
        legacy = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_(\w+)", written)
        tag = f"manylinux_2_{_LEGACY_MANYLINUX[legacy[1]]}_{legacy[2]}" if legacy else written
        glibc = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", tag)
        musl = re.fullmatch(r"musllinux_1_(\d+)_(\w+)", tag)
        mac = re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", tag)
        if glibc:
            minor, arch = int(glibc[1]), glibc[2]
            result += [f"manylinux_2_{m}_{arch}" for m in range(minor, 4, -1)]
            result += [f"{n}_{arch}" for n, m in _LEGACY_MANYLINUX.items() if m <= minor]
            result.append(f"linux_{arch}")
        elif musl:
            minor, arch = int(musl[1]), musl[2]
            result += [f"musllinux_1_{m}_{arch}" for m in range(minor, -1, -1)]
            result.append(f"linux_{arch}")
        elif mac:
            result += list(ptags.mac_platforms((int(mac[1]), int(mac[2])), mac[3]))
        else:
            result.append(tag)
    return list(dict.fromkeys(result))


def installer_options(label: str) -> list[str]:
    """pip's options that describe the interpreter to an installer working on its behalf
    (`pip install --target` from another Python). PyPy needs its ABI spelled out: without
    `--abi` pip would take the ABI of the Python running pip."""
    impl, version, free_threaded, pp = parse_label(label)
    number, nodot = f"{version[0]}.{version[1]}", f"{version[0]}{version[1]}"
    if impl == "pypy":
        return ["--implementation=pp", f"--python-version={number}", f"--abi=pypy{nodot}_pp{pp}"]
    # pip's default ABIs for a CPython version are those of the GIL build
    abi = [f"--abi=cp{nodot}t"] if free_threaded else []
    return ["--implementation=cp", f"--python-version={number}", *abi]


@functools.cache  # the manifest asks for each (interpreter, platform) many times over
def interpreter_tags(label: str, platform_tag: str) -> Mapping[str, int]:
    """Every wheel tag the interpreter accepts on that platform, with its rank: 0 is the
    most preferred."""
    impl, version, free_threaded, pp = parse_label(label)
    platforms = installer_platforms(platform_tag)
    nodot = f"{version[0]}{version[1]}"
    if impl == "pypy":
        found = list(ptags.generic_tags(f"pp{nodot}", [f"pypy{nodot}_pp{pp}"], platforms))
        found += ptags.compatible_tags(version, f"pp{nodot}", platforms)
    else:
        abi = f"cp{nodot}{'t' if free_threaded else ''}"
        found = list(ptags.cpython_tags(version, [abi], platforms))
        found += ptags.compatible_tags(version, f"cp{nodot}", platforms)
    ranks = {tag: rank for rank, tag in enumerate(dict.fromkeys(str(t) for t in found))}
    return MappingProxyType(ranks)  # cached: read-only for every caller


def picks(label: str, platform_tag: str, wheels: Iterable[str]) -> str | None:
    """The wheel (a filename among `wheels`) the interpreter installs, or None."""
    order = interpreter_tags(label, platform_tag)
    best: tuple[int, str] | None = None
    for wheel in wheels:
        ranks = [order[str(t)] for t in parse_wheel_filename(wheel)[3] if str(t) in order]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), wheel)
    return best[1] if best else None


def accepts(label: str, platform_tag: str, wheel: str) -> bool:
    """Whether the interpreter can install the wheel at all (picked or not)."""
    accepted = interpreter_tags(label, platform_tag)
    return any(str(t) in accepted for t in parse_wheel_filename(wheel)[3])
