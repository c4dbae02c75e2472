"""The project's tools on the oldest Python they claim: Debian 12's own 3.11.2, whose
tarfile lacks the `filter` argument (added in 3.12 and late 3.11 patch releases)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import build
import pipeline
import pytest
from conftest import ROOT, SCRIPTS

DEBIAN_PYTHON = Path("/usr/bin/python3.11")


def _sdist(path: Path, *, link: bool = False) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        data = b"print('hello')\n"
        member = tarfile.TarInfo("pkg-1.0/hello.py")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
        if link:
            evil = tarfile.TarInfo("pkg-1.0/escape")
            evil.type = tarfile.SYMTYPE
            evil.linkname = "/etc/passwd"
            archive.addfile(evil)
    return path


def test_unpacking_refuses_links_and_escapes(tmp_path: Path) -> None:
    refusal = r"refusing member 'pkg-1\.0/escape'"
    with (
        tarfile.open(_sdist(tmp_path / "bad.tar.gz", link=True)) as archive,
        pytest.raises(pipeline.PipelineError, match=refusal),
    ):
        build.safe_extract(archive, tmp_path / "out")
    with tarfile.open(_sdist(tmp_path / "good.tar.gz")) as archive:
        build.safe_extract(archive, tmp_path / "ok")
    assert (tmp_path / "ok/pkg-1.0/hello.py").read_text() == "print('hello')\n"


@pytest.mark.skipif(not DEBIAN_PYTHON.exists(), reason="Debian's /usr/bin/python3.11 is absent")
def test_tools_run_on_debian_python_3_11_2(tmp_path: Path) -> None:
    """dev.py's front door and the build stage's sdist unpacking on Debian's 3.11.2."""
    version = subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import sys; print(sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    front = subprocess.run(
        [str(DEBIAN_PYTHON), str(SCRIPTS / "dev.py"), "locked-requirement", "uv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert front.returncode == 0, front.stderr
    assert front.stdout.startswith("uv==")
    assert "--hash=sha256:" in front.stdout
    venv = tmp_path / "venv"
    uv = shutil.which("uv", path=pipeline.tool_env()["PATH"])
    assert uv
    subprocess.run([uv, "venv", "-q", "--python", str(DEBIAN_PYTHON), str(venv)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), "packaging"],
        check=True,
    )
    sdist = _sdist(tmp_path / "pkg-1.0.tar.gz")
    code = (
        "import sys, tarfile; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "import build; build.safe_extract(tarfile.open(sys.argv[2]), Path(sys.argv[3]))"
    )
    result = subprocess.run(
        [str(venv / "bin/python"), "-c", code, str(SCRIPTS), str(sdist), str(tmp_path / "x")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"on {version}: {result.stderr}"
    assert (tmp_path / "x/pkg-1.0/hello.py").exists()
