"""The layout holds: pure packages stay pure, Dagster wiring stays in its place, and no two of
medallion's top-level packages or modules import each other, directly or round a loop.

Imports are read with ast (every import statement, including those inside functions and
under TYPE_CHECKING), so nothing is imported to check them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import medallion

PACKAGE = Path(medallion.__file__).parent

PURE = ("checks", "generate", "ml", "monitoring", "privacy", "service", "zones")
"""Packages of pure logic: no Dagster, no Dagster wiring."""

DAGSTER_ALLOWED = {
    "assets",
    "bench",
    "build",
    "cli",
    "demo",
    "lake",
    "operation",
    "preload_zones",
    "resources",
    "side_by_side",
    "simulate",
    "story",
    "timeline",
}
"""The only units that may import Dagster: the wiring layer (assets), the Dagster resources,
the factory, the lake profile's Dagster instance (`lake/instance.py`: its PostgreSQL storage
and pools), what a run's fork server imports (`preload_zones.py`: the instance's storage),
and the entry points that run Dagster (CLI, demo and its timeline, side-by-side
processes and story, the in-process daily operation, simulator, benchmarks)."""

WIRING = ("medallion.assets", "medallion.build", "medallion.definitions")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module an import statement of `path` names, with its line."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _unit(module: str) -> str | None:
    """The top-level package or module of medallion a module belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "medallion" and len(parts) > 1 else None


def _modules() -> dict[Path, list[tuple[str, int]]]:
    return {path: _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def _graph() -> dict[tuple[str, str], list[str]]:
    """Edges between medallion's units, each with the file:line of the imports behind it."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, imports in _modules().items():
        source = _unit(_module_name(path))
        for name, line in imports:
            target = _unit(name)
            if source and target and source != target:
                edges[source, target].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return edges


def _pop_through(stack: list[str], node: str) -> list[str]:
    """Pop `stack` down to and including `node`: one strongly connected component."""
    component = stack[stack.index(node) :]
    del stack[stack.index(node) :]
    return component


def _cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    successors: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        successors[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(successors[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = _pop_through(stack, node)
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(successors):
        if node not in index:
            visit(node)
    return components


def test_the_import_graph_is_read():
    edges = _graph()
    assert ("build", "assets") in edges and ("assets", "monitoring") in edges
    assert _cycles({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == [
        ["a", "b", "c"]
    ]


def test_no_import_cycle_between_top_level_packages():
    edges = _graph()
    loops = [
        f"{' <-> '.join(component)}: "
        + "; ".join(
            f"{s} -> {t} ({edges[s, t][0]})"
            for s in component
            for t in component
            if (s, t) in edges
        )
        for component in _cycles(edges)
    ]
    assert not loops, "\n".join(loops)


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_import_neither_dagster_nor_the_wiring(package):
    offending = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path, imports in _modules().items()
        if _unit(_module_name(path)) == package
        for name, line in imports
        if name.split(".")[0] == "dagster" or name.startswith("dagster_") or name.startswith(WIRING)
    ]
    assert not offending, "\n".join(offending)


def test_only_the_wiring_and_entry_points_import_dagster():
    importers = {
        _unit(_module_name(path))
        for path, imports in _modules().items()
        if any(n.split(".")[0] == "dagster" or n.startswith("dagster_") for n, _ in imports)
    }
    assert "assets" in importers
    assert importers <= DAGSTER_ALLOWED, sorted(importers - DAGSTER_ALLOWED)
