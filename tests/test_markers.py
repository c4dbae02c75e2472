"""Every test that starts Python threads says so (marker `threads`), so that where an
interpreter has none (Pyodide) it skips with its reason instead of failing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# What starts a thread: threading's own, and this suite's helpers built on it.
STARTS_THREADS = ("Thread(", "Barrier(", "ThreadPoolExecutor(", "best_share_during(", "hammer(")
MARKED = ("threads", "subprocess")  # a subprocess test runs its threads elsewhere


def _marks(node: ast.AST) -> set[str]:
    names = set()
    for found in ast.walk(node):
        if (
            isinstance(found, ast.Attribute)
            and isinstance(found.value, ast.Attribute)
            and found.value.attr == "mark"
        ):
            names.add(found.attr)
    return names


@pytest.mark.parametrize("path", sorted(HERE.glob("test_*.py")), ids=lambda p: p.name)
def test_thread_starting_tests_are_marked(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    module_marks = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            module_marks |= _marks(node.value)
    unmarked = []
    for test in ast.walk(tree):
        if isinstance(test, ast.FunctionDef) and test.name.startswith("test_"):
            body = ast.get_source_segment(source, test) or ""
            marks = module_marks | set().union(*(_marks(d) for d in test.decorator_list))
            if any(call in body for call in STARTS_THREADS) and not marks & set(MARKED):
                unmarked.append(test.name)
    assert not unmarked, f"{path.name}: mark these @pytest.mark.threads: {unmarked}"
