from __future__ import annotations

import pipeline
import pytest
import versioning


def test_manifest_rows_are_consistent() -> None:
    """Every row's PyPI flag says what PyPI accepts, and a row CI tests on interpreters
    of its own has interpreters that pick each of its wheels (pipeline.test_pythons)."""
    targets = pipeline.load_targets()
    assert len({t.platform for t in targets}) == len(targets)
    for target in targets:
        assert target.abis, target.id
        assert target.pypi == all(pipeline.is_pypi_platform(p) for p in target.platform.split("."))
        if target.ci_test in ("native", "container", "vm"):
            assert target.ci_test_pythons, target.id


def test_manifest_refuses_a_freebsd_row_marked_for_pypi(tmp_path: pytest.TempPathFactory) -> None:
    bad = tmp_path / "manifest.toml"  # type: ignore[operator]
    bad.write_text(
        '[pythons]\nsupported=["3.11"]\n[[target]]\nid="f"\nos="freebsd"\nmachines=["amd64"]\nbits=64\nlibc=""\n'
        'rust="x86_64-unknown-freebsd"\nplatform="freebsd_14_4_release_amd64"\n'
        'abis=["abi3"]\npypi=true\nlocal=true\nci_build="u"\nci_test="vm"\nci_test_runner="u"\n'
        'ci_test_pythons=["3.11"]\n'
    )
    with pytest.raises(pipeline.PipelineError, match="PyPI refuses"):
        pipeline.load_targets(bad)


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("game_with_pyo3-1.0.0-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", True),
        ("game_with_pyo3-1.0.0-cp310-abi3-musllinux_1_2_aarch64.whl", True),
        ("game_with_pyo3-1.0.0-cp310-abi3-macosx_11_0_arm64.whl", True),
        ("game_with_pyo3-1.0.0-cp314-cp314t-win_arm64.whl", True),
        ("game_with_pyo3-1.0.0-cp310-abi3-win32.whl", True),
        ("game_with_pyo3-1.0.0.tar.gz", True),
        ("game_with_pyo3-1.0.0-cp310-abi3-freebsd_14_3_release_amd64.whl", False),
        ("game_with_pyo3-1.0.0-cp310-abi3-linux_x86_64.whl", False),
        ("game_with_pyo3-1.0.0-cp310-abi3-manylinux_2_17_x86_64.linux_x86_64.whl", False),
    ],
)
def test_pypi_platform_allow_list(name: str, accepted: bool) -> None:
    assert pipeline.pypi_accepts(name) is accepted


@pytest.mark.parametrize(
    ("cargo", "python"),
    [("1.2.0", "1.2.0"), ("1.2.0-rc.1", "1.2.0rc1"), ("0.3.0-alpha.2", "0.3.0a2")],
)
def test_version_spellings(cargo: str, python: str) -> None:
    assert versioning.python_version(cargo) == python


def test_expected_artifacts_for_the_host() -> None:
    host = pipeline.host_target(pipeline.load_targets())
    names = pipeline.expected_artifacts("1.0.0", [host])
    assert names == {
        "game_with_pyo3-1.0.0.tar.gz",
        "game_with_pyo3-1.0.0-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "game_with_pyo3-1.0.0-cp314-cp314t-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "game_with_pyo3-1.0.0-cp315-abi3.abi3t-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "game_with_pyo3-1.0.0-pp311-pypy311_pp73-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    }


@pytest.mark.parametrize(
    ("python", "kind"),
    [
        ("3.10", "abi3"),
        ("3.13", "abi3"),
        ("3.14", "abi3"),
        ("3.14t", "cp314t"),
        ("3.15", "abi3t"),
        ("3.15t", "abi3t"),
        ("3.16", "abi3t"),
        ("3.16t", "abi3t"),
        ("pypy3.11", "pypy311"),
        ("pypy3.11-pp80", None),
        ("3.13t", None),
        ("3.9", None),
    ],
)
def test_which_wheel_each_interpreter_picks(python: str, kind: str | None) -> None:
    """packaging's tag order over a row's wheels: 3.10-3.14 take abi3, 3.14t cp314t,
    3.15 and later (GIL or free-threaded) abi3t, PyPy 7.3 the pp73 wheel; Debian's PyPy
    8 (pp80) and 3.13t have none and build from the sdist."""
    import tags

    host = pipeline.host_target(pipeline.load_targets())
    chosen = tags.picks(python, host.platform, host.wheel_names("1.0.0"))
    assert (pipeline.kind_of(chosen) if chosen else None) == kind


def test_readme_names_every_wheel_kind_and_who_picks_it() -> None:
    """The README's install table and the manifest's kinds (and tags.py) agree."""
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kind in pipeline.WHEEL_KINDS.values():
        assert f"| `{kind.tag}` |" in readme, kind.tag
