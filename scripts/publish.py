#!/usr/bin/env python3
"""Publish stage: upload the gated PyPI set with twine, idempotently.

    publish.py DIST --to local|testpypi|pypi [--repository-url URL --simple-url URL]

Reads DIST/pypi.txt written by the gate (sdist last) and refuses any file whose
platform tag PyPI does not accept. Asks the index which files of this version it
already has (its simple API), checks their SHA-256 against ours, uploads only the
missing ones (the wheels in one twine call, then the sdist: two trusted-publishing
tokens, not one per file); scripts/verify_release.py then checks what the index serves.
A re-run after a half-finished upload therefore completes it without duplicates (twine
7 refuses `--skip-existing` for non-PyPI URLs, so this does not rely on it).

Credentials never come from the repository: TWINE_USERNAME/TWINE_PASSWORD, the
keyring, or — inside GitHub Actions with `id-token: write` — trusted publishing
(twine exchanges the OIDC token itself). `--attestations` uploads the PEP 740
`*.publish.attestation` files that sit beside the artifacts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import (
    DIST_NAME,
    PipelineError,
    pypi_accepts,
    sha256,
    tool_env,
)

INDEXES = {
    "testpypi": ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/"),
    "pypi": ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/"),
}


@dataclass
class PublishReport:
    uploaded: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: dict[str, str] = {}
        self.urls: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            path, _, fragment = href.partition("#")
            name = urllib.request.url2pathname(path.rsplit("/", 1)[-1])
            digest = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else ""
            self.links[name] = digest
            self.urls[name] = urllib.parse.urljoin(self.base, path)


def index_files(simple_url: str) -> dict[str, str]:
    """{filename: sha256 or ''} of what the index holds for the project."""
    return {name: digest for name, (_, digest) in index_entries(simple_url).items()}


def index_entries(simple_url: str) -> dict[str, tuple[str, str]]:
    """{filename: (download URL, sha256 or '')} from the index's simple API page."""
    if not simple_url.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
        raise PipelineError(f"refusing index URL {simple_url}: https, or http on loopback only")
    url = f"{simple_url.rstrip('/')}/{DIST_NAME}/"
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"}
    )
    try:
        # The scheme was checked above: https, or http on loopback.
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read().decode()
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return {}
        raise PipelineError(f"index {url} answered HTTP {err.code}") from err
    except urllib.error.URLError as err:
        raise PipelineError(f"index {url} unreachable: {err.reason}") from err
    if "json" in kind:
        data = json.loads(body)
        return {
            f["filename"]: (
                urllib.parse.urljoin(url, f["url"]),
                f.get("hashes", {}).get("sha256", ""),
            )
            for f in data["files"]
        }
    parser = _Links(url)
    parser.feed(body)
    return {name: (parser.urls[name], digest) for name, digest in parser.links.items()}


def upload_list(dist: Path) -> list[Path]:
    listing = dist / "pypi.txt"
    if not listing.exists():
        raise PipelineError(f"{listing} is missing: run the gate (scripts/gate.py) first")
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    refused = [n for n in names if not pypi_accepts(n)]
    if refused:
        raise PipelineError(f"refusing to send files PyPI rejects: {refused}")
    if names and not names[-1].endswith(".tar.gz"):
        raise PipelineError("the sdist must be uploaded last")
    paths = [dist / n for n in names]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise PipelineError(f"listed in pypi.txt but not in {dist}: {missing}")
    return paths


def twine_upload(
    repository_url: str, files: list[Path], *, attestations: bool = False
) -> subprocess.CompletedProcess[str]:
    """twine's upload of `files`, with the PEP 740 attestations that sit beside them."""
    signed = [a for f in files for a in sorted(f.parent.glob(f"{f.name}.*.attestation"))]
    cmd = ["twine", "upload", "--non-interactive", "--disable-progress-bar"]
    cmd += ["--attestations"] if attestations else []
    cmd += ["--repository-url", repository_url, *map(str, files)]
    cmd += map(str, signed) if attestations else []
    return subprocess.run(cmd, env=tool_env(), check=False, capture_output=True, text=True)


def publish(
    dist: Path,
    repository_url: str,
    simple_url: str,
    *,
    attestations: bool = False,
    limit: int | None = None,
) -> PublishReport:
    """Upload what is missing: the wheels in one twine call, then the sdist in another
    (one trusted-publishing token each, not one per file). `limit` uploads only that many
    files (to rehearse a release that died half-way)."""
    files = upload_list(dist)
    report = PublishReport()
    present = index_files(simple_url)
    missing = []
    for path in files:
        if path.name in present:
            theirs = present[path.name]
            if theirs and theirs != sha256(path):
                raise PipelineError(
                    f"{path.name} is already on the index with different "
                    "content; a published file can never be replaced — bump "
                    "the version"
                )
            report.already_there.append(path.name)
        else:
            missing.append(path)
    if limit is not None:
        missing = missing[:limit]
    # upload_list puts the sdist last: its arrival says the release is complete.
    wheels = [p for p in missing if p.name.endswith(".whl")]
    for batch in (wheels, [p for p in missing if p not in wheels]):
        if not batch:
            continue
        names = [p.name for p in batch]
        print(f"    uploading {', '.join(names)}", flush=True)
        result = twine_upload(repository_url, batch, attestations=attestations)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip()[-1500:]
            raise PipelineError(
                f"upload of {len(batch)} file(s) failed (a re-run uploads what is still "
                f"missing):\n{tail}"
            )
        report.uploaded += names
    return report


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dist", type=Path)
    parser.add_argument("--to", choices=sorted(INDEXES), help="a well-known index")
    parser.add_argument("--repository-url")
    parser.add_argument("--simple-url")
    parser.add_argument("--attestations", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.to:
        repository_url, simple_url = INDEXES[args.to]
    elif args.repository_url and args.simple_url:
        repository_url, simple_url = args.repository_url, args.simple_url
    else:
        cli.error("give --to, or both --repository-url and --simple-url")
    if "TWINE_PASSWORD" not in os.environ and "GITHUB_ACTIONS" not in os.environ:
        print("publish: no TWINE_PASSWORD; twine will ask the keyring", file=sys.stderr)
    try:
        report = publish(args.dist, repository_url, simple_url, attestations=args.attestations)
    except PipelineError as err:
        print(f"publish: {err}", file=sys.stderr)
        return 1
    print(f"publish: uploaded {len(report.uploaded)}, already there {len(report.already_there)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
