"""The inside check of the release gate, fed real wheels and wheels broken from them.

Real wheels: the host row's release wheels (host_wheels: every kind the manifest lists
for linux x86_64) plus, built once per session, a linux aarch64 cp314t wheel and linux
i686, FreeBSD x86_64 and macOS universal2 cp310-abi3 wheels. Windows wheels cannot be
built here (no MSVC), so the PE rule is fed DLLs that zig links for x86_64, x86 and
aarch64 Windows, packed into a real wheel's contents under Windows tags. Nor can iOS and
Android wheels (no Apple SDK, no NDK): zig links iOS, iOS-simulator and macOS dylibs and
Android-like ELF modules (a stub libc.so, the NDK's Android note written by hand), and a
Pyodide module is a few bytes of WebAssembly."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import build
import pipeline
import pytest
import versioning
import wheel_inspect
from conftest import UNOPTIMIZED_RELEASE, rewrite_wheel
from macholib.mach_o import (  # type: ignore[import-untyped]
    CPU_TYPE_NAMES,
    FAT_MAGIC,
    fat_arch,
    fat_header,
)
from macholib.MachO import MachO  # type: ignore[import-untyped]

ABI3_MODULE = "game_with_pyo3/_core.abi3.so"
# Cross builds for the tests: the dev profile without debug info or optimisation, since
# only the binary's format and names matter here, not its speed.
FAST_PROFILE = {"CARGO_PROFILE_DEV_DEBUG": "0"}


@dataclass(frozen=True)
class RealWheels:
    """The host row's release wheels (x86_64) and, for the other rows, wheels built
    with the release's arguments, unoptimized."""

    x86_64: Path  # cp310-abi3
    x86_64_cp314t: Path
    aarch64: Path  # cp314t
    i686: Path
    freebsd: Path
    universal2: Path

    def all(self) -> list[Path]:
        return [
            self.x86_64,
            self.x86_64_cp314t,
            self.aarch64,
            self.i686,
            self.freebsd,
            self.universal2,
        ]


def _maturin(out: Path, rust: str, args: list[str], env: dict[str, str]) -> Path:
    needed = (
        ["x86_64-apple-darwin", "aarch64-apple-darwin"] if rust.startswith("universal2") else [rust]
    )
    for rust_target in needed:
        build.ensure_rust_target(rust_target)
    before = set(out.glob("*.whl"))
    cmd = ["maturin", "build", "--profile", "dev", "--locked", "--out", str(out), "--target", rust]
    result = subprocess.run(
        [*cmd, *args],
        cwd=pipeline.ROOT,
        env=build.own_zig_wrappers(pipeline.tool_env({**FAST_PROFILE, **env})),
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (wheel,) = set(out.glob("*.whl")) - before
    return wheel


FAKE_HOST_PYTHON = """#!{python}
# A free-threaded x86_64 host interpreter as maturin's probe sees it.
import json, os, sys
if len(sys.argv) >= 3 and sys.argv[1] == "-c" and "gil_disabled" in sys.argv[2]:
    print(json.dumps({{"implementation_name": "cpython", "executable": os.path.abspath(__file__),
        "major": 3, "minor": 14, "abiflags": "t", "interpreter": "cpython",
        "ext_suffix": ".cpython-314t-x86_64-linux-gnu.so",
        "soabi": "cpython-314t-x86_64-linux-gnu", "soabi_platform": None,
        "platform": "linux-x86_64", "system": "linux", "pointer_width": 64,
        "gil_disabled": True, "debug": False}}))
    sys.exit(0)
os.execv({python!r}, [{python!r}] + sys.argv[1:])
"""


def free_threaded_aarch64(out: Path) -> Path:
    """The aarch64 cp314t wheel as build.py makes it on a runner that put a
    free-threaded x86_64 `python3.14t` first on PATH: such an interpreter must not leak
    into the cross build (test_a_host_interpreter_on_path_cannot_leak_into_a_cross_build)."""
    fake = out / "bin" / "python3.14t"
    fake.parent.mkdir()
    fake.write_text(FAKE_HOST_PYTHON.format(python=sys.executable))
    fake.chmod(0o755)
    aarch64 = next(t for t in pipeline.load_targets() if t.id == "linux-aarch64")
    report = build.BuildReport(out=out, version=versioning.project_version())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PATH", f"{fake.parent}:{pipeline.tool_env()['PATH']}")
        # Not the rehearsal's target/release-build: this runs beside it (scripts/dev.py).
        env.setenv("CARGO_TARGET_DIR", str(pipeline.ROOT / "target" / "leak-test"))
        for setting, value in UNOPTIMIZED_RELEASE.items():  # the module's name is under test
            env.setenv(setting, value)
        build.build_target(dataclasses.replace(aarch64, abis=("cp314t",)), out, report)
    (wheel,) = report.built
    return out / wheel


@pytest.fixture(scope="session")
def real_wheels(
    tmp_path_factory: pytest.TempPathFactory, host_wheels: Path, host_abi3_wheel: Path
) -> RealWheels:
    out = tmp_path_factory.mktemp("real-wheels")
    rows = {t.id: t for t in pipeline.load_targets()}
    freebsd_version = rows["freebsd-x86_64"].freebsd_release

    def row(target_id: str, abi: str = "abi3", env: dict[str, str] | None = None) -> Path:
        target = rows[target_id]
        args = [*pipeline.WHEEL_KINDS[abi].maturin, *build.compatibility_args(target)]
        return _maturin(out, target.rust, args, env or {})

    return RealWheels(
        x86_64=host_abi3_wheel,
        x86_64_cp314t=next(host_wheels.glob("*-cp314-cp314t-manylinux*_x86_64.whl")),
        aarch64=free_threaded_aarch64(out),
        i686=row("linux-i686"),
        freebsd=row("freebsd-x86_64", env={"MATURIN_FREEBSD_VERSION": freebsd_version}),
        universal2=_maturin(out, "universal2-apple-darwin", ["--zig"], {}),
    )


def module_of(wheel: Path) -> tuple[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if wheel_inspect.is_native(n)]
        return name, archive.read(name)


def retagged(wheel: Path, tag: str) -> str:
    """The wheel's file name with its python-abi-platform tag replaced."""
    name, version = wheel.name.split("-")[:2]
    return f"{name}-{version}-{tag}.whl"


def with_module(
    wheel: Path, tmp_path: Path, data: bytes, *, module: str = ABI3_MODULE, name: str = ""
) -> Path:
    """A copy of a real wheel (renamed to `name`, if given) whose only native module is
    `data`, stored as `module`."""
    old, _ = module_of(wheel)
    return rewrite_wheel(wheel, tmp_path / (name or wheel.name), {old: (module, data)})


# --- the naming table -------------------------------------------------------------

X86_64 = "manylinux2014_x86_64.manylinux_2_17_x86_64"
AARCH64 = "manylinux2014_aarch64.manylinux_2_17_aarch64"
I686 = "manylinux2014_i686.manylinux_2_17_i686"
BSD = "freebsd_14_3_release_amd64"

# What maturin 1.16 wrote into real wheels built on this machine (`maturin build --target
# T [--zig] [-i 3.14t | 3.15 | pypy3.11] [--features ...]`, abi3t with PyO3's
# abi3t-py315, cp315-abi3 with abi3-py315).
BUILT_HERE = [
    (f"cp310-abi3-{X86_64}", "_core.abi3.so"),
    ("cp310-abi3-macosx_10_12_universal2.macosx_10_12_x86_64.macosx_11_0_arm64", "_core.abi3.so"),
    (f"cp310-abi3-{BSD}", "_core.abi3.so"),
    (f"cp314-cp314t-{X86_64}", "_core.cpython-314t-x86_64-linux-gnu.so"),
    (f"cp314-cp314t-{AARCH64}", "_core.cpython-314t-aarch64-linux-gnu.so"),
    (f"cp314-cp314t-{I686}", "_core.cpython-314t-i386-linux-gnu.so"),
    (
        "cp314-cp314t-manylinux2014_armv7l.manylinux_2_17_armv7l",
        "_core.cpython-314t-arm-linux-gnueabihf.so",
    ),
    ("cp314-cp314t-manylinux_2_28_ppc64le", "_core.cpython-314t-powerpc64le-linux-gnu.so"),
    (
        "cp314-cp314t-manylinux2014_s390x.manylinux_2_17_s390x",
        "_core.cpython-314t-s390x-linux-gnu.so",
    ),
    ("cp314-cp314t-manylinux_2_31_riscv64", "_core.cpython-314t-riscv64-linux-gnu.so"),
    ("cp314-cp314t-musllinux_1_2_x86_64", "_core.cpython-314t-x86_64-linux-musl.so"),
    ("cp314-cp314t-macosx_11_0_arm64", "_core.cpython-314t-darwin.so"),
    (f"cp314-cp314t-{BSD}", "_core.cpython-314t.so"),
    (f"cp315-cp315t-{X86_64}", "_core.cpython-315t-x86_64-linux-gnu.so"),
    (f"cp315-abi3.abi3t-{X86_64}", "_core.abi3t-x86_64-linux-gnu.so"),
    (f"cp315-abi3.abi3t-{AARCH64}", "_core.abi3t-aarch64-linux-gnu.so"),
    ("cp315-abi3.abi3t-macosx_11_0_arm64", "_core.abi3t-darwin.so"),
    (f"cp315-abi3.abi3t-{BSD}", "_core.abi3t.so"),
    (f"cp315-abi3-{X86_64}", "_core.abi3-x86_64-linux-gnu.so"),
    ("cp315-abi3-macosx_11_0_arm64", "_core.abi3-darwin.so"),
    (f"pp311-pypy311_pp73-{X86_64}", "_core.pypy311-pp73-x86_64-linux-gnu.so"),
    (f"pp311-pypy311_pp73-{AARCH64}", "_core.pypy311-pp73-aarch64-linux-gnu.so"),
    ("pp311-pypy311_pp73-macosx_11_0_arm64", "_core.pypy311-pp73-darwin.so"),
    # maturin 1.16 with Debian's emcc 6.0.5 in a sid root (MATURIN_PYEMSCRIPTEN_PLATFORM_VERSION)
    ("cp310-abi3-pyemscripten_2026_0_wasm32", "_core.abi3.so"),
    ("cp314-cp314-pyemscripten_2026_0_wasm32", "_core.cpython-314-wasm32-emscripten.so"),
    ("cp313-cp313-pyemscripten_2025_0_wasm32", "_core.cpython-313-wasm32-emscripten.so"),
]
# Not built here: Windows (MSVC is unreachable; maturin --zig for windows-gnu fails to
# link the module), from maturin's source (python_interpreter/config.rs and
# binding_generator/pyo3_binding.rs: no ABI tag in an abi3 or abi3t .pyd); the rest
# follows the rows above with the triplets CPython and PyPy use (PyPy's own for x86).
FROM_SOURCE = [
    ("cp310-abi3-win_amd64", "_core.pyd"),
    ("cp310-abi3-win_arm64", "_core.pyd"),
    ("cp315-abi3.abi3t-win_amd64", "_core.pyd"),
    ("cp314-cp314t-win_amd64", "_core.cp314t-win_amd64.pyd"),
    ("cp314-cp314t-win32", "_core.cp314t-win32.pyd"),
    ("cp314-cp314t-win_arm64", "_core.cp314t-win_arm64.pyd"),
    ("pp311-pypy311_pp73-win_amd64", "_core.pypy311-pp73-win_amd64.pyd"),
    # CPython's SOABI_PLATFORM (configure.ac, Misc/platform_triplet.c): iphoneos or
    # iphonesimulator; aarch64-linux-android, x86_64-linux-android
    ("cp314-cp314-ios_13_0_arm64_iphoneos", "_core.cpython-314-iphoneos.so"),
    ("cp314-cp314-ios_13_0_x86_64_iphonesimulator", "_core.cpython-314-iphonesimulator.so"),
    ("cp310-abi3-ios_13_0_arm64_iphonesimulator", "_core.abi3.so"),
    ("cp315-abi3-ios_13_0_arm64_iphoneos", "_core.abi3-iphoneos.so"),
    ("cp314-cp314-android_24_arm64_v8a", "_core.cpython-314-aarch64-linux-android.so"),
    ("cp314-cp314-android_24_x86_64", "_core.cpython-314-x86_64-linux-android.so"),
    ("cp310-abi3-android_24_arm64_v8a", "_core.abi3.so"),
    ("cp315-abi3-android_24_x86_64", "_core.abi3-x86_64-linux-android.so"),
    ("cp314-cp314t-musllinux_1_2_aarch64", "_core.cpython-314t-aarch64-linux-musl.so"),
    ("cp314-cp314t-macosx_10_12_universal2", "_core.cpython-314t-darwin.so"),
    ("cp315-abi3-musllinux_1_2_aarch64", "_core.abi3-aarch64-linux-musl.so"),
    (f"cp315-abi3-{BSD}", "_core.abi3.so"),
    (f"pp311-pypy311_pp73-{I686}", "_core.pypy311-pp73-x86-linux-gnu.so"),
]
NAMES = BUILT_HERE + FROM_SOURCE


@pytest.mark.parametrize(("tag", "module"), NAMES)
def test_module_name_rule(tag: str, module: str) -> None:
    assert wheel_inspect.expected_module(f"g-1.0-{tag}.whl") == f"game_with_pyo3/{module}"


# the manifest's os is sys.platform's spelling
OS_NAMES = {"linux": "linux", "darwin": "macos", "win32": "windows", "freebsd": "freebsd"} | {
    "ios": "ios", "android": "android", "emscripten": "pyodide"}  # fmt: skip
LIBCS = {"glibc": "gnu", "musl": "musl", "": ""}


@pytest.mark.parametrize("target", pipeline.load_targets(), ids=lambda t: t.id)
def test_every_manifest_wheel_has_a_rule_that_agrees_with_its_row(
    target: pipeline.Target,
) -> None:
    """The manifest's OS, bits and libc of a row are what the tag table reads from its
    platform tag, and every wheel the row ships has a module name rule."""
    platform = wheel_inspect.parse_platform(target.platform.split(".")[-1])
    assert platform.os == OS_NAMES[target.os]
    if platform.os not in ("ios", "pyodide"):  # theirs is the SDK or ABI, no C library
        assert platform.libc == LIBCS[target.libc]
    assert {a.bits for a in platform.arches} == {target.bits}
    for tag in target.wheel_tags():
        module = wheel_inspect.expected_module(pipeline.wheel_name("1.0", tag))
        assert module.startswith("game_with_pyo3/_core.")


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("cp310-abi3-linux_mips64", "no known linux architecture 'mips64'"),
        ("cp310-abi3-any", "is not one of linux"),
        ("py3-none-manylinux_2_17_x86_64", "tags py3-none: no rule"),
        ("cp310-abi3-manylinux_2_17_x86_64.macosx_11_0_arm64", "name different platforms"),
        ("cp314-cp314t-freebsd_14_3_release_arm", "no known freebsd architecture 'arm'"),
        ("cp310-abi3-ios_13_0_x86_64_iphoneos", "is not one of linux"),
        ("cp310-abi3-android_24_x86", "no known android architecture 'x86'"),
        ("cp315-cp315-pyemscripten_2027_0_wasm32", "no known Pyodide ABI 2027_0"),
        (
            "cp314-cp314t-pyemscripten_2026_0_wasm32",
            "tags cp314-cp314t: pyemscripten_2026_0_wasm32 is the ABI of Pyodide's CPython "
            "3.14, which installs no such wheel",
        ),
    ],
)
def test_tags_without_a_rule_are_refused(tag: str, reason: str, tmp_path: Path) -> None:
    wheel = tmp_path / f"game_with_pyo3-1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(ABI3_MODULE, b"")
    (problem,) = wheel_inspect.inspect_wheel(wheel)
    assert problem.startswith(f"{wheel.name}: ")
    assert reason in problem


# --- real wheels, good and broken --------------------------------------------------


@pytest.mark.slow
def test_every_real_wheel_passes(real_wheels: RealWheels) -> None:
    for wheel in real_wheels.all():
        assert wheel_inspect.inspect_wheel(wheel) == [], wheel.name
    assert module_of(real_wheels.universal2)[0] == ABI3_MODULE
    assert module_of(real_wheels.freebsd)[0] == ABI3_MODULE


@pytest.mark.slow
def test_a_host_interpreter_on_path_cannot_leak_into_a_cross_build(
    real_wheels: RealWheels,
) -> None:
    """With a free-threaded x86_64 `python3.14t` first on PATH (as on a runner that set
    one up), the aarch64 cp314t wheel still carries an aarch64 free-threaded module."""
    assert module_of(real_wheels.aarch64)[0] == (
        "game_with_pyo3/_core.cpython-314t-aarch64-linux-gnu.so"
    )


@pytest.mark.slow
def test_module_renamed_to_another_arch_is_refused(real_wheels: RealWheels, tmp_path: Path) -> None:
    wheel = real_wheels.x86_64_cp314t
    wrong = "game_with_pyo3/_core.cpython-314t-aarch64-linux-gnu.so"
    broken = with_module(wheel, tmp_path, module_of(wheel)[1], module=wrong)
    assert wheel_inspect.inspect_wheel(broken) == [
        f"{broken.name}: carries {wrong}; its tags (cp314-cp314t on linux x86_64) call for "
        "game_with_pyo3/_core.cpython-314t-x86_64-linux-gnu.so"
    ]


@pytest.mark.slow
def test_free_threaded_module_in_an_abi3_wheel_is_refused(
    real_wheels: RealWheels, tmp_path: Path
) -> None:
    # the real cp314t module, name and all, inside the abi3 wheel: a sound x86_64
    # binary that no GIL interpreter would ever import
    ft_name, ft_data = module_of(real_wheels.x86_64_cp314t)
    broken = with_module(real_wheels.x86_64, tmp_path, ft_data, module=ft_name)
    assert wheel_inspect.inspect_wheel(broken) == [
        f"{broken.name}: carries {ft_name}; "
        f"its tags (cp310-abi3 on linux x86_64) call for {ABI3_MODULE}"
    ]


@pytest.mark.slow
def test_aarch64_binary_in_an_x86_64_wheel_is_refused(
    real_wheels: RealWheels, tmp_path: Path
) -> None:
    broken = with_module(real_wheels.x86_64, tmp_path, module_of(real_wheels.aarch64)[1])
    assert wheel_inspect.inspect_wheel(broken) == [
        f"{broken.name}: {ABI3_MODULE} is ELF aarch64 (EM_AARCH64), "
        "the tag linux x86_64 needs x86_64 (EM_X86_64)"
    ]


@pytest.mark.slow
def test_32_bit_binary_in_a_64_bit_wheel_is_refused(
    real_wheels: RealWheels, tmp_path: Path
) -> None:
    broken = with_module(real_wheels.x86_64, tmp_path, module_of(real_wheels.i686)[1])
    assert wheel_inspect.inspect_wheel(broken) == [
        f"{broken.name}: {ABI3_MODULE} is ELF i686 (EM_386), "
        "the tag linux x86_64 needs x86_64 (EM_X86_64)",
        f"{broken.name}: {ABI3_MODULE} is 32-bit code, x86_64 is 64-bit",
    ]
    # and the other way round: the x86_64 module under the i686 wheel's tags
    swapped = with_module(real_wheels.i686, tmp_path, module_of(real_wheels.x86_64)[1])
    assert wheel_inspect.inspect_wheel(swapped) == [
        f"{swapped.name}: {ABI3_MODULE} is ELF x86_64 (EM_X86_64), "
        "the tag linux i686 needs i686 (EM_386)",
        f"{swapped.name}: {ABI3_MODULE} is 64-bit code, i686 is 32-bit",
    ]


@pytest.mark.slow
def test_linux_and_freebsd_modules_do_not_pass_for_each_other(
    real_wheels: RealWheels, tmp_path: Path
) -> None:
    """Same machine, same ELF header (lld leaves FreeBSD modules ELFOSABI_SYSV too): the
    C library each links is what tells them apart."""
    _, linux = module_of(real_wheels.x86_64)
    _, freebsd = module_of(real_wheels.freebsd)
    broken = with_module(real_wheels.freebsd, tmp_path, linux)
    assert wheel_inspect.inspect_wheel(broken) == [
        f"{broken.name}: {ABI3_MODULE} links libc.so.6, the C library of linux gnu, not of freebsd"
    ]
    swapped = with_module(real_wheels.x86_64, tmp_path, freebsd)
    assert wheel_inspect.inspect_wheel(swapped) == [
        f"{swapped.name}: {ABI3_MODULE} links libc.so.7, the C library of freebsd, not of linux gnu"
    ]


# --- Mach-O --------------------------------------------------------------------------


def thin_slices(fat: bytes, tmp_path: Path) -> dict[str, bytes]:
    """The halves of a fat Mach-O file, by macholib's CPU type name."""
    path = tmp_path / "fat.so"
    path.write_bytes(fat)
    macho = MachO(str(path), allow_unknown_load_commands=True)
    assert macho.fat is not None
    halves = {}
    for header in macho.headers:
        name = CPU_TYPE_NAMES[int(header.header.cputype)]
        halves[str(name)] = fat[int(header.offset) : int(header.offset) + int(header.size)]
    return halves


def fat_file(halves: list[bytes], tmp_path: Path) -> bytes:
    """A fat Mach-O file of thin ones, headers written by macholib's own structures."""
    align = 14  # 16 KiB, the arm64 page size, as lipo aligns
    offset = 1 << align
    arches: list[bytes] = []
    body = b""
    for index, half in enumerate(halves):
        path = tmp_path / f"thin{index}"
        path.write_bytes(half)
        (header,) = MachO(str(path), allow_unknown_load_commands=True).headers
        arches.append(
            bytes(
                fat_arch(
                    cputype=header.header.cputype,
                    cpusubtype=header.header.cpusubtype,
                    offset=offset + len(body),
                    size=len(half),
                    align=align,
                ).to_str()
            )
        )
        body += half + b"\0" * (-len(half) % (1 << align))
    head = bytes(fat_header(magic=FAT_MAGIC, nfat_arch=len(halves)).to_str()) + b"".join(arches)
    return head + b"\0" * (offset - len(head)) + body


@pytest.mark.slow
def test_universal2_missing_a_half_is_refused(real_wheels: RealWheels, tmp_path: Path) -> None:
    wheel = real_wheels.universal2
    _, fat = module_of(wheel)
    halves = thin_slices(fat, tmp_path)
    assert sorted(halves) == ["ARM64", "x86_64"]

    def inside(module: bytes, name: str = "") -> list[str]:
        return wheel_inspect.inspect_wheel(with_module(wheel, tmp_path, module, name=name))

    # the fat file rebuilt from its own halves is as good as the one maturin wrote
    assert inside(fat_file([halves["x86_64"], halves["ARM64"]], tmp_path)) == []
    needs = "the tag macos x86_64+aarch64 needs aarch64 (ARM64) + x86_64 (x86_64)"
    assert inside(fat_file([halves["ARM64"]], tmp_path)) == [
        f"{wheel.name}: {ABI3_MODULE} is a fat Mach-O aarch64 (ARM64), {needs}"
    ]
    assert inside(halves["x86_64"]) == [
        f"{wheel.name}: {ABI3_MODULE} is a thin Mach-O x86_64 (x86_64), {needs}"
    ]
    # thin tags: the right half passes, the other half is refused
    arm64 = retagged(wheel, "cp310-abi3-macosx_11_0_arm64")
    assert inside(halves["ARM64"], arm64) == []
    assert inside(halves["x86_64"], arm64) == [
        f"{arm64}: {ABI3_MODULE} is a thin Mach-O x86_64 (x86_64), "
        "the tag macos aarch64 needs aarch64 (ARM64)"
    ]


# --- PE --------------------------------------------------------------------------------

ZIG_WINDOWS = {
    "x86_64": "x86_64-windows-gnu",
    "i686": "x86-windows-gnu",
    "aarch64": "aarch64-windows-gnu",
}


@pytest.fixture(scope="session")
def windows_dlls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real PE DLLs for each Windows architecture, linked by zig (MSVC is out of reach)."""
    work = tmp_path_factory.mktemp("dlls")
    source = work / "answer.c"
    # Its own entry point and -nostdlib: no MinGW runtime for zig to build first, which
    # takes minutes per architecture; the PE headers are those of any DLL.
    source.write_text(
        "int gwp_answer(void) { return 42; }\n"
        "int __stdcall DllMainCRTStartup(void *dll, unsigned reason, void *reserved)"
        " { return 1; }\n",
        encoding="utf-8",
    )
    dlls = {}
    for arch, target in ZIG_WINDOWS.items():
        out = work / f"{arch}.dll"
        zig = [sys.executable, "-m", "ziglang", "cc", "-target", target, "-shared", "-nostdlib"]
        subprocess.run(
            [*zig, str(source), "-o", str(out)],
            check=True,
            capture_output=True,
            cwd=work,
            timeout=600,
        )
        dlls[arch] = out.read_bytes()
    return dlls


@pytest.mark.slow
@pytest.mark.parametrize(
    ("platform", "dll", "problems"),
    [
        ("win_amd64", "x86_64", []),
        ("win32", "i686", []),
        ("win_arm64", "aarch64", []),
        (
            "win_amd64",
            "aarch64",
            ["is PE aarch64 (IMAGE_FILE_MACHINE_ARM64), the tag windows x86_64 needs "
             "x86_64 (IMAGE_FILE_MACHINE_AMD64)"],
        ),
        (
            "win_amd64",
            "i686",
            ["is PE i686 (IMAGE_FILE_MACHINE_I386), the tag windows x86_64 needs "
             "x86_64 (IMAGE_FILE_MACHINE_AMD64)",
             "is 32-bit code, x86_64 is 64-bit"],
        ),
        (
            "win32",
            "x86_64",
            ["is PE x86_64 (IMAGE_FILE_MACHINE_AMD64), the tag windows i686 needs "
             "i686 (IMAGE_FILE_MACHINE_I386)",
             "is 64-bit code, i686 is 32-bit"],
        ),
    ],
)  # fmt: skip
def test_pe_machine_rule(
    real_wheels: RealWheels,
    windows_dlls: dict[str, bytes],
    tmp_path: Path,
    *,
    platform: str,
    dll: str,
    problems: list[str],
) -> None:
    """A real wheel's contents under Windows tags, its module replaced by a zig DLL."""
    name = retagged(real_wheels.x86_64, f"cp310-abi3-{platform}")
    module = "game_with_pyo3/_core.pyd"
    wheel = with_module(real_wheels.x86_64, tmp_path, windows_dlls[dll], module=module, name=name)
    assert wheel_inspect.inspect_wheel(wheel) == [f"{name}: {module} {p}" for p in problems]


@pytest.mark.slow
def test_elf_module_in_a_windows_wheel_is_refused(
    real_wheels: RealWheels, windows_dlls: dict[str, bytes], tmp_path: Path
) -> None:
    _, elf = module_of(real_wheels.x86_64_cp314t)
    name = retagged(real_wheels.x86_64_cp314t, "cp314-cp314t-win_amd64")
    module = "game_with_pyo3/_core.cp314t-win_amd64.pyd"
    wheel = with_module(real_wheels.x86_64_cp314t, tmp_path, elf, module=module, name=name)
    assert wheel_inspect.inspect_wheel(wheel) == [
        f"{name}: {module} is ELF, a windows wheel needs PE"
    ]
    # and a DLL in a Linux wheel, the other way round
    linux = with_module(real_wheels.x86_64, tmp_path, windows_dlls["x86_64"])
    assert wheel_inspect.inspect_wheel(linux) == [
        f"{linux.name}: {ABI3_MODULE} is PE, a linux wheel needs ELF"
    ]


@pytest.mark.slow
def test_a_module_that_is_no_binary_is_refused(real_wheels: RealWheels, tmp_path: Path) -> None:
    broken = with_module(real_wheels.x86_64, tmp_path, b"#!/bin/sh\necho not a library\n")
    assert wheel_inspect.inspect_wheel(broken) == [
        f"{broken.name}: {ABI3_MODULE} is no binary that pyelftools, pefile or macholib "
        "can read (ELF)"
    ]


def test_a_truncated_pe_module_is_refused(tmp_path: Path) -> None:
    """A DOS header alone: pefile refuses it, so the module is no binary at all."""
    wheel = tmp_path / "game_with_pyo3-1.0-cp310-abi3-win_amd64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("game_with_pyo3/_core.pyd", b"MZ but not really")
    assert wheel_inspect.inspect_wheel(wheel) == [
        f"{wheel.name}: game_with_pyo3/_core.pyd is no binary that pyelftools, pefile or "
        "macholib can read (PE)"
    ]


# --- iOS, Android and Pyodide: crafted binaries in bare wheels -------------------------


def bare_wheel(tmp_path: Path, tag: str, module: str, data: bytes) -> Path:
    """A wheel of one member, the module: all that inspect_wheel reads."""
    wheel = tmp_path / f"game_with_pyo3-1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"game_with_pyo3/{module}", data)
    return wheel


# zig's targets for the binaries: (target, Android API level in the note or None)
ZIG_FOREIGN = {
    "ios": ("aarch64-ios.13.0", None),
    "ios 15": ("aarch64-ios.15.0", None),
    "ios simulator": ("aarch64-ios.13.0-simulator", None),
    "ios simulator x86_64": ("x86_64-ios.13.0-simulator", None),
    "macos": ("aarch64-macos.11.0", None),
    "android": ("aarch64-linux-android", 24),
    "android x86_64": ("x86_64-linux-android", 24),
    "android x86_64 api 28": ("x86_64-linux-android", 28),
    "glibc x86_64": ("x86_64-linux-gnu", None),
}
# The note bionic's crtbrand.S links into every library the NDK links: namesz, descsz,
# type, "Android", then the API level and the NDK's version.
ANDROID_NOTE = """
__attribute__((section(".note.android.ident"), used, aligned(4)))
static const struct { unsigned namesz, descsz, type; char name[8]; unsigned api; char ndk[84]; }
    note = {8, 88, 1, "Android", API, "r28"};
"""


@pytest.fixture(scope="session")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Shared libraries by zig, without any C runtime (-nostdlib): the Mach-O ones carry
    LC_BUILD_VERSION as Apple's linker writes it; each ELF one links a stub C library
    named as the OS's is (libc.so, libc.so.6)."""
    work = tmp_path_factory.mktemp("foreign")
    zig = [sys.executable, "-m", "ziglang", "cc", "-shared", "-nostdlib"]
    built = {}
    for index, (name, (target, api)) in enumerate(ZIG_FOREIGN.items()):
        source, out, stub = (work / f"{index}{suffix}" for suffix in (".c", ".so", "-libc.c"))
        note = ANDROID_NOTE.replace("API", str(api)) if api else ""
        if "linux" not in target:
            source.write_text("int PyInit__core(void) { return 42; }\n" + note)
            subprocess.run([*zig, "-target", target, str(source), "-o", str(out)], check=True)
            built[name] = out.read_bytes()
            continue
        # an ELF module calls into the C library, linked by the name it has on that OS
        source.write_text(
            'int puts(const char *s);\nint PyInit__core(void) { return puts("42"); }\n' + note
        )
        stub.write_text("int puts(const char *s) { return 0; }\n")
        soname = "libc.so.6" if target.endswith("gnu") else "libc.so"
        libc = work / f"{index}-{soname}"
        cmd = [*zig, "-target", target, f"-Wl,-soname,{soname}", str(stub), "-o", str(libc)]
        subprocess.run(cmd, check=True)
        cmd = [*zig, "-target", target, "-Wl,--no-gc-sections", str(source), str(libc)]
        subprocess.run([*cmd, "-o", str(out)], check=True)
        built[name] = out.read_bytes()
    return built


IOS = "ios_13_0_arm64_iphoneos"
SIMULATOR = "ios_13_0_arm64_iphonesimulator"


@pytest.mark.parametrize(
    ("platform", "binary", "problems"),
    [
        (IOS, "ios", []),
        (SIMULATOR, "ios simulator", []),
        ("ios_13_0_x86_64_iphonesimulator", "ios simulator x86_64", []),
        ("ios_15_0_arm64_iphoneos", "ios 15", []),
        ("macosx_11_0_arm64", "macos", []),
        (
            IOS,
            "macos",
            ["says macOS in its LC_BUILD_VERSION, where ios aarch64 iphoneos binaries say iOS"],
        ),
        (
            IOS,
            "ios simulator",
            ["says iOS simulator in its LC_BUILD_VERSION, where ios aarch64 iphoneos "
             "binaries say iOS"],
        ),
        (
            SIMULATOR,
            "ios",
            ["says iOS in its LC_BUILD_VERSION, where ios aarch64 iphonesimulator binaries "
             "say iOS simulator"],
        ),
        (
            "macosx_11_0_arm64",
            "ios",
            ["says iOS in its LC_BUILD_VERSION, where macos aarch64 binaries say macOS"],
        ),
        (IOS, "ios 15", ["needs iOS 15.0, newer than its tag's 13.0 (LC_BUILD_VERSION)"]),
        (
            "ios_13_0_x86_64_iphonesimulator",
            "ios simulator",
            ["is a thin Mach-O aarch64 (ARM64), the tag ios x86_64 iphonesimulator needs "
             "x86_64 (x86_64)"],
        ),
        (
            IOS,
            "android",
            ["is ELF, a ios wheel needs Mach-O"],
        ),
    ],
)  # fmt: skip
def test_ios_mach_o_rule(
    foreign: dict[str, bytes], tmp_path: Path, *, platform: str, binary: str, problems: list[str]
) -> None:
    """A Mach-O names its OS in LC_BUILD_VERSION: macOS, iOS or the iOS simulator, each
    with its oldest version; the same arm64 code is no use on the others."""
    wheel = bare_wheel(tmp_path, f"cp310-abi3-{platform}", "_core.abi3.so", foreign[binary])
    member = "game_with_pyo3/_core.abi3.so"
    assert wheel_inspect.inspect_wheel(wheel) == [f"{wheel.name}: {member} {p}" for p in problems]


ANDROID = "android_24_arm64_v8a"
ANDROID_X86_64 = "android_24_x86_64"


@pytest.mark.parametrize(
    ("platform", "binary", "problems"),
    [
        (ANDROID, "android", []),
        (ANDROID_X86_64, "android x86_64", []),
        ("android_28_x86_64", "android x86_64 api 28", []),
        (
            ANDROID_X86_64,
            "glibc x86_64",
            ["links libc.so.6, the C library of linux gnu, not of android",
             "has no .note.android.ident, where android x86_64 binaries say Android"],
        ),
        (
            ANDROID,
            "android x86_64",
            ["is ELF x86_64 (EM_X86_64), the tag android aarch64 needs aarch64 (EM_AARCH64)"],
        ),
        (
            ANDROID_X86_64,
            "android x86_64 api 28",
            ["needs Android 28, newer than its tag's 24 (.note.android.ident)"],
        ),
        # bionic and zig's musl are both libc.so: the note tells them apart
        (
            "musllinux_1_2_x86_64",
            "android x86_64",
            ["says Android in its .note.android.ident, where linux x86_64 binaries have none"],
        ),
        (
            "manylinux_2_17_x86_64",
            "android x86_64",
            ["links libc.so, the C library of linux musl or android, not of linux gnu",
             "says Android in its .note.android.ident, where linux x86_64 binaries have none"],
        ),
        (ANDROID, "ios", ["is Mach-O, a android wheel needs ELF"]),
    ],
)  # fmt: skip
def test_android_elf_rule(
    foreign: dict[str, bytes], tmp_path: Path, *, platform: str, binary: str, problems: list[str]
) -> None:
    wheel = bare_wheel(tmp_path, f"cp310-abi3-{platform}", "_core.abi3.so", foreign[binary])
    member = "game_with_pyo3/_core.abi3.so"
    assert wheel_inspect.inspect_wheel(wheel) == [f"{wheel.name}: {member} {p}" for p in problems]


def wasm_module(*, side: bool) -> bytes:
    """A WebAssembly module of one empty type section; with `side`, first the custom
    section dylink.0 that makes it an Emscripten side module (one mem_info subsection:
    memory and table sizes and alignments, all 0)."""
    dylink = b"\x08dylink.0" + b"\x01\x04\x00\x00\x00\x00"
    return b"\0asm\1\0\0\0" + (b"\x00" + bytes([len(dylink)]) + dylink) * side + b"\x01\x01\x00"


PY313 = "cp313-cp313-pyemscripten_2025_0_wasm32"
PY314 = "cp314-cp314-pyemscripten_2026_0_wasm32"
MODULE_313 = "_core.cpython-313-wasm32-emscripten.so"
MODULE_314 = "_core.cpython-314-wasm32-emscripten.so"


def test_pyodide_modules_are_side_modules_of_their_abi(tmp_path: Path) -> None:
    side = wasm_module(side=True)
    for tag, module in [
        (PY313, MODULE_313),
        (PY314, MODULE_314),
        ("cp310-abi3-pyemscripten_2026_0_wasm32", "_core.abi3.so"),
        ("cp310-abi3-pyemscripten_2025_0_wasm32", "_core.abi3.so"),
    ]:
        assert wheel_inspect.inspect_wheel(bare_wheel(tmp_path, tag, module, side)) == [], tag

    # the 3.13 module in the wheel of Pyodide's 3.14: named for the other CPython
    wrong = bare_wheel(tmp_path, PY314, MODULE_313, side)
    assert wheel_inspect.inspect_wheel(wrong) == [
        f"{wrong.name}: carries game_with_pyo3/{MODULE_313}; its tags (cp314-cp314 on pyodide "
        f"wasm32 2026_0) call for game_with_pyo3/{MODULE_314}"
    ]
    # the 3.13 wheel's tags moved to the other ABI, module and all
    moved = bare_wheel(tmp_path, "cp313-cp313-pyemscripten_2026_0_wasm32", MODULE_313, side)
    assert wheel_inspect.inspect_wheel(moved) == [
        f"{moved.name}: tags cp313-cp313: pyemscripten_2026_0_wasm32 is the ABI of Pyodide's "
        "CPython 3.14, which installs no such wheel"
    ]
    # a WebAssembly module that is no side module: Pyodide's dlopen cannot load it
    main = bare_wheel(tmp_path, PY314, MODULE_314, wasm_module(side=False))
    assert wheel_inspect.inspect_wheel(main) == [
        f"{main.name}: game_with_pyo3/{MODULE_314} is not a shared library "
        "(WebAssembly wasm32, no dylink.0 section first)"
    ]


def test_pyodide_and_elf_modules_do_not_pass_for_each_other(
    foreign: dict[str, bytes], tmp_path: Path
) -> None:
    elf = bare_wheel(tmp_path, PY314, MODULE_314, foreign["glibc x86_64"])
    assert wheel_inspect.inspect_wheel(elf) == [
        f"{elf.name}: game_with_pyo3/{MODULE_314} is ELF, a pyodide wheel needs WebAssembly"
    ]
    linux = bare_wheel(tmp_path, "cp310-abi3-manylinux_2_17_x86_64", "_core.abi3.so", b"")
    with zipfile.ZipFile(linux, "w") as archive:
        archive.writestr(ABI3_MODULE, wasm_module(side=True))
    assert wheel_inspect.inspect_wheel(linux) == [
        f"{linux.name}: {ABI3_MODULE} is WebAssembly, a linux wheel needs ELF"
    ]
