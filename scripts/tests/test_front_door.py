"""The project's commands say in one line what to do when something is missing, and the
README (the PyPI page) starts with them and links to the maintainers' docs/ that work."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTS


def _bare_python() -> str:
    """An interpreter without the project's packages (Debian's, or a fresh venv's)."""
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        probe = (
            subprocess.run([candidate, "-c", "import packaging"], capture_output=True, check=False)
            if Path(candidate).exists()
            else None
        )
        if probe is not None and probe.returncode != 0:
            return candidate
    pytest.skip("no interpreter without `packaging` here")


@pytest.mark.parametrize(
    "command",
    [["release.py", "notes", "0.1.0"], ["gate.py", "dist"], ["build.py", "--help"]],
)
def test_scripts_outside_the_venv_say_what_to_do(command: list[str]) -> None:
    result = subprocess.run(
        [_bare_python(), str(SCRIPTS / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "scripts/dev.py setup" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_dev_without_rustup_says_how_to_get_it(tmp_path: Path) -> None:
    # A PATH with the tools dev.py needs before Rust (git, apt) but no rustup or cargo.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "shellcheck"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "dev.py"), "setup"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip() == "rustup is missing: install Rust with rustup (https://rustup.rs)"
    )


REPOSITORY = "game-with-pyo3/game-with-pyo3"
# Where the README's links into this repository point: PyPI renders the README and
# breaks relative links, so they are absolute, to the files on main.
IN_REPOSITORY = (
    f"https://github.com/{REPOSITORY}/blob/main/",
    f"https://raw.githubusercontent.com/{REPOSITORY}/main/",
)


def _links(markdown: str) -> list[str]:
    """Inline link and image targets and reference definitions, outside code blocks."""
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    inline = re.findall(r"\]\(([^)\s]+)\)", prose)
    return inline + re.findall(r"^\[[^\]]+\]:\s*(\S+)", prose, flags=re.M)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _check(target: Path, anchor: str, where: str) -> None:
    assert target.is_file(), f"{where}: {target.relative_to(ROOT)} does not exist"
    assert not anchor or anchor in _anchors(target), f"{where}: no heading #{anchor}"


def test_readme_starts_with_the_two_commands_and_links_absolutely() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # .ci/run and the CI workflow run exactly the README's test command.
    assert "\npython3 scripts/dev.py rehearse " in readme
    assert "\npython3 scripts/dev.py test " in readme
    links = _links(readme)
    assert any("/docs/" in link for link in links), "the README lost its links to docs/"
    for link in links:
        assert link.startswith("https://"), f"README: {link} breaks on PyPI"
        for prefix in IN_REPOSITORY:
            if link.startswith(prefix):
                path, _, anchor = link.removeprefix(prefix).partition("#")
                _check(ROOT / path, anchor, f"README: {link}")


def test_docs_links_resolve() -> None:
    docs = sorted((ROOT / "docs").glob("*.md"))
    assert docs, "docs/ is gone"
    for doc in docs:
        for link in _links(doc.read_text(encoding="utf-8")):
            if link.startswith(("https://", "http://", "mailto:")):
                continue
            path, _, anchor = link.partition("#")
            target = (doc.parent / path).resolve() if path else doc
            _check(target, anchor, f"{doc.relative_to(ROOT)}: {link}")


def test_dev_test_lanes_stop_at_the_first_failure(tmp_path: Path) -> None:
    """`dev.py test`'s two lanes: a failure in one stops the other's running stage with
    what it started, and a stage waiting on a failed one never runs."""
    import os
    import time

    import dev

    started = tmp_path / "started"
    # It fails once the other lane's stage has started its child.
    failing = dev.Stage(
        "fails", ["sh", "-c", f"until [ -s {started} ]; do sleep 0.05; done; exit 3"]
    )
    long = dev.Stage("long", ["sh", "-c", f"sleep 60 & echo $! > {started}; wait"])
    waiting = dev.Stage("after", ["touch", str(tmp_path / "ran")], after=failing)
    begin = time.monotonic()
    lanes = dev.Lanes([[failing], [long, waiting]], dict(os.environ), logs=tmp_path / "logs")
    failed = lanes.run()
    assert failed == ["'fails' (exit 3)"]
    assert time.monotonic() - begin < 30
    assert not (tmp_path / "ran").exists()
    child = int(started.read_text())
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{child}").exists()
        or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    )
