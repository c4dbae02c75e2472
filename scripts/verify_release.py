#!/usr/bin/env python3
"""After publishing: what the index serves is what the gate passed, and it installs.

    verify_release.py DIST --version X.Y.Z [--index pypi | --simple-url URL]
                      [--repository URL] [--skip-download] [--attempts N]
    verify_release.py DIST --release-assets DIR

DIST is the gated set (SHA256SUMS and pypi.txt from scripts/gate.py). For every file of
pypi.txt: download it from the index by its exact name and compare its SHA-256 with
SHA256SUMS; with --repository, verify its PEP 740 attestation against that repository
(`pypi-attestations verify pypi`, PyPI only). Then `pip install game-with-pyo3==X.Y.Z`
from the index in a fresh venv and roll dice. The index (PyPI's CDN) may lag behind the
upload: each step is retried a bounded number of times, then it fails saying what to
do. The release workflow runs this on Linux, macOS and Windows; the rehearsal runs it
against its local index. With --release-assets, DIR holds the GitHub Release's assets as
downloaded (`gh release download`): they must be exactly the gated files and SHA256SUMS,
byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import publish
from pipeline import DIST_NAME, PipelineError, artifact_version, sha256, tool_env

# The installed version rolls dice; which wheel the installer picked (its WHEEL tags).
SMOKE = (
    "from game_with_pyo3 import dnd, __version__; import sys, importlib.metadata as m; "
    "assert __version__ == sys.argv[1], __version__; "
    "tags = [t.split(': ')[1] for t in m.distribution('game-with-pyo3').read_text('WHEEL')"
    ".splitlines() if t.startswith('Tag: ')]; "
    "print(__version__, dnd.roll_dice(3, 6, seed=1), dnd.roll('4d6kh3', seed=1).total, tags[0])"
)
WHAT_TO_DO = (
    "Nothing can replace a file on PyPI: if a published file is wrong, yank this release "
    "on PyPI (project page, Manage, Releases) and cut a patch release; if the index only "
    "lags, re-run this job later."
)


def gated_sums(dist: Path) -> dict[str, str]:
    sums = dist / "SHA256SUMS"
    if not sums.exists():
        raise PipelineError(f"{sums} is missing: verify the set the gate passed")
    pairs = (line.split(maxsplit=1) for line in sums.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in pairs}


class NotGated(PipelineError):
    """The index holds what the gate never passed: asking again changes nothing."""


def retried(what: str, attempts: int, pause: float, work: Callable[[], None]) -> None:
    """Run `work()` until it passes, at most `attempts` times (the index may lag)."""
    for attempt in range(1, attempts + 1):
        try:
            work()
            return
        except NotGated:
            raise
        except (PipelineError, subprocess.CalledProcessError) as err:
            if attempt == attempts:
                raise PipelineError(f"{what} failed {attempts} times: {err}. {WHAT_TO_DO}") from err
            print(f"    {what}: {err}; asking again in {pause:.0f}s", flush=True)
            time.sleep(pause)


def check_downloads(dist: Path, simple_url: str) -> list[str]:
    """Every file of pypi.txt, and no other of this version, on the index, each
    downloaded by name with the SHA-256 the gate passed."""
    sums = gated_sums(dist)
    names = [p.name for p in publish.upload_list(dist)]
    entries = publish.index_entries(simple_url)
    missing = [n for n in names if n not in entries]
    if missing:
        raise PipelineError(f"the index does not list {missing}")
    version = artifact_version(names[-1])
    extra = [n for n in entries if n not in names and artifact_version(n) == version]
    if extra:
        raise NotGated(
            f"the index holds files of this version the gate did not pass: {extra}. "
            "Yank the release on PyPI and find out who could upload"
        )
    checked = []
    for name in names:
        url, _ = entries[name]
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - index URL
            digest = hashlib.sha256(response.read()).hexdigest()
        if digest != sums[name]:
            raise PipelineError(
                f"{name} from the index has SHA-256 {digest}, the gate passed {sums[name]}"
            )
        checked.append(name)
    return checked


def check_release_assets(dist: Path, assets: Path) -> list[str]:
    """The Release's assets are exactly the gated artifacts and SHA256SUMS, unchanged."""
    sums = gated_sums(dist)
    expected = {*sums, "SHA256SUMS"}
    found = {p.name for p in assets.iterdir() if p.is_file()}
    if found != expected:
        raise PipelineError(
            f"the Release's assets are not the gated set: missing {sorted(expected - found)}, "
            f"extra {sorted(found - expected)}"
        )
    for name, digest in sorted(sums.items()):
        actual = sha256(assets / name)
        if actual != digest:
            raise PipelineError(
                f"the Release's {name} has SHA-256 {actual}, the gate passed {digest}"
            )
    if (assets / "SHA256SUMS").read_bytes() != (dist / "SHA256SUMS").read_bytes():
        raise PipelineError("the Release's SHA256SUMS is not the one the gate wrote")
    return sorted(found)


def check_attestations(dist: Path, repository: str) -> None:
    for name in (p.name for p in publish.upload_list(dist)):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pypi_attestations",
                "verify",
                "pypi",
                "--repository",
                repository,
                f"pypi:{name}",
            ],
            env=tool_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip()[-600:]
            raise PipelineError(f"the PEP 740 attestation of {name} does not verify: {tail}")
        print(f"    attestation of {name}: verified against {repository}", flush=True)


def install_and_roll(version: str, simple_url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="gwp-verify-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "--only-binary",
                DIST_NAME,
                "--index-url",
                simple_url,
                f"{DIST_NAME}=={version}",
            ],
            check=True,
        )
        return subprocess.run(
            [str(python), "-c", SMOKE, version], check=True, capture_output=True, text=True
        ).stdout.strip()


def verify(
    dist: Path,
    version: str,
    simple_url: str,
    *,
    repository: str | None = None,
    download: bool = True,
    attempts: int = 6,
    pause: float = 30.0,
) -> None:
    if download:
        retried(
            "downloading and hashing every file",
            attempts,
            pause,
            lambda: print(f"    {len(check_downloads(dist, simple_url))} files match SHA256SUMS"),
        )
    if repository:
        retried(
            "verifying every PEP 740 attestation",
            attempts,
            pause,
            lambda: check_attestations(dist, repository),
        )

    def install() -> None:
        rolled = install_and_roll(version, simple_url)
        check_pick(dist, rolled.split()[-1])
        print(f"    installed and rolled: {rolled}")

    retried(f"pip install {DIST_NAME}=={version}", attempts, pause, install)


def check_pick(dist: Path, installed_tag: str) -> None:
    """The installer took the wheel this interpreter ranks first among the gated ones
    (packaging's tag order, as pip decides), not another that also fits."""
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename

    wheels = [parse_wheel_filename(w.name)[3] for w in sorted(dist.glob("*.whl"))]
    best = next((w for tag in sys_tags() for w in wheels if tag in w), None)
    if best is not None and installed_tag not in {str(t) for t in best}:
        raise PipelineError(
            f"the installer took a wheel tagged {installed_tag}; this interpreter's first "
            f"choice among the gated wheels is {sorted(str(t) for t in best)[0]}"
        )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dist", type=Path)
    parser.add_argument("--version")
    parser.add_argument(
        "--release-assets", type=Path, help="only check the GitHub Release's downloaded assets"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--index", choices=sorted(publish.INDEXES))
    where.add_argument("--simple-url")
    parser.add_argument("--repository", help="verify PEP 740 attestations against it")
    parser.add_argument(
        "--skip-download", action="store_true", help="only install and roll (other runners)"
    )
    parser.add_argument("--attempts", type=int, default=6)
    return parser


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.release_assets:
        try:
            names = check_release_assets(args.dist, args.release_assets)
        except PipelineError as err:
            print(f"verify-release: {err}", file=sys.stderr)
            return 1
        print(f"verify-release: the Release's {len(names)} assets are the gated files")
        return 0
    if not args.version or not (args.index or args.simple_url):
        cli.error("--version and one of --index/--simple-url are needed")
    simple_url = publish.INDEXES[args.index][1] if args.index else args.simple_url
    try:
        verify(
            args.dist,
            args.version.removeprefix("v"),
            simple_url,
            repository=args.repository,
            download=not args.skip_download,
            attempts=args.attempts,
        )
    except PipelineError as err:
        print(f"verify-release: {err}", file=sys.stderr)
        return 1
    print("verify-release: the published release is the gated one, and it installs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
