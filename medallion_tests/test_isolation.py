"""Tests stand alone: no test module borrows from another (shared helpers live in conftest.py
or a helpers module), so running one file, or any order of files, needs nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _imported_test_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {n for n in names if n.startswith("medallion_tests") and n.split(".")[-1][:5] == "test_"}


def test_no_test_module_imports_another():
    borrowed = {
        str(path.relative_to(TESTS)): sorted(_imported_test_modules(path))
        for path in sorted(TESTS.rglob("*.py"))
        if _imported_test_modules(path)
    }
    assert borrowed == {}
