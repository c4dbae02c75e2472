from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import gate
import pipeline
import pytest

V = "1.0.0"
ABI3 = f"game_with_pyo3-{V}-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
FT = f"game_with_pyo3-{V}-cp314-cp314t-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
BSD = f"game_with_pyo3-{V}-cp310-abi3-freebsd_14_3_release_amd64.whl"
SDIST = f"game_with_pyo3-{V}.tar.gz"


def test_manifest_rule_names_missing_and_extra() -> None:
    problems = gate.check_manifest([ABI3, "game_with_pyo3-0.9.0.tar.gz"], {ABI3, FT})
    assert problems == [
        f"manifest: {FT} is missing",
        "manifest: game_with_pyo3-0.9.0.tar.gz is not expected in this release",
    ]
    assert gate.check_manifest([ABI3, FT], {ABI3, FT}) == []


def test_a_wheel_of_another_version_is_refused_by_the_manifest() -> None:
    """The expected names carry Cargo.toml's version: a wheel of any other is extra,
    and the one it stands in for is missing."""
    (host,) = gate.scope_targets("host", pipeline.load_targets())
    expected = pipeline.expected_artifacts(V, [host])
    tag = host.wheel_tags()[0]
    ours, other = pipeline.wheel_name(V, tag), pipeline.wheel_name("0.9.0", tag)
    assert gate.check_manifest(sorted(expected - {ours} | {other}), expected) == [
        f"manifest: {ours} is missing",
        f"manifest: {other} is not expected in this release",
    ]


def test_pypi_split_keeps_freebsd_out_and_sdist_last() -> None:
    pypi, release_only = gate.split_for_pypi([SDIST, BSD, FT, ABI3])
    assert pypi == [ABI3, FT, SDIST]
    assert release_only == [BSD]


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        (ABI3, "manylinux_2_17_x86_64"),
        (BSD, None),
        ("g-1-cp310-abi3-musllinux_1_2_x86_64.whl", "musllinux_1_2_x86_64"),
    ],
)
def test_expected_auditwheel_policy(name: str, policy: str | None) -> None:
    assert gate.expected_policy(name) == policy


def test_scope_names() -> None:
    with pytest.raises(pipeline.PipelineError):
        gate.scope_targets("everything", [])


def _copy(dist: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "dist"
    copy.mkdir()
    for path in dist.iterdir():
        if path.name.endswith((".whl", ".tar.gz")):
            shutil.copy2(path, copy)
    return copy


def test_real_artifacts_pass_and_get_checksums(rehearsal: tuple[Path, str], tmp_path: Path) -> None:
    dist = _copy(rehearsal[0], tmp_path)
    result = gate.run(dist, "host")
    assert result.problems == []
    sums = (dist / "SHA256SUMS").read_text().splitlines()
    (host,) = gate.scope_targets("host", pipeline.load_targets())
    assert len(sums) == len(host.wheel_tags()) + 1  # and the sdist
    assert (dist / "pypi.txt").read_text().splitlines()[-1].endswith(".tar.gz")
    assert "abi3audit" in next(v for k, v in result.checks.items() if "abi3" in k)
    assert all({"binary", "contents"} <= set(result.checks[p.name]) for p in dist.glob("*.whl"))


def test_real_artifacts_with_a_tampered_set_are_refused(
    rehearsal: tuple[Path, str], tmp_path: Path
) -> None:
    dist = _copy(rehearsal[0], tmp_path)
    ft = next(dist.glob("*-cp314t-*.whl"))
    ft.unlink()
    (dist / "notes.txt").write_text("stray")
    abi3 = next(dist.glob("*-cp310-abi3-*.whl"))
    other = abi3.with_name(
        abi3.name.replace(f"-{pipeline.artifact_version(abi3.name)}-", "-9.9.9-")
    )
    abi3.rename(other)
    result = gate.run(dist, "host")
    text = "\n".join(result.problems)
    assert f"manifest: {ft.name} is missing" in text
    assert "manifest: notes.txt is not expected" in text
    assert f"manifest: {abi3.name} is missing" in text
    assert f"manifest: {other.name} is not expected" in text
    assert not (dist / "SHA256SUMS").exists()


def _with_members(
    wheel: Path, tmp_path: Path, drop: str = "", add: dict[str, bytes] | None = None
) -> None:
    """The wheel in place, without `drop` and with `add`, its RECORD written anew: what a
    build that missed or picked up a file would make."""
    from conftest import rewrite_wheel

    draft = tmp_path / f"draft-{wheel.name}"
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(draft, "w") as dst:
        for name, data in (add or {}).items():
            dst.writestr(name, data)
        for item in src.infolist():
            if item.filename != drop:
                dst.writestr(item, src.read(item))
    rewrite_wheel(draft, wheel)


def test_broken_wheel_contents_are_refused(
    rehearsal: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing package file and a source-tree file are check-wheel-contents' finds
    (pyproject.toml's [tool.check-wheel-contents]), a second native module
    wheel_inspect's."""
    from test_wheel_inspect import module_of

    dist = _copy(rehearsal[0], tmp_path)
    abi3 = next(dist.glob("*-cp310-abi3-*.whl"))
    ft = next(dist.glob("*-cp314t-*.whl"))
    abi3t = next(dist.glob("*.abi3t-*.whl"))
    _with_members(abi3, tmp_path, drop="game_with_pyo3/_core.pyi")
    _with_members(ft, tmp_path, add={"tests/test_dnd.py": b"def test(): pass\n"})
    second, module = module_of(abi3)
    _with_members(abi3t, tmp_path, add={second: module})
    monkeypatch.chdir(tmp_path)  # the gate names its configuration, wherever it runs
    problems = gate.run(dist, "host").problems
    assert (
        f"contents: {abi3}: W101: Wheel library is missing files in package tree:\n"
        "  game_with_pyo3/_core.pyi"
    ) in problems
    # check-wheel-contents names tests/ twice: a common name (W005), not the package (W202)
    (stray,) = [p for p in problems if p.startswith(f"contents: {ft}: ")]
    assert f"{ft}: W202: Wheel library has undeclared toplevel entry:\n  tests/" in stray
    assert f"binary: {abi3t.name}: {second} is a second extension module" in problems
    assert not (dist / "SHA256SUMS").exists()


def test_a_wheel_whose_inside_breaks_its_tags_is_refused(
    rehearsal: tuple[Path, str], tmp_path: Path
) -> None:
    """The abi3 wheel's own module under the cp314t name: one native module, a sound
    abi3 x86_64 ELF file, a consistent RECORD, so only the inside check can tell that no
    GIL interpreter would find it."""
    from conftest import rewrite_wheel
    from test_wheel_inspect import module_of

    dist = _copy(rehearsal[0], tmp_path)
    abi3 = next(dist.glob("*-cp310-abi3-*.whl"))
    name, data = module_of(abi3)
    ft_name = module_of(next(dist.glob("*-cp314t-*.whl")))[0]
    broken = rewrite_wheel(abi3, tmp_path / abi3.name, {name: (ft_name, data)})
    shutil.move(broken, abi3)
    result = gate.run(dist, "host")
    assert result.problems == [
        f"binary: {abi3.name}: carries {ft_name}; its tags (cp310-abi3 on linux x86_64) call for "
        "game_with_pyo3/_core.abi3.so"
    ]
    assert "binary" not in result.checks.get(abi3.name, [])
    assert not (dist / "SHA256SUMS").exists()


def test_musllinux_wheels_are_judged_by_the_policy_whitelist(tmp_path: Path) -> None:
    """auditwheel on a glibc host cannot judge a musllinux wheel; the gate checks the
    module's DT_NEEDED against auditwheel's musllinux whitelist instead."""
    allowed = gate.musllinux_whitelist("musllinux_1_2_x86_64")
    assert "libc.so" in allowed
    assert "libstdc++.so.6" not in allowed
    with pytest.raises(pipeline.PipelineError, match="musllinux_9_9"):
        gate.musllinux_whitelist("musllinux_9_9_x86_64")


@pytest.mark.parametrize(
    ("symbols", "refused"),
    [(["PyModExport__core"], False), (["PyInit__core"], False), (["_PyObject_GC_New"], True)],
)
def test_abi3audit_report_allows_only_the_modules_own_entry_points(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, symbols: list[str], refused: bool
) -> None:
    """abi3audit 0.0.26 predates PEP 793 and lists an abi3t module's own PyModExport_
    hook as non-abi3; any other symbol outside the stable ABI is refused."""
    import json

    def fake_tool(cmd: list[str]) -> tuple[int, str]:
        result = {
            "is_abi3": False,
            "is_abi3_baseline_compatible": True,
            "baseline": "3.15",
            "non_abi3_symbols": symbols,
            "future_abi3_objects": {},
        }
        report = {"specs": {"w": {"wheel": [{"name": "_core.abi3t.so", "result": result}]}}}
        Path(cmd[cmd.index("-o") + 1]).write_text(json.dumps(report))
        return 1, ""

    monkeypatch.setattr(gate, "_tool", fake_tool)
    problems = gate.check_abi3audit(tmp_path / "w.whl")
    assert bool(problems) is refused
    if refused:
        assert "_PyObject_GC_New" in problems[0]


def test_an_abi3audit_report_that_audited_nothing_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """abi3audit reads no WebAssembly (nor any format it does not know) and reports an
    empty wheel: that is nothing audited, not a pass."""
    import json

    def fake_tool(cmd: list[str]) -> tuple[int, str]:
        Path(cmd[cmd.index("-o") + 1]).write_text(json.dumps({"specs": {"w": {"wheel": []}}}))
        return 0, ""

    monkeypatch.setattr(gate, "_tool", fake_tool)
    assert gate.check_abi3audit(tmp_path / "w.whl") == [
        "abi3audit: w.whl: audited no native module"
    ]
