from __future__ import annotations

from pathlib import Path

import build
import pipeline
import pytest


def test_stale_artifacts_of_another_version_are_refused(tmp_path: Path) -> None:
    (tmp_path / "game_with_pyo3-0.0.1.tar.gz").write_text("old")
    with pytest.raises(pipeline.PipelineError, match=r"another version.*--clean"):
        build.check_out_dir(tmp_path, "1.0.0", clean=False)
    build.check_out_dir(tmp_path, "1.0.0", clean=True)
    assert list(tmp_path.iterdir()) == []


def test_unknown_targets_are_named() -> None:
    with pytest.raises(pipeline.PipelineError, match="windows-mips"):
        build.select_targets(False, ["windows-mips"])
    assert [t.id for t in build.select_targets(False, [])] == ["linux-x86_64"]


def test_windows_is_reported_not_faked(tmp_path: Path) -> None:
    report = build.BuildReport(out=tmp_path, version="1.0.0")
    windows = next(t for t in pipeline.load_targets() if t.id == "windows-x64")
    build.build_target(windows, tmp_path, report)
    assert report.built == []
    assert report.not_buildable == ["windows-x64: needs windows-2025; built in CI only"]


@pytest.mark.parametrize(
    ("target_id", "args"),
    [
        ("linux-x86_64", ["--zig", "--compatibility", "manylinux2014"]),
        ("linux-ppc64le", ["--zig", "--compatibility", "manylinux_2_28"]),
        ("musllinux-aarch64", ["--zig", "--compatibility", "musllinux_1_2"]),
        ("macos-arm64", ["--zig"]),
        ("windows-x64", []),
    ],
)
def test_compatibility_arguments(target_id: str, args: list[str]) -> None:
    target = next(t for t in pipeline.load_targets() if t.id == target_id)
    assert build.compatibility_args(target) == args


def test_missing_tool_is_a_clear_message() -> None:
    with pytest.raises(pipeline.PipelineError, match="no-such-tool"):
        pipeline.require_tools("no-such-tool")
