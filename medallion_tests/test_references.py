"""Functions a spec names by file reference come from the spec's own folder."""

from __future__ import annotations

import shutil

import pytest

from medallion.references import load_reference
from medallion.scaffold import scaffold_product
from medallion.spec import SpecError, load_spec


def test_two_folders_of_one_product_each_run_their_own_file(tmp_path):
    """Two versions of a product side by side (same name, two folders) must not share the
    first folder's generator: each reference resolves to the file beside its spec."""
    specs = {}
    for version in ("v1", "v2"):
        scaffold_product("acme", tmp_path / version)
        generator = tmp_path / version / "acme" / "generator.py"
        with generator.open("a", encoding="utf-8") as file:
            file.write(f"\n\ndef version():\n    return {version!r}\n")
        specs[version] = load_spec(tmp_path / version / "acme" / "product.yaml")

    assert load_reference(specs["v1"], "generator.py:version", "generator")() == "v1"
    assert load_reference(specs["v2"], "generator.py:version", "generator")() == "v2"

    # a folder removed after its file was loaded does not serve another folder's spec
    shutil.rmtree(tmp_path / "v1")
    assert load_reference(specs["v2"], "generator.py:version", "generator")() == "v2"


def test_a_missing_function_names_the_spec_and_field(tmp_path):
    scaffold_product("acme", tmp_path)
    spec = load_spec(tmp_path / "acme" / "product.yaml")
    with pytest.raises(SpecError, match=r"product\.yaml: generator: 'generator\.py' has no"):
        load_reference(spec, "generator.py:nothing_here", "generator")
