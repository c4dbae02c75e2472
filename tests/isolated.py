"""Run a test body in a fresh interpreter, so a deadlock fails the test instead of
freezing the suite (and, on a GIL build, every thread in it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def run_isolated(code: str, *, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    """Run ``code`` with ``python -c`` (with ``env`` added to the environment); return
    its stdout. Fails the calling test if the code hangs past ``timeout`` seconds or
    exits non-zero."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=None if env is None else {**os.environ, **env},
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"still running after {timeout} s (a deadlock?); printed: {hung.stdout!r}")
    assert done.returncode == 0, done.stderr
    return done.stdout
