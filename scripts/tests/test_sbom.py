"""The wheel's SBOM: free of build paths after normalize_wheel, and checked for the truth."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import stat
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import build
import pipeline
import pytest
import repro
import sbom
from conftest import ROOT, rewrite_wheel

DIST_INFO = "game_with_pyo3-1.0.0.dist-info"
SBOM = f"{DIST_INFO}/sboms/game-with-pyo3.cyclonedx.json"
RECORD = f"{DIST_INFO}/RECORD"
WHEEL = "game_with_pyo3-1.0.0-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
EPOCH = 1795957698

needs_validator = pytest.mark.skipif(
    importlib.util.find_spec("cyclonedx") is None,
    reason="cyclonedx-python-lib[json-validation] (release dependency group) is not installed",
)


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def make_wheel(path: Path, members: dict[str, bytes]) -> Path:
    """A wheel the way maturin writes one: fixed dates, modes, RECORD last."""
    record = "".join(record_line(n, d) for n, d in members.items()) + f"{RECORD},,\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**members, RECORD: record.encode()}.items():
            info = zipfile.ZipInfo(name, (2026, 11, 29, 13, 8, 18))
            info.external_attr = (0o100755 if name.endswith(".so") else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    path.chmod(0o644)
    return path


def document(root: str) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": "2026-11-29T13:08:18.000000000Z",
            "component": {
                "type": "library",
                "bom-ref": f"path+file://{root}#game-with-pyo3@1.0.0",
                "name": "game-with-pyo3",
                "version": "1.0.0",
                "purl": "pkg:cargo/game-with-pyo3@1.0.0?download_url=file://.",
            },
        },
        "components": [],
        "dependencies": [
            {"ref": f"path+file://{root}#game-with-pyo3@1.0.0", "dependsOn": []},
            {"ref": f"path+file://{root}-fork#other@1.0.0"},  # a path that only starts alike
        ],
    }


def sbom_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode()


def test_normalize_rewrites_build_paths_and_nothing_else(tmp_path: Path) -> None:
    root, home = tmp_path / "src", tmp_path / "src" / ".cargo"
    doc = document(str(root))
    doc["metadata"]["component"]["description"] = f"built with {home}/registry/src/x/a-1.0.0"
    wheel = make_wheel(
        tmp_path / WHEEL,
        {"game_with_pyo3/_core.abi3.so": b"\x7fELF\x00", SBOM: sbom_bytes(doc)},
    )
    with zipfile.ZipFile(wheel) as archive:
        before = archive.infolist()
    assert sbom.normalize_wheel(wheel, source_root=root, cargo_home=home) is True
    with zipfile.ZipFile(wheel) as archive:
        after = archive.infolist()
        new = json.loads(archive.read(SBOM))
        record = archive.read(RECORD).decode()
        assert archive.testzip() is None
    assert new["metadata"]["component"]["bom-ref"] == "path+file:///source#game-with-pyo3@1.0.0"
    assert new["metadata"]["component"]["description"] == "built with /cargo/registry/src/x/a-1.0.0"
    assert new["dependencies"][1]["ref"] == f"path+file://{root}-fork#other@1.0.0"
    assert new["components"] == doc["components"]
    assert [i.filename for i in after] == [i.filename for i in before]
    for old, rewritten in zip(before, after, strict=True):
        for field in ("date_time", "external_attr", "compress_type", "create_system"):
            assert getattr(old, field) == getattr(rewritten, field), (old.filename, field)
    with zipfile.ZipFile(wheel) as archive:
        assert record_line(SBOM, archive.read(SBOM)) in record
    assert stat.S_IMODE(wheel.stat().st_mode) == 0o644
    # Idempotent: the second run finds nothing and leaves the file alone.
    content = wheel.read_bytes()
    assert sbom.normalize_wheel(wheel, source_root=root, cargo_home=home) is False
    assert wheel.read_bytes() == content


def test_percent_encoded_spellings_are_rewritten(tmp_path: Path) -> None:
    root = tmp_path / "a b" / "src"
    doc = document(str(root).replace(" ", "%20"))
    new = json.loads(
        sbom.normalized_sbom(sbom_bytes(doc), source_root=root, cargo_home=tmp_path / "c")
    )
    assert new["metadata"]["component"]["bom-ref"] == "path+file:///source#game-with-pyo3@1.0.0"


def test_a_wheel_without_build_paths_is_left_alone(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / WHEEL, {SBOM: sbom_bytes(document("/source"))})
    content = wheel.read_bytes()
    assert not sbom.normalize_wheel(wheel, source_root=tmp_path / "x", cargo_home=tmp_path)
    assert wheel.read_bytes() == content


def test_an_inconsistent_record_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "src"
    wheel = make_wheel(tmp_path / WHEEL, {SBOM: sbom_bytes(document(str(root)))})
    with zipfile.ZipFile(wheel) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    members[SBOM] += b" "
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(pipeline.PipelineError, match=r"RECORD's line for .* does not match"):
        sbom.normalize_wheel(wheel, source_root=root, cargo_home=tmp_path / "cargo")


@pytest.mark.parametrize(
    "path",
    [
        "/home/runner/work/game-with-pyo3/game-with-pyo3",
        "path+file:///root/src#game-with-pyo3@1.0.0",
        "/tmp/build",  # noqa: S108 (a path to find, not to use)
        "C:\\Users\\me\\src",
        "path+file:///D:/a/game-with-pyo3#game-with-pyo3@1.0.0",
        "/Users/me/src",
        "/__w/game-with-pyo3/game-with-pyo3",
    ],
)
def test_build_paths_are_found(path: str) -> None:
    doc = document("/source")
    doc["metadata"]["component"]["description"] = path
    problems = sbom._determinism_problems(doc, None)
    assert problems == [
        f"determinism: metadata.component.description holds the build path {path!r}"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "https://github.com/home/tmp",
        "pkg:cargo/game-with-pyo3@1.0.0?download_url=file://.",
        "/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-0.30.1",
        "registry+https://github.com/rust-lang/crates.io-index#cfg-if@1.0.5",
        "MIT OR Apache-2.0",
    ],
)
def test_stable_spellings_are_not_build_paths(text: str) -> None:
    doc = document("/source")
    doc["metadata"]["component"]["description"] = text
    assert sbom._determinism_problems(doc, None) == []


def test_the_checkout_is_a_build_path_wherever_it_is() -> None:
    doc = document("/srv/game")
    assert sbom._determinism_problems(doc, None) == []
    assert sbom._determinism_problems(doc, None, Path("/srv/game")) == [
        "determinism: metadata.component.bom-ref holds the build path "
        "'path+file:///srv/game#game-with-pyo3@1.0.0'",
        "determinism: dependencies[0].ref holds the build path "
        "'path+file:///srv/game#game-with-pyo3@1.0.0'",
    ]


def test_serial_numbers_and_timestamps() -> None:
    doc = document("/source")
    assert sbom._determinism_problems(doc, EPOCH) == []
    random_serial = f"urn:uuid:{uuid.uuid4()}"
    derived = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'game-with-pyo3 1.0.0')}"
    assert sbom._determinism_problems({**doc, "serialNumber": derived}, EPOCH) == []
    assert sbom._determinism_problems({**doc, "serialNumber": random_serial}, EPOCH) == [
        f"determinism: serialNumber {random_serial} is not derived from the content "
        "(build with SOURCE_DATE_EPOCH set, and cargo-cyclonedx leaves it out)"
    ]
    assert sbom._determinism_problems(doc, EPOCH + 1) == [
        "determinism: timestamp 2026-11-29T13:08:18.000000000Z is not SOURCE_DATE_EPOCH "
        f"{EPOCH + 1} (2026-11-29T13:08:19+00:00)"
    ]


def test_a_wheel_without_sbom_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / WHEEL, {"game_with_pyo3/__init__.py": b""})
    assert sbom.check_wheel(wheel, tmp_path / "Cargo.lock", rust_target=RUST_TARGET) == [
        f"{WHEEL}: sbom: expected one SBOM under .dist-info/sboms/, found none"
    ]
    (tmp_path / "two").mkdir()
    two = make_wheel(
        tmp_path / "two" / WHEEL, {SBOM: b"{}", f"{DIST_INFO}/sboms/auditwheel.cdx.json": b"{}"}
    )
    assert sbom.check_wheel(two, tmp_path / "Cargo.lock", rust_target=RUST_TARGET) == [
        f"{WHEEL}: sbom: expected one SBOM under .dist-info/sboms/, found "
        f"{SBOM}, {DIST_INFO}/sboms/auditwheel.cdx.json"
    ]


# cyclonedx-python-lib without its json-validation extra (jsonschema) imports, but
# its validator raises instead of judging.
@pytest.mark.parametrize("missing", [("cyclonedx", "cyclonedx.schema"), ("jsonschema",)])
def test_a_missing_validator_fails_closed(
    monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...]
) -> None:
    for module in missing:
        monkeypatch.setitem(sys.modules, module, None)
    assert sbom._schema_problems("{}", "1.5") == [
        "schema: cannot validate, cyclonedx-python-lib[json-validation] is not installed "
        "(it is in the release dependency group)"
    ]


# --- The release's own wheel -------------------------------------------------------------


@pytest.fixture(scope="session")
def real(host_abi3_wheel: Path) -> Path:
    return host_abi3_wheel


RUST_TARGET = pipeline.host_target(pipeline.load_targets()).rust


def check(wheel: Path) -> list[str]:
    epoch = repro.release_epoch(ROOT)
    return sbom.check_wheel(wheel, ROOT / "Cargo.lock", rust_target=RUST_TARGET, epoch=epoch)


def as_built(real: Path, tmp_path: Path) -> Path:
    """The wheel as maturin wrote it, before normalize_wheel: its SBOM names this
    checkout and cargo home where the release's says /source and /cargo."""
    with zipfile.ZipFile(real) as source:
        (name,) = [n for n in source.namelist() if "/sboms/" in n]
        text = source.read(name).decode()
    text = text.replace(f"file://{repro.SOURCE_PLACEHOLDER}", f"file://{ROOT}")
    text = text.replace(repro.CARGO_HOME_PLACEHOLDER + "/", f"{build.cargo_home()}/")
    return rewrite_wheel(real, tmp_path / real.name, {name: (name, text.encode())})


@pytest.mark.slow
@needs_validator
def test_the_real_wheel_passes(real: Path, tmp_path: Path) -> None:
    assert check(real) == []
    # maturin's SBOM as built (with the checkout's path) is refused for that path alone,
    # and normalizing it gives the release's wheel back, member for member.
    raw = as_built(real, tmp_path)
    problems = check(raw)
    assert problems
    assert all("holds the build path" in p and str(ROOT) in p for p in problems)
    assert sbom.normalize_wheel(raw, source_root=ROOT, cargo_home=build.cargo_home())
    with zipfile.ZipFile(raw) as normalized, zipfile.ZipFile(real) as release:
        assert [(i.filename, normalized.read(i)) for i in normalized.infolist()] == [
            (i.filename, release.read(i)) for i in release.infolist()
        ]


def edited(real: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    wheel = tmp_path / real.name
    with zipfile.ZipFile(real) as source, zipfile.ZipFile(wheel, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if "/sboms/" in info.filename:
                doc = json.loads(data)
                edit(doc)
                data = json.dumps(doc, indent=2).encode()
            out.writestr(info, data)
    return wheel


def _component(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in doc["components"] if c["name"] == name)


def _add_crate(doc: dict[str, Any]) -> None:
    extra = {**_component(doc, "cfg-if"), "name": "left-pad", "version": "1.3.0"}
    extra["bom-ref"] = "registry+https://github.com/rust-lang/crates.io-index#left-pad@1.3.0"
    doc["components"].append(extra)


def _drop_crate(doc: dict[str, Any]) -> None:
    doc["components"].remove(_component(doc, "rand_core"))


def _wrong_version(doc: dict[str, Any]) -> None:
    _component(doc, "libc")["version"] = "0.2.1"


def _random_serial(doc: dict[str, Any]) -> None:
    doc["serialNumber"] = "urn:uuid:7a64e506-1681-4425-99f9-517e7a0c9aa7"


def _absolute_path(doc: dict[str, Any]) -> None:
    doc["metadata"]["component"]["bom-ref"] = "path+file:///home/runner/work/g#game-with-pyo3@0.1.0"


def _build_dep_as_required(doc: dict[str, Any]) -> None:
    _component(doc, "pyo3-build-config")["scope"] = "required"


def _wrong_hash(doc: dict[str, Any]) -> None:
    _component(doc, "rand")["hashes"][0]["content"] = "0" * 64


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_add_crate, "crates: the SBOM lists left-pad 1.3.0, not compiled for " + RUST_TARGET),
        (_drop_crate, "crates: the SBOM lacks rand_core "),
        (_wrong_version, "crates: the SBOM says libc 0.2.1, the build uses 0.2."),
        (_random_serial, "determinism: serialNumber urn:uuid:7a64e506-"),
        (
            _absolute_path,
            "determinism: metadata.component.bom-ref holds the build path "
            "'path+file:///home/runner/work/g#game-with-pyo3@0.1.0'",
        ),
        (_build_dep_as_required, "is build-time only but scoped 'required'"),
        (_wrong_hash, "has SHA-256 ['" + "0" * 64 + "'], Cargo.lock says "),
    ],
)
def test_a_wrong_sbom_is_refused_by_name(
    real: Path,
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    problems = check(edited(real, tmp_path, edit))
    mine = [p for p in problems if not p.startswith(f"{real.name}: schema:")]
    assert len(mine) == 1, problems
    assert expected in mine[0], problems


@pytest.mark.slow
@needs_validator
def test_an_invalid_document_is_refused_by_the_schema(real: Path, tmp_path: Path) -> None:
    def bad_scope(doc: dict[str, Any]) -> None:
        _component(doc, "rand")["scope"] = "sometimes"

    problems = check(edited(real, tmp_path, bad_scope))
    assert problems[0].startswith(f"{real.name}: schema: not valid CycloneDX 1.5: 'sometimes'")


@pytest.mark.slow
def test_the_normalized_wheel_installs_and_its_record_holds(real: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(real) as archive:
        record = archive.read(next(n for n in archive.namelist() if n.endswith("/RECORD")))
        for line in record.decode().splitlines():
            name = line.rsplit(",", 2)[0]
            if name.endswith("/RECORD"):
                continue
            assert record_line(name, archive.read(name)) == f"{line}\n", name
    env = pipeline.tool_env()
    for command in (
        [sys.executable, "-m", "zipfile", "-t", str(real)],
        ["twine", "check", "--strict", str(real)],
        ["check-wheel-contents", str(real)],
        [sys.executable, "-m", "venv", str(tmp_path / "venv")],
        [str(tmp_path / "venv/bin/python"), "-m", "pip", "install", "-q", "--no-index", str(real)],
        [
            str(tmp_path / "venv/bin/python"),
            "-c",
            "from game_with_pyo3 import dnd; assert dnd.roll_dice(10, 20, seed=42)[0] == 11",
        ],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, (command, result.stdout + result.stderr)
