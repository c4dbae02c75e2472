"""Publishing against a real pypiserver on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import gate
import local_index
import pipeline
import publish
import pytest
import verify_release


@pytest.fixture(scope="module")
def gated_once(rehearsal: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rehearsal's artifacts, gated once (the gate writes pypi.txt and SHA256SUMS)."""
    dist = tmp_path_factory.mktemp("gated") / "dist"
    dist.mkdir()
    for path in rehearsal[0].iterdir():
        if path.name.endswith((".whl", ".tar.gz")):
            shutil.copy2(path, dist)
    assert gate.run(dist, "host").problems == []
    return dist


@pytest.fixture
def gated(gated_once: Path, tmp_path: Path) -> Path:
    """A copy of the gated set of each test's own, to upload from or to spoil."""
    return Path(shutil.copytree(gated_once, tmp_path / "dist"))


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[local_index.LocalIndex]:
    with local_index.serve() as idx:
        monkeypatch.setenv("TWINE_USERNAME", idx.username)
        monkeypatch.setenv("TWINE_PASSWORD", idx.password)
        yield idx


def test_half_finished_upload_is_completed_without_duplicates(
    gated: Path, index: local_index.LocalIndex
) -> None:
    everything = (gated / "pypi.txt").read_text().split()
    first = publish.publish(gated, index.upload_url, index.simple_url, limit=1)
    assert len(first.uploaded) == 1
    second = publish.publish(gated, index.upload_url, index.simple_url)
    assert second.already_there == first.uploaded
    assert len(second.uploaded) == len(everything) - 1
    assert second.uploaded[-1].endswith(".tar.gz")
    third = publish.publish(gated, index.upload_url, index.simple_url)
    assert third.uploaded == []
    assert sorted(publish.index_files(index.simple_url)) == sorted(
        (gated / "pypi.txt").read_text().split()
    )


def test_the_index_refuses_a_second_upload(gated: Path, index: local_index.LocalIndex) -> None:
    publish.publish(gated, index.upload_url, index.simple_url)
    sdist = next(gated.glob("*.tar.gz"))
    assert publish.twine_upload(index.upload_url, [sdist]).returncode != 0


def test_uploads_need_the_password(
    gated: Path, index: local_index.LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINE_PASSWORD", "wrong")
    with pytest.raises(pipeline.PipelineError, match=r"upload of .* failed"):
        publish.publish(gated, index.upload_url, index.simple_url)
    assert publish.index_files(index.simple_url) == {}


def test_same_name_different_content_is_refused(
    gated: Path, index: local_index.LocalIndex, tmp_path: Path
) -> None:
    publish.publish(gated, index.upload_url, index.simple_url, limit=1)
    first = (gated / "pypi.txt").read_text().split()[0]
    with (gated / first).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(pipeline.PipelineError, match="different content"):
        publish.publish(gated, index.upload_url, index.simple_url)


def test_freebsd_wheels_never_reach_an_upload(gated: Path) -> None:
    bsd = "game_with_pyo3-0.1.0-cp310-abi3-freebsd_14_3_release_amd64.whl"
    (gated / "pypi.txt").write_text(f"{bsd}\n")
    with pytest.raises(pipeline.PipelineError, match="refusing to send files PyPI rejects"):
        publish.upload_list(gated)


def test_sdist_must_go_last_and_gate_must_have_run(gated: Path) -> None:
    names = (gated / "pypi.txt").read_text().split()
    (gated / "pypi.txt").write_text("\n".join(reversed(names)))
    with pytest.raises(pipeline.PipelineError, match="sdist must be uploaded last"):
        publish.upload_list(gated)
    (gated / "pypi.txt").unlink()
    with pytest.raises(pipeline.PipelineError, match="run the gate"):
        publish.upload_list(gated)


def test_server_is_stopped_and_removed_even_on_error() -> None:
    seen: list[local_index.LocalIndex] = []

    def fail_while_serving() -> None:
        with local_index.serve() as idx:
            seen.append(idx)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_while_serving()
    assert not local_index.port_in_use(int(seen[0].url.rsplit(":", 1)[1]))
    assert not seen[0].packages.parent.exists()


def test_port_in_use_is_a_clear_message() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = local_index.serve(port)
        with pytest.raises(pipeline.PipelineError, match=f"port {port}.*in use"):
            server.__enter__()


def test_credentials_never_come_from_repository_files() -> None:
    root = Path(__file__).resolve().parents[2]
    assert not (root / ".pypirc").exists()
    text = (root / "scripts" / "publish.py").read_text()
    assert "pypirc" not in text.replace("never", "")
    assert os.environ.get("TWINE_PASSWORD", "") not in text or not os.environ.get("TWINE_PASSWORD")


def test_verify_asks_a_lagging_index_again_and_names_files_it_did_not_gate(
    gated: Path, index: local_index.LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify-release after a publish: a file the index does not list yet (PyPI's CDN
    lags) is asked for again a bounded number of times, then named with what to do;
    a file of this version that the gate did not pass is refused."""
    names = (gated / "pypi.txt").read_text().split()
    publish.publish(gated, index.upload_url, index.simple_url, limit=1)
    with pytest.raises(pipeline.PipelineError, match=r"failed 2 times: the index does not list"):
        verify_release.verify(gated, "0", index.simple_url, attempts=2, pause=0)
    publish.publish(gated, index.upload_url, index.simple_url)
    assert verify_release.check_downloads(gated, index.simple_url) == names

    # Another platform's wheel of this version, uploaded by someone else.
    wheel = next(n for n in names if n.endswith(".whl"))
    stray = gated.parent / wheel.replace("x86_64", "i686")
    shutil.copy2(gated / wheel, stray)
    uploaded = publish.twine_upload(index.upload_url, [stray])
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    capsys.readouterr()
    with pytest.raises(verify_release.NotGated, match=rf"did not pass: \['{stray.name}'\]"):
        verify_release.verify(gated, "0", index.simple_url, attempts=3, pause=0)
    assert "asking again" not in capsys.readouterr().out  # waiting cannot mend it


def test_the_release_assets_must_be_the_gated_files(gated: Path, tmp_path: Path) -> None:
    """verify-release's check of what `gh release download` fetched."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in [*verify_release.gated_sums(gated), "SHA256SUMS"]:
        shutil.copy2(gated / name, assets)
    assert verify_release.main([str(gated), "--release-assets", str(assets)]) == 0

    victim = sorted(assets.glob("*.whl"))[0]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(pipeline.PipelineError, match=rf"{victim.name} has SHA-256"):
        verify_release.check_release_assets(gated, assets)
    assert verify_release.main([str(gated), "--release-assets", str(assets)]) == 1

    shutil.copy2(gated / victim.name, victim)
    (assets / "extra.whl").write_bytes(b"not gated")
    with pytest.raises(pipeline.PipelineError, match=r"extra \['extra.whl'\]"):
        verify_release.check_release_assets(gated, assets)
    (assets / "extra.whl").unlink()
    (assets / "SHA256SUMS").unlink()
    with pytest.raises(pipeline.PipelineError, match=r"missing \['SHA256SUMS'\]"):
        verify_release.check_release_assets(gated, assets)
    (assets / "SHA256SUMS").write_text((gated / "SHA256SUMS").read_text() + "\n")
    with pytest.raises(pipeline.PipelineError, match="not the one the gate wrote"):
        verify_release.check_release_assets(gated, assets)


def test_the_installer_must_take_the_wheel_this_interpreter_ranks_first(tmp_path: Path) -> None:
    """verify_release.check_pick: of the host row's gated wheels, this interpreter (a
    GIL CPython) installs the abi3 one; a report of any other is refused by name."""
    import pipeline

    host = pipeline.host_target(pipeline.load_targets())
    for name in host.wheel_names("1.0.0"):
        (tmp_path / name).write_bytes(b"")  # only the names are read
    abi3 = next(n for n in host.wheel_names("1.0.0") if pipeline.kind_of(n) == "abi3")
    first = "-".join(abi3.removesuffix(".whl").split("-")[2:5]).split(".")[0]
    verify_release.check_pick(tmp_path, first)
    pypy = next(n for n in host.wheel_names("1.0.0") if pipeline.kind_of(n) == "pypy311")
    wrong = "-".join(pypy.removesuffix(".whl").split("-")[2:5]).split(".")[0]
    with pytest.raises(pipeline.PipelineError, match=f"took a wheel tagged {wrong}"):
        verify_release.check_pick(tmp_path, wrong)


def test_attestations_go_with_their_files_as_twine_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publish job's upload (`--attestations`): twine's own parser takes the command
    line publish.py gives it, with each file's PEP 740 attestation among the dists."""
    import twine.commands.upload

    files = [tmp_path / "a-1-py3-none-any.whl", tmp_path / "a-1.tar.gz"]
    for path in files:
        path.write_bytes(b"")
        (tmp_path / f"{path.name}.publish.attestation").write_text("{}")
    calls: list[list[str]] = []

    def run(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    publish.twine_upload("https://upload.invalid/legacy/", files, attestations=True)
    seen = []
    monkeypatch.setattr(twine.commands.upload, "upload", lambda *args: seen.append(args))
    (cmd,) = calls
    assert cmd[:2] == ["twine", "upload"]
    twine.commands.upload.main(cmd[2:])
    ((settings, dists),) = seen
    assert settings.attestations
    assert settings.repository_config["repository"] == "https://upload.invalid/legacy/"
    attestations = [f"{path}.publish.attestation" for path in files]
    assert dists == [*map(str, files), *attestations]
