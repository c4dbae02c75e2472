"""Run the test suite on foreign-architecture Linux wheels without Docker.

A minimal Debian root per architecture (debootstrap --foreign, the downloaded .debs
unpacked on the host because --second-stage cannot run without binfmt_misc) plus
qemu-user-static; the wheel and the suite's pure-Python dependencies are unpacked onto
PYTHONPATH inside the root, and pytest runs through `chroot ROOT qemu-ARCH-static`.
Roots are cached in ~/.cache/game-with-pyo3/qemu/ARCH. Then the seeded results are
compared with the x86_64 wheel's, number for number.

Tests marked `subprocess` start `sys.executable` again, which qemu-user cannot do
without a binfmt_misc registration, so they are deselected here (and said so).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pipeline import ROOT, PipelineError, tool_env

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "game-with-pyo3" / "qemu"
# Debian architecture -> qemu-user name; None: an x86_64 host runs it natively (i386).
QEMU: dict[str, str | None] = {
    "arm64": "aarch64",
    "armhf": "arm",
    "s390x": "s390x",
    "ppc64el": "ppc64le",
    "i386": None,
}
WHEEL_PLATFORM = {
    "arm64": "manylinux2014_aarch64",
    "armhf": "manylinux2014_armv7l",
    "s390x": "manylinux2014_s390x",
    "ppc64el": "manylinux2014_ppc64le",
    "i386": "manylinux2014_i686",
}


def _emulator(arch: str) -> list[str]:
    name = QEMU[arch]
    return [f"/usr/bin/qemu-{name}-static"] if name else []


MIRROR = "http://deb.debian.org/debian"
SEEDED_PROBE = """
import json
from game_with_pyo3 import dnd
a = dnd.Character("A", 40, 15, 13)
b = dnd.Character("B", 35, 12, 16)
stats = dnd.simulate_duel(a, b, trials=3000, seed=2026, threads=2)
print(json.dumps({
    "dice": dnd.roll_dice(64, 2**31 - 1, seed=7),
    "d6": dnd.roll_dice(64, 6, seed=8),
    "notation": dnd.roll("8d12kh5 + 4d6dl1 - 3", seed=9).dice,
    "roller": dnd.Roller(10).roll_dice(32, 1000),
    "duel": [stats.wins_a, stats.wins_b, sorted(stats.rounds.items())],
}))
"""


def _apt_install(*packages: str) -> None:
    if not (shutil.which("apt-get") and os.geteuid() == 0):
        raise PipelineError(f"missing {', '.join(packages)}: install them (Debian/Ubuntu names)")
    # A fresh machine's package lists may be empty or stale: update first.
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, capture_output=True)


def _require_root_tools() -> None:
    if os.geteuid() != 0:
        raise PipelineError("foreign-architecture tests need root (chroot)")
    if not all(shutil.which(tool) for tool in ("debootstrap", "dpkg-deb", "chroot")):
        _apt_install("debootstrap", "qemu-user-static")


def ensure_root(arch: str) -> Path:
    _require_root_tools()
    qemu = Path(_emulator(arch)[0]) if _emulator(arch) else None
    if qemu is not None and not qemu.exists():
        _apt_install("qemu-user-static")
    root = CACHE / arch
    if (root / ".ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"    creating a Debian {arch} root in {root} (once)", flush=True)
    subprocess.run(
        [
            "debootstrap",
            "--foreign",
            f"--arch={arch}",
            "--variant=minbase",
            "--include=python3",
            "bookworm",
            str(root),
            MIRROR,
        ],
        check=True,
        capture_output=True,
    )
    for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):
        with subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE
        ) as unpack:
            subprocess.run(
                ["tar", "--keep-directory-symlink", "-x", "-C", str(root)],
                stdin=unpack.stdout,
                check=True,
            )
    proc = root / "proc"
    if proc.is_symlink():
        proc.unlink()
    proc.mkdir(exist_ok=True)
    if qemu is not None:
        shutil.copy2(qemu, root / "usr/bin" / qemu.name)
    (root / ".ready").write_text("ok")
    return root


def _stage(root: Path, arch: str, wheel: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix="gwp-qemu-", dir=root / "tmp"))
    site = work / "site"
    # Some test dependencies carry native code (hypothesis does), so ask pip for the
    # root's platform and its Python (Debian bookworm: CPython 3.11).
    from test_wheels import test_requirements

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--only-binary=:all:",
            "--platform",
            WHEEL_PLATFORM[arch],
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            "--target",
            str(site),
            *test_requirements(),
        ],
        env=tool_env(),
        check=True,
    )
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    shutil.copytree(ROOT / "tests", work / "tests")
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    return work


def _in_root(root: Path, arch: str, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    inside = f"/{work.relative_to(root)}"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{inside}/site",
        "HOME": inside,
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    return subprocess.run(
        [chroot, str(root), *_emulator(arch), "/usr/bin/python3", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=work,
    )


def host_seeded_results(dist: Path) -> dict[str, object]:
    wheels = sorted(dist.glob("*-cp310-abi3-manylinux*_x86_64.whl"))
    if not wheels:
        raise PipelineError("no x86_64 abi3 wheel to compare seeded results with")
    wheel = wheels[0]
    with tempfile.TemporaryDirectory(prefix="gwp-host-") as tmp:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tmp)
        out = subprocess.run(
            [sys.executable, "-c", SEEDED_PROBE],
            env={"PYTHONPATH": tmp},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def run_wheel_under_qemu(wheel: Path, arch: str, log_dir: Path) -> tuple[str, bool]:
    how = f"qemu {QEMU[arch]}" if QEMU[arch] else f"{arch} root"
    label = f"{how} (Debian python3.11; subprocess tests deselected)"
    root = ensure_root(arch)
    work = _stage(root, arch, wheel)
    try:
        inside = f"/{work.relative_to(root)}"
        suite = _in_root(
            root,
            arch,
            work,
            "-m",
            "pytest",
            "-c",
            f"{inside}/pyproject.toml",
            "--rootdir",
            inside,
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            "not subprocess",
            f"{inside}/tests",
        )
        log = log_dir / f"{wheel.stem}-qemu-{arch}.log"
        log.write_text(suite.stdout + suite.stderr, encoding="utf-8")
        summary = (suite.stdout.strip().splitlines() or [""])[-1]
        print(f"    {wheel.name} in the {arch} root: {summary}", flush=True)
        ok = suite.returncode == 0
        probe = _in_root(root, arch, work, "-c", SEEDED_PROBE)
        foreign = json.loads(probe.stdout) if probe.returncode == 0 else None
        same = foreign == host_seeded_results(wheel.parent)
        print(
            f"    seeded results on {arch} "
            f"{'match x86_64 exactly' if same else 'DIFFER from x86_64'}",
            flush=True,
        )
        if not same:
            log.write_text(log.read_text() + f"\nseeded probe: {probe.stdout}{probe.stderr}")
        return (label + ("" if same else "; seeded results differ"), ok and same)
    finally:
        shutil.rmtree(work, ignore_errors=True)
