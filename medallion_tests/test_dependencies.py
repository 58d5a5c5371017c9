"""Dependencies are honest: every third-party module medallion (or its tests) imports is declared
in pyproject.toml, so nothing works only because another package happened to pull it in."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from medallion.ml.registry import REQUIREMENTS

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FIRST_PARTY = {"medallion", "medallion_tests"}


def _normalized(name: str) -> str:
    """PEP 503: `Great_Expectations` and `great-expectations` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*extras: str) -> set[str]:
    """The distributions the core dependencies and `extras` install; an extra that names
    medallion's own extras (dev: `medallion[lake,deploy]`) brings theirs."""
    requirements = list(PYPROJECT["project"]["dependencies"])
    pending = list(extras)
    while pending:
        for requirement in PYPROJECT["project"]["optional-dependencies"][pending.pop()]:
            own = re.fullmatch(r"medallion\[([\w,\s-]+)\]", requirement)
            if own:
                pending += [extra.strip() for extra in own.group(1).split(",")]
            else:
                requirements.append(requirement)
    return {_normalized(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}


def _third_party_imports(folder: Path, leave_out: Path | None = None) -> dict[str, Path]:
    """Top-level module name -> one file importing it (function-level imports included),
    files below `leave_out` left out."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        if leave_out is not None and path.is_relative_to(leave_out):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, path)
    return found


def _undeclared(folder: Path, declared: set[str], leave_out: Path | None = None) -> list[str]:
    distributions = packages_distributions()
    problems = []
    for module, path in sorted(_third_party_imports(folder, leave_out).items()):
        provided_by = {_normalized(d) for d in distributions.get(module, [])}
        if not provided_by & declared:
            problems.append(
                f"{path.relative_to(folder)} imports {module!r} (distribution "
                f"{sorted(provided_by) or 'not installed'}), not declared in pyproject.toml"
            )
    return problems


def test_every_import_of_the_package_is_a_declared_dependency():
    imports = _third_party_imports(ROOT / "medallion")
    assert {"dagster", "duckdb", "pandas", "scipy", "sklearn"} <= set(imports)
    # the lake profile's modules may import what the `lake` extra installs
    lake = ROOT / "medallion" / "lake"
    assert _undeclared(ROOT / "medallion", _declared(), leave_out=lake) == []
    assert _undeclared(lake, _declared("lake")) == []


def test_every_import_of_the_tests_is_declared_with_the_dev_extra():
    assert "pytest" in _third_party_imports(ROOT / "medallion_tests")
    assert _undeclared(ROOT / "medallion_tests", _declared("dev")) == []


def test_the_logged_models_requirements_are_declared():
    """The pip requirements written with every logged model name packages medallion installs."""
    assert {_normalized(r) for r in REQUIREMENTS} <= _declared()


@pytest.mark.parametrize("name", ["dagster-duckdb-polars"])
def test_a_package_nothing_imports_is_not_declared(name):
    module = name.replace("-", "_")
    assert module not in _third_party_imports(ROOT / "medallion")
    assert name not in _declared()


def test_the_check_names_an_undeclared_import(tmp_path):
    (tmp_path / "uses_yaml.py").write_text("import os\nfrom yaml import safe_load\n")
    problems = _undeclared(tmp_path, declared={"dagster"})
    assert problems == [
        "uses_yaml.py imports 'yaml' (distribution ['pyyaml']), not declared in pyproject.toml"
    ]
