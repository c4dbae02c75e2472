"""Shared knowledge of the release pipeline: versions, the artifact manifest and
PyPI's platform-tag rules. Every stage imports this module, so the workflow, the
rehearsal and the tests can never disagree."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import tomllib

try:
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
except ModuleNotFoundError as missing:  # a script run outside the project's venv
    import sys

    raise SystemExit(
        f"{Path(sys.argv[0]).name}: the Python package {missing.name!r} is missing. Run "
        "`python3 scripts/dev.py setup` once, then run this script with .venv/bin/python"
    ) from None

ROOT = Path(__file__).resolve().parent.parent
# What the project keeps between runs outside the checkout (XDG: unset or empty, ~/.cache).
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "game-with-pyo3"
MANIFEST = Path(__file__).resolve().parent / "manifest.toml"
DIST_NAME = "game-with-pyo3"
FILE_STEM = "game_with_pyo3"
ARTIFACT_SUFFIXES = (".whl", ".tar.gz")
ABI3_TAG = "cp310-abi3"
T = TypeVar("T")


@dataclass(frozen=True)
class WheelKind:
    """One kind of wheel a manifest row can list in `abis`."""

    tag: str  # the python and abi part of the wheel's file name
    maturin: tuple[str, ...]  # the maturin arguments that build it (features, interpreter)
    serves: str  # which interpreters pick it (scripts/tags.py decides; tests hold it)


# maturin's -i is a version, never an executable's name or path: maturin then describes
# the TARGET's interpreter from its built-in data. Given a host interpreter for a cross
# build, maturin 1.16 names the module after the host (an x86_64 `.cpython-314t-x86_64-
# linux-gnu.so` inside an aarch64 wheel), and `python3.14t` resolves to such an
# interpreter whenever one is on PATH. (On Windows maturin may find the real interpreter
# through the py launcher; it checks its architecture.) The crate's default feature is
# `abi3` (what an sdist build gets); the other kinds switch it off (Cargo.toml).
WHEEL_KINDS = {
    "abi3": WheelKind(ABI3_TAG, (), "CPython 3.10-3.14 with the GIL"),
    "cp314t": WheelKind(
        "cp314-cp314t", ("--no-default-features", "-i", "3.14t"), "free-threaded CPython 3.14"
    ),
    "abi3t": WheelKind(
        "cp315-abi3.abi3t",
        ("--no-default-features", "--features", "abi3t", "-i", "3.15"),
        "CPython 3.15 and later, with or without the GIL (PEP 803)",
    ),
    "pypy311": WheelKind(
        "pp311-pypy311_pp73", ("--no-default-features", "-i", "pypy3.11"), "PyPy 3.11 (7.3.x)"
    ),
    # Version-specific GIL wheels, where an abi3 module cannot serve: Pyodide (one
    # CPython per ABI, and the module's name says which, as the gate checks) and Android
    # (PyO3 links the module to libpython3.X.so there, which only that X loads).
    "cp313": WheelKind("cp313-cp313", ("--no-default-features", "-i", "3.13"), "CPython 3.13"),
    "cp314": WheelKind("cp314-cp314", ("--no-default-features", "-i", "3.14"), "CPython 3.14"),
    "cp315": WheelKind("cp315-cp315", ("--no-default-features", "-i", "3.15"), "CPython 3.15"),
}

# PyPI's allow-list (warehouse): anything else — every freebsd_*, plain linux_* —
# is refused with HTTP 400 after the files before it were already published.
_PYPI_PLATFORM = re.compile(
    r"^(any|win32|win_amd64|win_arm64|linux_armv6l|linux_armv7l"
    r"|manylinux1_(x86_64|i686)|manylinux2010_(x86_64|i686)"
    r"|manylinux2014_(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x)"
    r"|manylinux_\d+_\d+_\w+|musllinux_\d+_\d+_\w+|macosx_\d+_\d+_\w+"
    r"|ios_\d+_\d+_\w+|android_\d+_\w+|pyemscripten_\d+_\d+_\w+)$"
)


class PipelineError(Exception):
    """A stage refused to go on; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """One row of scripts/manifest.toml (the comments there say what each field means)."""

    id: str
    os: str
    machines: tuple[str, ...]
    bits: int
    libc: str
    rust: str
    platform: str
    abis: tuple[str, ...]
    pypi: bool
    local: bool
    ci_build: str
    ci_test: str
    ci_test_runner: str
    # Derived by load_targets (test_pythons) unless the row states it (a FreeBSD VM).
    ci_test_pythons: tuple[str, ...] = ()
    ci_test_image: str | None = None
    ci_test_platform: str = ""
    ci_test_qemu: bool = False
    ci_python_arch: str = ""
    unavailable_pythons: tuple[str, ...] = ()
    pull_request_pythons: tuple[str, ...] = ()
    pull_request_releases: tuple[str, ...] = ()
    build_minutes: float | None = None
    ci_cibuildwheel: str = ""
    local_why: str = ""
    ci_test_why: str = ""
    qemu: str | None = None
    qemu_user: str | None = None
    qemu_suite: str | None = None
    qemu_pythons: tuple[str, ...] = ()
    ci_test_releases: tuple[str, ...] = ()

    def wheel_tags(self) -> list[str]:
        return [self.wheel_tag(abi) for abi in self.abis]

    def wheel_tag(self, abi: str) -> str:
        """The tags of this row's wheel of one kind ("abi3" -> cp310-abi3-<platform>)."""
        return f"{WHEEL_KINDS[abi].tag}-{self.platform}"

    def wheel_names(self, version: str) -> list[str]:
        return [wheel_name(version, tag) for tag in self.wheel_tags()]

    @property
    def freebsd_release(self) -> str:
        """The FreeBSD release a row's tag names: freebsd_14_4_release_amd64 -> 14.4-RELEASE."""
        release = self.platform.removeprefix("freebsd_").removesuffix("_amd64")
        major, minor, kind = release.split("_")
        return f"{major}.{minor}-{kind.upper()}"


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def supported_pythons(path: Path = MANIFEST) -> tuple[str, ...]:
    return tuple(load_manifest(path)["pythons"]["supported"])


def test_pythons(target: Target, supported: tuple[str, ...]) -> tuple[str, ...]:
    """The interpreters CI tests a row on. Each wheel kind on the oldest and newest
    supported interpreter that picks it, GIL and free-threaded builds apart (abi3 on
    3.10 and 3.14, abi3t on 3.15 and 3.15t); a container the runner runs natively takes
    every CPython its image has that picks a wheel, since a session costs little there."""
    from tags import parse_label, picks

    wheels = target.wheel_names("0")
    usable = [p for p in supported if p not in target.unavailable_pythons]
    chosen: set[str] = set()
    for wheel in wheels:
        pickers = [p for p in usable if picks(p, target.platform, wheels) == wheel]
        for free_threaded in (False, True):
            same = [p for p in pickers if parse_label(p)[2] == free_threaded]
            chosen.update(same[:1] + same[-1:])
            if target.ci_test == "container" and not target.ci_test_qemu:
                chosen.update(p for p in same if not p.startswith("pypy"))
    return tuple(p for p in usable if p in chosen)


def load_targets(path: Path = MANIFEST) -> list[Target]:
    data = load_manifest(path)
    supported = tuple(data["pythons"]["supported"])
    targets = []
    lists = (
        "abis",
        "machines",
        "ci_test_pythons",
        "ci_test_releases",
        "qemu_pythons",
        "unavailable_pythons",
        "pull_request_pythons",
        "pull_request_releases",
    )
    for row in data["target"]:
        if "skip" in row:  # a platform not shipped yet; plan.py says why
            continue
        tuples = {k: tuple(row[k]) for k in lists if k in row}
        target = Target(**{**row, **tuples})
        if target.ci_test in ("native", "container"):
            target = replace(target, ci_test_pythons=test_pythons(target, supported))
        targets.append(target)
    ids = [t.id for t in targets]
    if len(set(ids)) != len(ids):
        raise PipelineError(f"duplicate target ids in {path}")
    for target in targets:
        for abi in target.abis:
            if abi not in WHEEL_KINDS:
                raise PipelineError(
                    f"{target.id}: unknown abi {abi!r} (one of {list(WHEEL_KINDS)})"
                )
        if not target.local and not target.local_why:
            raise PipelineError(f"{target.id}: not built locally: local_why must say why")
        unknown = set(target.pull_request_pythons) - set(target.ci_test_pythons)
        if unknown:
            raise PipelineError(
                f"{target.id}: pull_request_pythons {sorted(unknown)} are not among the "
                f"interpreters the row is tested on {list(target.ci_test_pythons)}"
            )
        platforms_ok = all(is_pypi_platform(p) for p in target.platform.split("."))
        if target.pypi and not platforms_ok:
            raise PipelineError(
                f"{target.id}: platform {target.platform} is marked for PyPI "
                "but PyPI refuses that tag"
            )
    return targets


def host_target(targets: list[Target]) -> Target:
    return next(t for t in targets if t.id == "linux-x86_64")


def is_pypi_platform(tag: str) -> bool:
    return bool(_PYPI_PLATFORM.match(tag))


def pypi_accepts(filename: str) -> bool:
    """Whether PyPI would accept this artifact's platform tags."""
    if filename.endswith(".tar.gz"):
        return True
    _, _, _, tags = parse_wheel_filename(filename)
    return all(is_pypi_platform(tag.platform) for tag in tags)


def wheel_name(version: str, tag: str) -> str:
    return f"{FILE_STEM}-{version}-{tag}.whl"


def sdist_name(version: str) -> str:
    return f"{FILE_STEM}-{version}.tar.gz"


def expected_artifacts(version: str, targets: list[Target]) -> set[str]:
    names = {sdist_name(version)}
    for target in targets:
        names.update(wheel_name(version, tag) for tag in target.wheel_tags())
    return names


def artifact_version(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[1])
    if filename.endswith(".tar.gz"):
        return str(parse_sdist_filename(filename)[1])
    raise PipelineError(f"{filename}: not a wheel or an sdist")


def load_debian_roots(path: Path = MANIFEST) -> list[dict[str, Any]]:
    """The manifest's native Debian roots: suite, arch and the interpreters (CPython
    versions, or PyPy as "pypy3.11")."""
    roots: list[dict[str, Any]] = tomllib.loads(path.read_text(encoding="utf-8")).get(
        "debian_root", []
    )
    return roots


def target_of(filename: str, targets: list[Target]) -> Target | None:
    if not filename.endswith(".whl"):
        return None
    platform = filename.removesuffix(".whl").split("-")[-1]
    return next((t for t in targets if t.platform == platform), None)


def kind_of(filename: str) -> str | None:
    """The manifest's name for a wheel's kind ("abi3", "cp314t", ...), from its name."""
    return next((name for name, kind in WHEEL_KINDS.items() if f"-{kind.tag}-" in filename), None)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for tool subprocesses: this interpreter's bin first on PATH,
    so maturin finds ziglang's `python-zig` and tools come from the same venv."""
    import os
    import sys

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def on_sigterm_interrupt() -> None:
    """SIGTERM (a CI cancellation, `kill`) unwinds like Ctrl-C, so every stage's
    cleanup (servers, temporary files, a half-made release commit) runs."""
    import signal

    def interrupt(signum: int, _frame: object) -> None:
        # Once: a second SIGTERM (a parent and a process group both stopping us) must
        # not cut the cleanup the first one started short. A handler, not SIG_IGN, which
        # the builds started during the cleanup would inherit, and not stop on.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def run_at_once(jobs: Sequence[Callable[[], T]], at_once: int, stop: Callable[[], None]) -> list[T]:
    """The jobs' results in order, `at_once` running at a time. Interrupted (or a job
    failed), the jobs not started are dropped and `stop` is called until every started
    one has ended: one may be starting its process just then, after a first `stop`."""
    pool = ThreadPoolExecutor(max_workers=at_once)
    futures = [pool.submit(job) for job in jobs]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:  # a failure stops the others at once, not in turn
            future.result()
        return [future.result() for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        while not all(future.done() for future in futures):
            stop()
            time.sleep(0.1)
        raise
    finally:
        pool.shutdown()


def is_artifact(name: str) -> bool:
    return name.endswith(ARTIFACT_SUFFIXES)


def require_tools(*names: str) -> None:
    """Fail with one clear message if any tool is missing from the tool PATH."""
    import shutil

    path = tool_env()["PATH"]
    missing = [n for n in names if shutil.which(n, path=path) is None]
    if missing:
        raise PipelineError(
            f"missing tool(s): {', '.join(missing)} — run "
            "`python3 scripts/dev.py setup` and use .venv/bin on PATH"
        )
