"""scripts/ci_freebsd_test.sh with stand-ins for `pkg` and the VM's `python3`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTS

SCRIPT = SCRIPTS / "ci_freebsd_test.sh"


@pytest.mark.parametrize("minor", [11, 13])
def test_the_python_flavour_comes_from_the_package_system(tmp_path: Path, minor: int) -> None:
    """FreeBSD builds py-* packages for its default Python only, and the default moves:
    a script that names python311 and py311-pip breaks the day it does."""
    calls = tmp_path / "calls"
    fake = {
        "pkg": f'echo "pkg $*" >> {calls}',
        # The python3 metapackage's interpreter, whichever flavour is the default today.
        "python3": (
            f'if [ "$1" = -c ]; then echo py3{minor}; else echo "python3 $*" >> {calls}; fi'
        ),
    }
    for name, body in fake.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "WHEEL": "false"}
    subprocess.run(["sh", str(SCRIPT), "dist"], cwd=ROOT, env=env, check=True)
    assert calls.read_text().splitlines() == [
        "pkg install -y python3 rust",
        f"pkg install -y py3{minor}-pip py3{minor}-packaging",
        "python3 scripts/suite.py dist --require-all --from-sdist --sdist-only --python python3",
    ]
    commands = [line for line in SCRIPT.read_text().splitlines() if not line.startswith("#")]
    assert not re.search(r"py(thon)?3\d\d", "\n".join(commands))
