"""A real package index on loopback for the publish rehearsal: pypiserver in a
temporary directory, on a free 127.0.0.1 port, uploads behind htpasswd
authentication, no fallback to the internet, no overwrites. Stopped and removed on
exit, on error and on Ctrl-C."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline import PipelineError, require_tools, tool_env

USER = "rehearsal"


@dataclass(frozen=True)
class LocalIndex:
    url: str
    username: str
    password: str
    packages: Path

    @property
    def upload_url(self) -> str:
        return f"{self.url}/"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _write_htpasswd(path: Path, password: str) -> None:
    import warnings

    with warnings.catch_warnings():
        # passlib (pypiserver's own choice for htpasswd) imports the deprecated `crypt`.
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    htpasswd = HtpasswdFile(str(path), new=True)
    htpasswd.set_password(USER, password)
    htpasswd.save()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PipelineError(f"pypiserver exited at start:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/simple/", timeout=2):  # noqa: S310 - loopback
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise PipelineError(f"pypiserver did not answer on {url} within {timeout:.0f}s")


@contextlib.contextmanager
def serve(port: int | None = None, timeout: float = 30.0) -> Iterator[LocalIndex]:
    require_tools("pypi-server")
    if port is not None and port_in_use(port):
        raise PipelineError(f"port {port} on 127.0.0.1 is in use; choose another or omit --port")
    workdir = Path(tempfile.mkdtemp(prefix="gwp-index-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        packages = workdir / "packages"
        packages.mkdir()
        password = secrets.token_urlsafe(16)
        _write_htpasswd(workdir / "htpasswd", password)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        log = workdir / "server.log"
        with log.open("wb") as log_handle:
            process = subprocess.Popen(
                [
                    "pypi-server",
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--passwords",
                    str(workdir / "htpasswd"),
                    "--authenticate",
                    "update",
                    "--disable-fallback",
                    "--hash-algo",
                    "sha256",
                    "--backend",
                    "simple-dir",
                    str(packages),
                ],
                env=tool_env(),
                stdout=log_handle,
                stderr=subprocess.STDOUT,
            )
        _wait_ready(url, process, log, timeout)
        yield LocalIndex(url=url, username=USER, password=password, packages=packages)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
