from __future__ import annotations

import shutil
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


def test_version_rule() -> None:
    assert gate.check_versions([ABI3, SDIST], V, None) == []
    assert gate.check_versions([ABI3], V, "v1.0.0") == []
    assert gate.check_versions([ABI3], V, "v1.0.1")[0].startswith("version: tag v1.0.1")
    old = ABI3.replace("1.0.0", "0.9.0")
    assert gate.check_versions([old], V, None) == [
        f"version: {old} is version 0.9.0, Cargo.toml says 1.0.0"
    ]
    assert gate.check_versions(["game_with_pyo3-x.whl"], V, None)[0].startswith("version:")


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
    assert all("binary" in result.checks[p.name] for p in dist.glob("*.whl"))


def test_real_artifacts_with_a_tampered_set_are_refused(
    rehearsal: tuple[Path, str], tmp_path: Path
) -> None:
    dist = _copy(rehearsal[0], tmp_path)
    ft = next(dist.glob("*-cp314t-*.whl"))
    ft.unlink()
    (dist / "notes.txt").write_text("stray")
    result = gate.run(dist, "host", tag="v9.9.9")
    text = "\n".join(result.problems)
    assert f"manifest: {ft.name} is missing" in text
    assert "manifest: notes.txt is not expected" in text
    assert "version: tag v9.9.9" in text
    assert not (dist / "SHA256SUMS").exists()


def test_broken_wheel_contents_are_refused(rehearsal: tuple[Path, str], tmp_path: Path) -> None:
    import zipfile

    dist = _copy(rehearsal[0], tmp_path)
    wheel = next(dist.glob("*abi3*.whl"))
    stripped = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(stripped, "w") as dst:
        for item in src.infolist():
            if not item.filename.endswith("_core.pyi"):
                dst.writestr(item, src.read(item))
    shutil.move(stripped, wheel)
    problems = gate.run(dist, "host").problems
    assert any("lacks game_with_pyo3/_core.pyi" in p for p in problems)


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
