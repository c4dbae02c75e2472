"""Run the test suite on foreign-architecture Linux wheels without Docker.

A minimal Debian root per architecture (debootstrap --foreign, the downloaded .debs
unpacked on the host because --second-stage cannot run without binfmt_misc) plus
qemu-user-static; the wheel and the suite's pinned dependency wheels are unpacked onto
PYTHONPATH inside the root, and pytest runs through `chroot ROOT qemu-ARCH-static`.
Roots are cached in ~/.cache/game-with-pyo3/qemu/ARCH. Making a root and entering it
need root: as a normal user (GitHub's runners) this goes through password-less sudo.
Then the seeded results are compared with the x86_64 wheel's, number for number.

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

import tags
import testdeps
from pipeline import ROOT, PipelineError, Target, tool_env

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "game-with-pyo3" / "qemu"
DEBIAN_SUITE = "bookworm"
DEBIAN_PYTHON = "3.11"  # bookworm's python3


def privileged(cmd: list[str]) -> list[str]:
    """`cmd` as root: directly when we are root, else through password-less sudo (as on
    GitHub's runners). Debian roots need root for chroot and for unpacking packages."""
    if os.geteuid() == 0:
        return cmd
    sudo = shutil.which("sudo")
    if sudo:
        probe = subprocess.run([sudo, "-n", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [sudo, "-n", *cmd]
    raise PipelineError(
        "foreign-architecture tests need root for chroot: run as root or with password-less sudo"
    )


def have_privileges() -> bool:
    try:
        privileged(["true"])
    except PipelineError:
        return False
    return True


def _emulator(target: Target) -> list[str]:
    return [f"/usr/bin/qemu-{target.qemu_user}-static"] if target.qemu_user else []


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
    if not shutil.which("apt-get"):
        raise PipelineError(f"missing {', '.join(packages)}: install them (Debian/Ubuntu names)")
    # A fresh machine's package lists may be empty or stale: update first.
    subprocess.run(privileged(["apt-get", "update", "-qq"]), check=True, capture_output=True)
    subprocess.run(
        privileged(["apt-get", "install", "-y", "-qq", *packages]),
        check=True,
        capture_output=True,
    )


def ensure_root(target: Target) -> Path:
    """The row's Debian root, made once and cached; made as root (directly or by
    running this module again through sudo)."""
    if target.qemu is None:
        raise PipelineError(f"{target.id} has no Debian architecture (qemu) in the manifest")
    root = CACHE / target.qemu
    if (root / ".ready").exists():
        return root
    if not all(shutil.which(tool) for tool in ("debootstrap", "dpkg-deb")):
        _apt_install("debootstrap", "qemu-user-static")
    qemu = _emulator(target)
    if qemu and not Path(qemu[0]).exists():
        _apt_install("qemu-user-static")
    print(f"    creating a Debian {target.qemu} root in {root} (once)", flush=True)
    cmd = [sys.executable, __file__, "make-root", target.qemu, str(root), *qemu]
    subprocess.run(privileged(cmd), check=True)
    return root


def make_root(arch: str, root: Path, qemu: str | None) -> None:
    """As root: debootstrap --foreign, then unpack the .debs on the host (the second
    stage cannot run without binfmt_misc) and add the emulator."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    subprocess.run(
        [
            "debootstrap",
            "--foreign",
            f"--arch={arch}",
            "--variant=minbase",
            "--include=python3",
            DEBIAN_SUITE,
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
    (root / "tmp").chmod(0o1777)
    if qemu is not None:
        shutil.copy2(qemu, root / "usr/bin" / Path(qemu).name)
    (root / ".ready").write_text("ok")


def _stage(root: Path, target: Target, wheel: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix="gwp-qemu-", dir=root / "tmp"))
    work.chmod(0o755)
    site = work / "site"
    # The same pinned, hash-checked wheels a CI cell of this row installs, for the
    # root's Python (Debian's python3), fetched for the root's platform.
    needs = testdeps.requirements(testdeps.Cell(target, DEBIAN_PYTHON))
    for reason in needs.skipped:
        print(f"    {wheel.name} in the {target.qemu} root: {reason}; its tests skip")
    reqs = work / "requirements.txt"
    reqs.write_text(needs.requirements_text(), encoding="utf-8")
    platforms = tags.installer_platforms(target.platform)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--no-deps",
            "--require-hashes",
            *(f"--platform={p}" for p in platforms),
            f"--python-version={DEBIAN_PYTHON}",
            "--implementation=cp",
            "--target",
            str(site),
            "-r",
            str(reqs),
        ],
        env=tool_env(),
        check=True,
    )
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    shutil.copytree(ROOT / "tests", work / "tests")
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    return work


def _in_root(
    root: Path, target: Target, work: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    inside = f"/{work.relative_to(root)}"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{inside}/site",
        "HOME": inside,
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), chroot, str(root)]
    return subprocess.run(
        privileged([*cmd, *_emulator(target), "/usr/bin/python3", *args]),
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


def run_wheel_under_qemu(wheel: Path, target: Target, log_dir: Path) -> tuple[str, bool]:
    how = f"qemu {target.qemu_user}" if target.qemu_user else f"{target.qemu} root"
    label = f"{how} (Debian python{DEBIAN_PYTHON}; subprocess tests deselected)"
    root = ensure_root(target)
    work = _stage(root, target, wheel)
    try:
        inside = f"/{work.relative_to(root)}"
        suite = _in_root(
            root,
            target,
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
        log = log_dir / f"{wheel.stem}-qemu-{target.qemu}.log"
        log.write_text(suite.stdout + suite.stderr, encoding="utf-8")
        summary = (suite.stdout.strip().splitlines() or [""])[-1]
        print(f"    {wheel.name} in the {target.qemu} root: {summary}", flush=True)
        ok = suite.returncode == 0
        probe = _in_root(root, target, work, "-c", SEEDED_PROBE)
        foreign = json.loads(probe.stdout) if probe.returncode == 0 else None
        same = foreign == host_seeded_results(wheel.parent)
        print(
            f"    seeded results on {target.qemu} "
            f"{'match x86_64 exactly' if same else 'DIFFER from x86_64'}",
            flush=True,
        )
        if not same:
            log.write_text(log.read_text() + f"\nseeded probe: {probe.stdout}{probe.stderr}")
        return (label + ("" if same else "; seeded results differ"), ok and same)
    finally:
        subprocess.run(privileged(["rm", "-rf", str(work)]), check=False)


if __name__ == "__main__":
    # Run through sudo by ensure_root: make-root ARCH ROOT [QEMU]
    if len(sys.argv) >= 4 and sys.argv[1] == "make-root":
        make_root(sys.argv[2], Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        sys.exit("usage: qemu_root.py make-root ARCH ROOT [QEMU]")
