"""Reproducible builds: how differences are named, what fixes the bytes (the commit's
time, remapped paths), and what the release's own wheel holds for that. Two places
building the same bytes is the rehearsal's reproduce stage (test_rehearsal.py)."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import build
import pipeline
import pytest
import repro
from conftest import ROOT

WHEEL = "game_with_pyo3-1.0.0-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
SDIST = "game_with_pyo3-1.0.0.tar.gz"
RUST_TARGET = "x86_64-unknown-linux-gnu"


def make_wheel(
    path: Path,
    members: dict[str, bytes],
    *,
    date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0),
    modes: dict[str, int] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time)
            info.external_attr = (modes or {}).get(name, 0o100644) << 16
            info.compress_type = compression
            archive.writestr(info, data)
    return path


def make_sdist(path: Path, members: dict[str, bytes], *, mtime: int = 0, uid: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.mode = len(data), mtime, uid, 0o644
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


CONTENTS = {
    "game_with_pyo3/__init__.py": b"from ._core import *\n",
    "game_with_pyo3/_core.abi3.so": b"\x7fELF" + bytes(range(256)),
    "game_with_pyo3-1.0.0.dist-info/RECORD": b"",
}


def pair(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    return first, second


def test_identical_directories_have_no_problems(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    make_wheel(first / WHEEL, CONTENTS)
    make_wheel(second / WHEEL, CONTENTS)
    make_sdist(first / SDIST, {"game_with_pyo3-1.0.0/PKG-INFO": b"Name: x\n"})
    make_sdist(second / SDIST, {"game_with_pyo3-1.0.0/PKG-INFO": b"Name: x\n"})
    (first / "SHA256SUMS").write_text("not an artifact, not compared")
    assert repro.compare(first, second) == []


def test_missing_and_extra_artifacts_are_named(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    make_wheel(first / WHEEL, CONTENTS)
    make_sdist(second / SDIST, {"a": b""})
    assert repro.compare(first, second) == [
        f"{WHEEL}: only in {first}",
        f"{SDIST}: only in {second}",
    ]


needs_diffoscope = pytest.mark.skipif(
    shutil.which("diffoscope") is None, reason="diffoscope is not installed"
)


def test_a_differing_pair_is_named_by_its_digests(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    make_wheel(first / WHEEL, CONTENTS)
    make_wheel(second / WHEEL, CONTENTS, date_time=(2026, 11, 29, 13, 8, 18))
    one, two = pipeline.sha256(first / WHEEL), pipeline.sha256(second / WHEEL)
    assert repro.compare(first, second, diffoscope=False) == [f"{WHEEL}: sha256 {one} vs {two}"]


@needs_diffoscope
def test_diffoscope_says_which_member_differs_and_how(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    make_wheel(first / WHEEL, {**CONTENTS, "game_with_pyo3/dnd.py": b"ROLL = 1\n"})
    make_wheel(second / WHEEL, {**CONTENTS, "game_with_pyo3/dnd.py": b"ROLL = 2\n"})
    problems = repro.compare(first, second)
    assert len(problems) == 2
    assert problems[1].startswith(f"{WHEEL}: diffoscope:\n")
    assert "game_with_pyo3/dnd.py" in problems[1]
    assert "-ROLL = 1" in problems[1]
    assert "+ROLL = 2" in problems[1]


@needs_diffoscope
def test_diffoscope_names_sdist_metadata_differences(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    members = {"game_with_pyo3-1.0.0/PKG-INFO": b"Name: x\n", "game_with_pyo3-1.0.0/a.rs": b""}
    make_sdist(first / SDIST, members, mtime=1795957698)
    make_sdist(second / SDIST, members, mtime=1153704088, uid=1000)
    report = repro.compare(first, second)[1]
    assert "game_with_pyo3-1.0.0/a.rs" in report
    assert "1000" in report


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = pair(tmp_path)
    make_wheel(first / WHEEL, CONTENTS)
    make_wheel(second / WHEEL, CONTENTS)
    args = repro.parser().parse_args(["compare", str(first), str(second)])
    assert (args.command, args.first, args.second) == ("compare", first, second)
    assert repro.main(["compare", str(first), str(second)]) == 0
    (second / WHEEL).unlink()
    assert repro.main(["compare", str(first), str(second), "--no-diffoscope"]) == 1
    assert f"{WHEEL}: only in {first}" in capsys.readouterr().out
    assert repro.main(["compare", str(first), str(tmp_path / "nowhere")]) == 1


def git(root: Path, *args: str, date: str = "2026-11-29T13:08:18+00:00") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": "2001-01-01T00:00:00+00:00",
        "GIT_COMMITTER_DATE": date,
    }
    subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)


def test_mirror_keeps_what_cargo_may_reuse_and_nothing_stale(tmp_path: Path) -> None:
    """A second copy into the same place: unchanged files keep their times (cargo reuses
    its work), a changed file is new (cargo rebuilds it), a removed one and its emptied
    directory are gone, and the copy's target/ is never touched."""
    source, dest = tmp_path / "source", tmp_path / "dest"
    files = {"src/lib.rs": b"fn a() {}\n", "src/old/mod.rs": b"", "Cargo.toml": b"[package]\n"}
    for name, data in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    repro.mirror({name: source / name for name in files}, dest)
    (dest / "target" / "release").mkdir(parents=True)
    (dest / "target" / "release" / "libx.so").write_bytes(b"built")
    old = time.time() - 3600
    for name in files:
        os.utime(dest / name, (old, old))
    (source / "src" / "lib.rs").write_bytes(b"fn b() {}\n")
    del files["src/old/mod.rs"]
    repro.mirror({name: source / name for name in files}, dest)
    assert (dest / "src" / "lib.rs").read_bytes() == b"fn b() {}\n"
    assert (dest / "src" / "lib.rs").stat().st_mtime > old + 1800
    assert (dest / "Cargo.toml").stat().st_mtime == old
    assert not (dest / "src" / "old").exists()
    assert (dest / "target" / "release" / "libx.so").read_bytes() == b"built"


def test_source_date_epoch_is_the_committer_time(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    with pytest.raises(pipeline.PipelineError, match="not the top of a git checkout"):
        repro.source_date_epoch(root)
    git(root, "init", "-q")
    with pytest.raises(pipeline.PipelineError, match="no commit"):
        repro.source_date_epoch(root)
    (root / "a").write_text("a")
    git(root, "add", "a")
    git(root, "commit", "-q", "-m", "a")  # the author date is older: the committer's counts
    assert repro.source_date_epoch(root) == 1795957698
    (root / "sub").mkdir()
    with pytest.raises(pipeline.PipelineError, match="not the top"):
        repro.source_date_epoch(root / "sub")


def test_reproducible_env_remaps_every_build_path(tmp_path: Path) -> None:
    root, home = tmp_path / "my checkout", tmp_path / "cargo home"
    env = {
        "RUSTFLAGS": "-C target-cpu=x86-64-v2",
        "RUSTUP_HOME": "/opt/rustup",
        "CARGO_TARGET_DIR": str(root / "target"),
        "PATH": "/usr/bin",
    }
    result = repro.reproducible_env(env, root=root, cargo_home=home, epoch=1795957698)
    assert env["RUSTFLAGS"] == "-C target-cpu=x86-64-v2"  # the caller's dict is untouched
    assert "RUSTFLAGS" not in result
    assert result["SOURCE_DATE_EPOCH"] == "1795957698"
    assert result["CARGO_HOME"] == str(home)
    assert result["PATH"] == "/usr/bin"
    flags = result["CARGO_ENCODED_RUSTFLAGS"].split("\x1f")
    assert flags == [
        "-C",
        "target-cpu=x86-64-v2",
        "--remap-path-prefix=/opt/rustup=/rustup",
        f"--remap-path-prefix={home}=/cargo",
        f"--remap-path-prefix={root}=/source",  # spaces survive: no splitting on them
        f"--remap-path-prefix={root}/target=/target",  # later: rustc's last match wins
    ]


def test_mach_o_builds_leave_the_debug_map_out(tmp_path: Path) -> None:
    def flags(target: str) -> list[str]:
        env = repro.reproducible_env(
            {}, root=tmp_path, cargo_home=tmp_path / "c", epoch=1, rust_target=target
        )
        return env["CARGO_ENCODED_RUSTFLAGS"].split("\x1f")

    assert flags("aarch64-apple-darwin")[:2] == ["-C", "link-arg=-Wl,-S"]
    assert "link-arg=-Wl,-S" not in flags(RUST_TARGET)
    assert "link-arg=-Wl,-S" not in flags("x86_64-pc-windows-msvc")


def test_reproducible_env_keeps_encoded_flags(tmp_path: Path) -> None:
    env = {"CARGO_ENCODED_RUSTFLAGS": "-Cdebuginfo=0\x1f-Cforce-frame-pointers=yes"}
    result = repro.reproducible_env(env, root=tmp_path, cargo_home=tmp_path / "c", epoch=1)
    assert result["CARGO_ENCODED_RUSTFLAGS"].split("\x1f")[:2] == [
        "-Cdebuginfo=0",
        "-Cforce-frame-pointers=yes",
    ]


def test_rustflags_from_cargo_config_are_refused_not_dropped(tmp_path: Path) -> None:
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config.toml").write_text(
        '[target.x86_64-unknown-linux-gnu]\nrustflags = ["-Ctarget-cpu=native"]\n'
    )
    with pytest.raises(pipeline.PipelineError, match=r"config\.toml would be replaced"):
        repro.reproducible_env({}, root=tmp_path, cargo_home=tmp_path / "c", epoch=1)
    with pytest.raises(pipeline.PipelineError, match="CARGO_BUILD_RUSTFLAGS"):
        repro.reproducible_env(
            {"CARGO_BUILD_RUSTFLAGS": "-g"}, root=tmp_path / "x", cargo_home=tmp_path, epoch=1
        )


# --- The release's own wheel -----------------------------------------------------------
# Two places building the same bytes is the rehearsal's reproduce stage (a rebuild of every
# artifact from a copy of the checkout elsewhere, another cargo home and target directory:
# test_rehearsal.py). Here: what one release wheel must hold for that to be true.


def _members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.mark.slow
@needs_diffoscope
def test_a_tampered_native_module_is_named(host_abi3_wheel: Path, tmp_path: Path) -> None:
    one, tampered = tmp_path / "one", tmp_path / "tampered"
    for place in (one, tampered):
        place.mkdir()
        shutil.copy2(host_abi3_wheel, place)
    wheel = tampered / host_abi3_wheel.name
    module = "game_with_pyo3/_core.abi3.so"
    members = _members(wheel)
    data = bytearray(members[module])
    data[len(data) // 2] ^= 0x01
    members[module] = bytes(data)
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
    with zipfile.ZipFile(wheel, "w") as archive:
        for info in infos:
            archive.writestr(info, members[info.filename])
    problems = repro.compare(one, tampered)
    assert problems[0].startswith(f"{wheel.name}: sha256 ")
    assert len(problems) == 2
    assert module in problems[1]


@pytest.mark.slow
def test_every_zip_entry_is_dated_source_date_epoch(host_abi3_wheel: Path) -> None:
    import datetime as dt

    stamp = dt.datetime.fromtimestamp(repro.release_epoch(ROOT), dt.UTC)
    # DOS time, the zip format's own, counts seconds in twos.
    expected = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second & ~1)
    with zipfile.ZipFile(host_abi3_wheel) as archive:
        assert {info.date_time for info in archive.infolist()} == {expected}


@pytest.mark.slow
def test_no_build_path_reaches_the_native_module(host_abi3_wheel: Path) -> None:
    with zipfile.ZipFile(host_abi3_wheel) as archive:
        module = archive.read("game_with_pyo3/_core.abi3.so")
    for path in (ROOT, build.cargo_home()):
        assert str(path).encode() not in module
    assert b"/cargo/registry/src/" in module  # panic locations of crates, remapped


def test_compare_is_wired_to_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "repro.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "compare" in result.stdout
