"""Run the test suite on Debian's interpreters without Docker: native x86_64 roots for
interpreters this machine lacks (the manifest's [[debian_root]] rows: sid's CPython
3.13, 3.14 and 3.15; trixie's PyPy 3.11, 7.3.19, ABI pp73, which runs the pypy311
wheel), and foreign-architecture roots under qemu-user.

Interpreters are spelled as the manifest spells them (scripts/tags.py): "3.13" is
Debian's package python3.13 (/usr/bin/python3.13), "pypy3.11" its package pypy3
(/usr/bin/pypy3.11). Debian's pypy3 is whichever PyPy the suite has (sid's is PyPy 8,
ABI pp80, spelled "pypy3.11-pp80"), so every run first asks the root's interpreter what
it is and refuses one whose ABI is not the one the manifest names.

A minimal Debian root per (suite, architecture), made by mmdebstrap (`ensure_root`) and
cached in ~/.cache/game-with-pyo3/debian/SUITE-ARCH. Making and entering a root needs
root: as a normal user this goes through password-less sudo (scripts/dev.py as_root).

Each run is a fresh venv inside the root (`python3.X -m venv --without-pip`, `pypy3.11
-m venv --without-pip` alike) into which the host's pip installs the wheel and the
cell's pinned, hash-checked test dependencies for the root's platform and interpreter
(scripts/testdeps.py); pytest then runs with the venv's interpreter. Under qemu-user,
tests marked `subprocess` are deselected: qemu cannot start `sys.executable` again
without a binfmt_misc registration (said in the result). Foreign roots also compare
their seeded results with the x86_64 wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import interpreters
import tags
import testdeps
from dev import apt_install, as_root
from pipeline import CACHE, ROOT, PipelineError, Target, load_debian_roots, tool_env
from suite import pytest_args

MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Root:
    """A Debian root: its suite and architecture, the packages it holds, its emulator."""

    suite: str
    arch: str
    packages: tuple[str, ...]
    qemu_user: str | None = None

    @property
    def path(self) -> Path:
        return CACHE / "debian" / f"{self.suite}-{self.arch}"

    @property
    def emulator(self) -> list[str]:
        return [f"/usr/bin/qemu-{self.qemu_user}-static"] if self.qemu_user else []


def debian_python(python: str) -> tuple[str, str]:
    """The Debian package that provides an interpreter of the manifest's spelling, and
    the interpreter's path in the root: "3.13" is python3.13, /usr/bin/python3.13;
    "pypy3.11" (or "pypy3.11-pp80") is pypy3, /usr/bin/pypy3.11."""
    impl, (major, minor), free_threaded, _ = tags.parse_label(python)
    if free_threaded:
        raise PipelineError(f"{python}: Debian ships no free-threaded CPython")
    if impl == "pypy":
        return f"pypy{major}", f"/usr/bin/pypy{major}.{minor}"
    return f"python{major}.{minor}", f"/usr/bin/python{major}.{minor}"


def _packages(pythons: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(debian_python(p)[0] for p in pythons))


def foreign_root(target: Target) -> Root:
    if target.qemu is None or target.qemu_suite is None:
        raise PipelineError(f"{target.id} has no Debian architecture (qemu) in the manifest")
    return Root(target.qemu_suite, target.qemu, _packages(target.qemu_pythons), target.qemu_user)


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


def ensure_root(root: Root) -> Path:
    """The root, made once and cached, by mmdebstrap as root (directly or through sudo):
    minbase where this machine runs its code; one for qemu-user only unpacked (its
    packages' scripts cannot run without binfmt_misc) with /lib and /bin linked into
    /usr as the packages expect, and the emulator copied in. Kept only once each of its
    interpreters starts."""
    ready = root.path / ".ready"
    if ready.exists():
        return root.path
    if not shutil.which("mmdebstrap") or (root.emulator and not Path(root.emulator[0]).exists()):
        # debian-archive-keyring: Ubuntu's mmdebstrap needs Debian's keys too.
        apt_install("mmdebstrap", "qemu-user-static", "debian-archive-keyring")
    print(f"    creating a Debian {root.suite} {root.arch} root in {root.path} (once)", flush=True)
    variant = ["--variant=minbase"]
    if root.emulator:
        variant = [
            "--variant=extract",
            "--skip=check/qemu",
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            '--extract-hook=mkdir -p "$1/proc" "$1/tmp" && chmod 1777 "$1/tmp"',
            f"--extract-hook=copy-in {root.emulator[0]} /usr/bin",
        ]
    root.path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(as_root("rm", "-rf", str(root.path)), check=True)
    packages = ",".join(root.packages)
    cmd = ["mmdebstrap", "--quiet", f"--architectures={root.arch}", f"--include={packages}"]
    # A mirror that serves a snapshot keeps Release files past their Valid-Until, which
    # apt (unlike debootstrap) refuses; the packages are still checked against the keys.
    cmd.append('--aptopt=Acquire::Check-Valid-Until "false"')
    subprocess.run(as_root(*cmd, *variant, root.suite, str(root.path), MIRROR), check=True)
    for package in root.packages:  # python3.13 is /usr/bin/python3.13, pypy3 /usr/bin/pypy3
        started = in_root(root, root.path / "tmp", f"/usr/bin/{package}", "-c", "pass")
        if started.returncode != 0:
            raise PipelineError(f"{root.path}: {package} does not start: {started.stderr.strip()}")
    subprocess.run(as_root("touch", str(ready)), check=True)
    return root.path


def root_command(root: Root, work: Path, *args: str) -> list[str]:
    """The command line that runs a program of the root (path inside it) in `work`'s
    directory, with a clean environment."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": f"/{work.relative_to(root.path)}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), chroot, str(root.path)]
    return as_root(*cmd, *root.emulator, *args)


def in_root(root: Root, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a program of the root (path inside it), with a clean environment."""
    return subprocess.run(
        root_command(root, work, *args), capture_output=True, text=True, check=False, cwd=work
    )


def check_interpreter(
    found: interpreters.Interpreter | None, python: str, target: Target, where: str
) -> interpreters.Interpreter:
    """The root's interpreter, if it is the one the manifest names and can load the
    row's wheels: the same spelling (so the same ABI: Debian's pypy3 may be PyPy 8,
    pp80, where the manifest says pypy3.11, pp73) on the row's OS, machine and libc."""
    if found is None:
        raise PipelineError(f"{where}: not a CPython or PyPy interpreter")
    if found.label != python:
        raise PipelineError(
            f"{where} is {found.label} (SOABI {found.soabi or '?'}), not {python}: "
            "the manifest must name what the Debian suite ships"
        )
    if not interpreters.runs_on(target, found.os, found.machine, found.bits, found.libc):
        raise PipelineError(
            f"{where} is a {found.machine} {found.bits}-bit {found.libc or found.os} "
            f"interpreter, which cannot load {target.id} wheels"
        )
    return found


def venv_in_root(
    root: Root, work: Path, python: str, target: Target, wheel: Path
) -> tuple[str, tuple[str, ...]]:
    """A fresh venv in the root with the wheel and the cell's test dependencies: its
    interpreter's path inside the root, and the optional ones left out (why, for each)."""
    inside = f"/{work.relative_to(root.path)}"
    _, exe = debian_python(python)
    where = f"Debian {root.suite} {root.arch}'s {exe}"
    if not (root.path / exe.lstrip("/")).exists():
        raise PipelineError(
            f"{where} is missing: {root.path} was made before the manifest listed "
            f"{python}; delete that directory and it is made again"
        )
    made = in_root(root, work, exe, "-m", "venv", "--without-pip", f"{inside}/venv")
    if made.returncode != 0:
        raise PipelineError(f"venv in the {root.suite} {root.arch} root: {made.stderr.strip()}")
    venv_python = f"{inside}/venv/bin/python"
    asked = in_root(root, work, venv_python, "-c", interpreters.PROBE)
    if asked.returncode != 0:
        raise PipelineError(f"{where} did not describe itself: {asked.stderr.strip()}")
    found = check_interpreter(interpreters.from_probe(asked.stdout), python, target, where)
    if not found.purelib.startswith(f"{inside}/venv/"):
        raise PipelineError(f"{where}: its venv's site-packages is {found.purelib!r}")
    # The venv was made as root; this user's pip fills it.
    owner = f"{os.getuid()}:{os.getgid()}"
    subprocess.run(as_root("chown", "-R", owner, str(work)), check=True)
    site = root.path / found.purelib.lstrip("/")

    def install(needs: testdeps.CellRequirements) -> None:
        shutil.rmtree(site, ignore_errors=True)  # pip --target only adds
        _install(needs, work, site, target, wheel)

    needs = testdeps.install_loadable(
        testdeps.requirements(testdeps.Cell(target, python)),
        install,
        lambda *args: in_root(root, work, venv_python, *args),
        f"Debian {root.suite}'s {exe}",
    )
    for reason in needs.skipped:
        print(f"    {wheel.name} on Debian {root.suite} {python}: {reason}; its tests skip")
    return venv_python, needs.skipped


def _install(
    needs: testdeps.CellRequirements, work: Path, site: Path, target: Target, wheel: Path
) -> None:
    """The cell's test dependencies and the wheel into `site`, with the host's pip."""
    reqs = work / "requirements.txt"
    reqs.write_text(needs.requirements_text(), encoding="utf-8")
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--no-deps",
        "--upgrade",
        *(f"--platform={p}" for p in tags.installer_platforms(target.platform)),
        *tags.installer_options(needs.cell.python),
        "--target",
        str(site),
    ]
    # pip checks that the wheel suits this Python and platform, as an installer would.
    subprocess.run([*pip, "--require-hashes", "-r", str(reqs)], env=tool_env(), check=True)
    subprocess.run([*pip, str(wheel)], env=tool_env(), check=True)


class RootRun(NamedTuple):
    """One run of the suite in a root: where (the label starts with the interpreter's
    manifest spelling), whether it passed, the optional test dependencies left out."""

    label: str
    ok: bool
    skipped: tuple[str, ...] = ()


def run_suite_in_root(
    wheel: Path, target: Target, root: Root, python: str, log_dir: Path
) -> RootRun:
    """The suite against `wheel` in a fresh venv of the root's interpreter `python` (the
    manifest's spelling: "3.15", "pypy3.11")."""
    how = f"qemu {root.qemu_user}, " if root.qemu_user else ""
    deselect = ["-m", "not subprocess"] if root.qemu_user else []
    label = f"{python} (Debian {root.suite}, {how}venv" + (
        "; subprocess tests deselected)" if deselect else ")"
    )
    ensure_root(root)
    work = Path(tempfile.mkdtemp(prefix="gwp-root-", dir=root.path / "tmp"))
    work.chmod(0o755)
    try:
        inside = f"/{work.relative_to(root.path)}"
        shutil.copytree(ROOT / "tests", work / "tests")
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
        venv_python, skipped = venv_in_root(root, work, python, target, wheel)
        result = in_root(root, work, venv_python, *pytest_args(inside), *deselect)
        log = log_dir / f"{wheel.stem}-debian-{root.suite}-{root.arch}-{python}.log"
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        summary = (result.stdout.strip().splitlines() or [""])[-1]
        print(f"    {wheel.name} on {label}: {summary}", flush=True)
        ok = result.returncode == 0
        if root.qemu_user:
            probe = in_root(root, work, venv_python, "-c", SEEDED_PROBE)
            foreign = json.loads(probe.stdout) if probe.returncode == 0 else None
            same = foreign == host_seeded_results(wheel.parent)
            print(
                f"    seeded results on {root.arch} "
                f"{'match x86_64 exactly' if same else 'DIFFER from x86_64'}",
                flush=True,
            )
            if not same:
                log.write_text(log.read_text() + f"\nseeded probe: {probe.stdout}{probe.stderr}")
                label += "; seeded results differ"
            ok = ok and same
        return RootRun(label, ok, skipped)
    finally:
        subprocess.run(as_root("rm", "-rf", str(work)), check=False)


def native_roots() -> list[tuple[Root, tuple[str, ...]]]:
    """The manifest's native roots and the interpreters each provides (manifest
    spellings: "3.15", "pypy3.11")."""
    roots = []
    for row in load_debian_roots():
        pythons = tuple(row["pythons"])
        roots.append((Root(row["suite"], row["arch"], _packages(pythons)), pythons))
    return roots


def host_seeded_results(dist: Path) -> dict[str, object]:
    wheels = sorted(dist.glob("*-cp310-abi3-manylinux*_x86_64.whl"))
    if not wheels:
        raise PipelineError("no x86_64 abi3 wheel to compare seeded results with")
    with tempfile.TemporaryDirectory(prefix="gwp-host-") as tmp:
        with zipfile.ZipFile(wheels[0]) as archive:
            archive.extractall(tmp)
        out = subprocess.run(
            [sys.executable, "-c", SEEDED_PROBE],
            env={"PYTHONPATH": tmp},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(out)  # type: ignore[no-any-return]
