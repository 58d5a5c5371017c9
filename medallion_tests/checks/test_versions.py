"""Gold versions side by side: the comparison names lost keys and per-column differences."""

from __future__ import annotations

import pytest
import yaml

from medallion.checks.versions import compare_versions
from medallion.spec import SpecError, load_spec
from medallion.zones.tables import replace_table
from medallion_tests.conftest import TINY_SPEC, write


@pytest.fixture
def versioned(tmp_path):
    raw = yaml.safe_load(TINY_SPEC)
    raw["gold"]["revenue_by_country_v2"] = {
        "version_of": "revenue_by_country",
        "grain": ["country"],
        "sql": "SELECT 1 AS x",
    }
    return load_spec(write(tmp_path / "v" / "product.yaml", yaml.safe_dump(raw, sort_keys=False)))


def test_identical_keys_pass_and_column_changes_are_measured(con, versioned):
    replace_table(
        con,
        "shop_gold.revenue_by_country",
        "SELECT * FROM (VALUES ('NL', 10.0, 1), ('DE', 20.0, 2)) t(country, revenue, orders)",
    )
    replace_table(
        con,
        "shop_gold.revenue_by_country_v2",
        "SELECT * FROM (VALUES ('NL', 10.0, 'a'), ('DE', 30.0, 'b'), ('FR', 5.0, 'c')) t(country, revenue, tag)",
    )
    outcome = compare_versions(con, versioned, "revenue_by_country_v2")
    assert outcome.passed, outcome.description
    assert outcome.metadata["keys"] == {"base": 2, "new": 3, "shared": 2, "lost": 0, "gained": 1}
    assert outcome.metadata["columns_added"] == ["tag"]
    assert outcome.metadata["columns_removed"] == ["orders"]
    revenue = outcome.metadata["columns"]["revenue"]
    assert revenue["changed_share_on_shared_keys"] == 0.5
    assert revenue["mean_base"] == 15.0 and revenue["mean_new"] == 15.0


def test_losing_keys_fails_and_names_them(con, versioned):
    replace_table(
        con,
        "shop_gold.revenue_by_country",
        "SELECT * FROM (VALUES ('NL', 1), ('DE', 2), ('BE', 3)) t(country, revenue)",
    )
    replace_table(
        con,
        "shop_gold.revenue_by_country_v2",
        "SELECT * FROM (VALUES ('NL', 1)) t(country, revenue)",
    )
    outcome = compare_versions(con, versioned, "revenue_by_country_v2")
    assert not outcome.passed
    assert outcome.metadata["keys"]["lost"] == 2
    assert sorted(outcome.metadata["example_lost_keys"]) == ["BE", "DE"]
    assert "loses 2 of 3 keys" in outcome.description


def test_a_version_must_keep_the_grain_and_name_a_known_base(tmp_path):
    raw = yaml.safe_load(TINY_SPEC)
    raw["gold"]["v2"] = {
        "version_of": "revenue_by_country",
        "grain": ["customer_id"],
        "sql": "SELECT 1",
    }
    with pytest.raises(SpecError, match=r"gold\.v2\.grain: a version must keep the grain"):
        load_spec(write(tmp_path / "a" / "product.yaml", yaml.safe_dump(raw)))
    raw["gold"]["v2"] = {"version_of": "nope", "grain": ["country"], "sql": "SELECT 1"}
    with pytest.raises(SpecError, match=r"gold\.v2\.version_of: unknown gold product 'nope'"):
        load_spec(write(tmp_path / "b" / "product.yaml", yaml.safe_dump(raw)))
