"""The proof, offline from uv.lock, that every CI test cell can install the suite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pipeline
import pytest
import tags
import testdeps

TARGETS = pipeline.load_targets()
CELLS = testdeps.cells(TARGETS)


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: f"{c.target.id}-{c.python}")
def test_every_cell_installs_the_core_suite_from_wheels(cell: testdeps.Cell) -> None:
    needs = testdeps.requirements(cell)
    names = {pin.name for pin in needs.pins}
    assert {"pytest", "pytest-run-parallel", "pytest-timeout"} <= names
    for pin in needs.pins:
        assert pin.wheel_for(cell) is not None, pin
        assert all(digest.startswith("sha256:") for _, digest in pin.wheels)


def _cell(target_id: str, python: str) -> testdeps.Cell:
    return testdeps.Cell(next(t for t in TARGETS if t.id == target_id), python)


def test_hypothesis_is_left_out_only_where_it_has_no_wheel() -> None:
    armv7 = testdeps.requirements(_cell("linux-armv7", "3.14t"))
    assert "hypothesis" not in {p.name for p in armv7.pins}
    assert armv7.skipped
    assert armv7.skipped[0].startswith("hypothesis: no wheel for 3.14t on manylinux2014_armv7l")
    x86_64 = testdeps.requirements(_cell("linux-x86_64", "3.14t"))
    assert "hypothesis" in {p.name for p in x86_64.pins}
    assert x86_64.skipped == ()


def test_versions_follow_the_interpreter() -> None:
    old = {p.name: p.version for p in testdeps.requirements(_cell("linux-x86_64", "3.10")).pins}
    new = {p.name: p.version for p in testdeps.requirements(_cell("linux-x86_64", "3.15")).pins}
    # Python 3.10 needs backports that later versions do not install.
    assert "exceptiongroup" in old
    assert "tomli" in old
    assert "tomli" not in new
    assert old["hypothesis"] != new["hypothesis"]


def test_requirements_file_pins_and_hashes_every_wheel() -> None:
    text = testdeps.requirements(_cell("windows-x64", "3.15")).requirements_text()
    lines = text.splitlines()
    assert any(line.startswith("colorama==") for line in lines)  # pytest's Windows dependency
    for line in lines:
        name_version, *hashes = line.split()
        assert "==" in name_version
        assert hashes
        assert all(h.startswith("--hash=sha256:") for h in hashes)


def test_a_platform_without_wheels_fails_the_proof() -> None:
    """Adding a row whose cells cannot install the suite from wheels fails the suite."""
    mips = dataclasses.replace(
        TARGETS[0],
        id="linux-mips",
        machines=("mips",),
        platform="manylinux_2_17_mips",
        ci_test_pythons=("3.13",),
    )
    lock = _lock_with_native_pytest_timeout()
    with pytest.raises(
        pipeline.PipelineError, match=r"linux-mips on 3\.13: no wheel.*pytest-timeout"
    ):
        testdeps.requirements(testdeps.Cell(mips, "3.13"), lock)


def _lock_with_native_pytest_timeout() -> testdeps.Lock:
    """The real lock, but pytest-timeout ships only an x86_64 wheel."""
    lock = testdeps.Lock()
    (entry,) = lock.packages["pytest-timeout"]
    entry["wheels"] = [
        {
            "url": "https://example.invalid/pytest_timeout-9-cp313-cp313-manylinux_2_17_x86_64.whl",
            "hash": "sha256:" + "0" * 64,
        }
    ]
    return lock


@pytest.mark.parametrize(
    ("tag", "expected", "absent"),
    [
        (
            "manylinux2014_x86_64.manylinux_2_17_x86_64",
            {
                "manylinux_2_17_x86_64",
                "manylinux2014_x86_64",
                "manylinux_2_5_x86_64",
                "linux_x86_64",
            },
            {"manylinux_2_28_x86_64"},
        ),
        ("manylinux_2_28_ppc64le", {"manylinux_2_28_ppc64le", "manylinux2014_ppc64le"}, set()),
        ("musllinux_1_2_aarch64", {"musllinux_1_1_aarch64", "musllinux_1_2_aarch64"}, set()),
        (
            "macosx_11_0_arm64",
            {"macosx_11_0_arm64", "macosx_11_0_universal2"},
            {"macosx_12_0_arm64"},
        ),
        ("win_amd64", {"win_amd64"}, {"win32"}),
    ],
)
def test_installer_platforms(tag: str, expected: set[str], absent: set[str]) -> None:
    platforms = set(tags.installer_platforms(tag))
    assert expected <= platforms
    assert not (absent & platforms)


def test_unknown_group_is_named(tmp_path: Path) -> None:
    with pytest.raises(pipeline.PipelineError, match="no-such-group"):
        testdeps.Lock().group("no-such-group")


def test_a_dependency_that_installs_but_does_not_load_is_left_out(tmp_path: Path) -> None:
    """After a CI cell is installed (suite.py, debian_root.py): an optional dependency
    whose import fails (a stand-in whose import raises, as hypothesis's pp73 wheel does
    on an older PyPy) is left out with the reason and the cell installed again without
    it; one that loads stays."""
    import shutil
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    bodies = {"brokenpkg": "raise ImportError('undefined symbol: X')\n", "goodpkg": ""}
    installs = []

    def install(needs: testdeps.CellRequirements) -> None:
        installs.append(needs)
        for name in bodies:
            shutil.rmtree(site / name, ignore_errors=True)
        for name, _ in needs.optional:
            (site / name).mkdir()
            (site / name / "__init__.py").write_text(bodies[name])

    needs = dataclasses.replace(
        testdeps.requirements(_cell("linux-x86_64", "3.14")),
        optional=(("brokenpkg", ("brokenpkg",)), ("goodpkg", ("goodpkg",))),
    )
    final = testdeps.install_loadable(
        needs,
        install,
        lambda *args: subprocess.run(
            [str(python), *args], capture_output=True, text=True, check=False
        ),
        "this interpreter",
    )
    assert len(installs) == 2
    assert final.skipped[len(needs.skipped) :] == (
        "brokenpkg: its wheel does not load on this interpreter (ImportError: undefined symbol: X)",
    )
    assert [name for name, _ in final.optional] == ["goodpkg"]
    assert not (site / "brokenpkg").exists()
    assert (site / "goodpkg" / "__init__.py").exists()
