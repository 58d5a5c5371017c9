"""docs/spec-reference.md stays true to medallion/spec.py: every field documented in its
section with its real default, the minimal example loads, and the README links to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from pydantic.fields import PydanticUndefined

from medallion import spec as spec_module
from medallion.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "spec-reference.md"
SECTIONS: dict[type[BaseModel], str] = {
    spec_module.ProductSpec: "## Top level",
    spec_module.SourceSpec: "## `sources.<name>`",
    spec_module.ColumnSpec: "## `sources.<name>.columns.<name>`",
    spec_module.RowRule: "## `sources.<name>.rules[]`",
    spec_module.Completeness: "## `sources.<name>.completeness`",
    spec_module.RevisionTolerance: "## `tolerance`",
    spec_module.GoldSpec: "## `gold.<name>`",
    spec_module.VersionComparison: "## `gold.<name>.comparison`",
    spec_module.IncrementalSpec: "## `gold.<name>.incremental`",
    spec_module.ModelSpec: "## `model`",
    spec_module.VariantSpec: "## `model.variants.<name>`",
    spec_module.GatesSpec: "## `model.gates`",
    spec_module.MonitoringSpec: "## `monitoring`",
    spec_module.ServiceSpec: "## `service`",
}


def _section(heading: str) -> str:
    text = REFERENCE.read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"{REFERENCE.name} has no section {heading!r}"
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def _rows(section: str) -> dict[str, str]:
    """Field name → its documented default, from the section's table (rows may list several
    fields and defaults, in the same order)."""
    documented: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 4:
            continue
        names = re.findall(r"`([a-z][a-z0-9_]*)`", cells[0])
        defaults = re.findall(r"`([^`]+)`", cells[2]) or [cells[2]]
        for index, name in enumerate(names):
            documented[name] = defaults[min(index, len(defaults) - 1)]
    return documented


def _matches(documented: str, default: object) -> bool:
    if isinstance(default, bool):
        return documented == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(documented) == float(default)
        except ValueError:
            return False
    return documented == str(default)


@pytest.mark.parametrize("model", list(SECTIONS), ids=lambda m: m.__name__)
def test_every_field_is_documented_with_its_default(model: type[BaseModel]) -> None:
    documented = _rows(_section(SECTIONS[model]))
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        assert name in documented, f"{model.__name__}.{name} is not documented in {REFERENCE}"
        default = field.default
        if default is PydanticUndefined or default is None or isinstance(default, list | dict):
            continue
        assert _matches(documented[name], default), (
            f"{model.__name__}.{name}: documented default {documented[name]!r}, "
            f"spec.py says {default!r}"
        )
    unknown = set(documented) - set(model.model_fields)
    assert not unknown, f"{SECTIONS[model]} documents fields spec.py does not have: {unknown}"


def test_the_minimal_example_loads(tmp_path: Path) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    example = text.split("## A complete minimal product", 1)[1].split("```yaml\n", 1)[1]
    path = tmp_path / "shop" / "product.yaml"
    path.parent.mkdir()
    path.write_text(example.split("```", 1)[0], encoding="utf-8")
    spec = load_spec(path)
    assert set(spec.sources) == {"customers", "orders"}
    assert spec.gold_inputs("revenue_by_country") == [("silver", "orders"), ("silver", "customers")]


def test_readme_links_the_reference_from_declaring_a_product() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Declaring a product", 1)[1].split("\n## ", 1)[0]
    assert "(docs/spec-reference.md)" in section
