"""Functions a person can hold in their head: none in medallion/ over 60 lines, but for the
few listed here, which may not grow. Run this file with `-s` to print the longest ones."""

from __future__ import annotations

import ast
from pathlib import Path

import medallion

PACKAGE = Path(medallion.__file__).parent
LIMIT = 60
LONGER = {
    "products/deliveries/generator.py:_day_parcels": 102,
    "products/deliveries/generator.py:_events": 84,
    "products/churn/transforms.py:daily_revenue": 83,
    "products/churn/generator.py:_customers": 75,
    "products/churn/generator.py:_population": 71,
    "checks/expectations.py:validate": 64,
    "products/churn/generator.py:_payments": 63,
}
"""Longer functions left as they are (the demo generators draw one world in one place), with
their line counts as ceilings."""


def function_lengths() -> dict[str, int]:
    """'<file>:<function>' -> lines, for every function and method of the package."""
    lengths = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"
                length = node.end_lineno - node.lineno + 1
                lengths[name] = max(length, lengths.get(name, 0))
    return lengths


def test_no_function_over_60_lines_but_the_listed_ones_which_do_not_grow():
    lengths = function_lengths()
    for name, lines in sorted(lengths.items(), key=lambda item: -item[1])[:15]:
        print(f"{lines:4d}  {name}")
    too_long = {name: lines for name, lines in lengths.items() if lines > LONGER.get(name, LIMIT)}
    assert not too_long, f"functions over {LIMIT} lines (split them): {too_long}"
    assert set(LONGER) <= set(lengths), "a listed function is gone: drop it from LONGER"
