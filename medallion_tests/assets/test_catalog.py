"""The Dagster UI shows products, not a heap: every asset sits in its product's zone group,
carries the product and zone tags and the spec's owner, and tables carry the spec's column
descriptions."""

from __future__ import annotations

import dagster as dg
import pytest

from medallion.assets.catalog import dagster_owners, group_name
from medallion.assets.constants import PRODUCT_TAG, ZONE_TAG
from medallion.build import build_definitions
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import SpecError, load_spec
from medallion_tests.conftest import TINY_SPEC, home_settings, write


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped products' Definitions and their resolved asset graph."""
    defs = build_definitions(settings=home_settings(tmp_path_factory.mktemp("catalog")))
    return defs, defs.resolve_asset_graph()


def test_every_asset_sits_in_its_product_zone_group_with_tags_and_owner(shipped):
    _, graph = shipped
    owners = {"churn": ["team:customer-analytics"], "deliveries": ["team:logistics-operations"]}
    groups = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        product, zone = key.path[0], key.path[1]
        assert node.group_name == f"{product}_{zone}", key
        assert node.tags[PRODUCT_TAG] == product and node.tags[ZONE_TAG] == zone, key
        assert list(node.owners) == owners[product], key
        groups.add(node.group_name)
    assert {"churn_bronze", "churn_silver", "churn_gold", "churn_ml", "churn_monitoring"} <= groups
    assert {"deliveries_bronze", "deliveries_gold", "deliveries_ml"} <= groups


def test_a_product_tag_selects_its_assets_and_their_checks_only(shipped):
    _, graph = shipped
    selection = dg.AssetSelection.tag(PRODUCT_TAG, "deliveries")
    keys = selection.resolve(graph)
    assert keys == {k for k in graph.get_all_asset_keys() if k.path[0] == "deliveries"}
    checks = selection.resolve_checks(graph)
    assert checks and {c.asset_key.path[0] for c in checks} == {"deliveries"}
    assert dg.AssetCheckKey(dg.AssetKey(["deliveries", "silver", "shipments"]), "expectations") in (
        checks
    )


def test_kinds_show_the_technology_of_each_zone(shipped):
    _, graph = shipped
    kinds = {k.to_user_string(): graph.get(k).kinds for k in graph.get_all_asset_keys()}
    assert kinds["churn/bronze/payments"] == {"duckdb", "parquet"}
    assert kinds["churn/silver/payments"] == {"duckdb", "greatexpectations"}
    assert kinds["churn/gold/customer_features"] == {"duckdb", "sql", "greatexpectations"}
    assert kinds["churn/gold/daily_revenue"] == {"duckdb", "polars", "greatexpectations"}
    assert {"mlflow", "scikitlearn"} <= kinds["churn/ml/random_forest"]


def test_gold_tables_carry_their_description(shipped):
    _, graph = shipped
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    node = graph.get(dg.AssetKey(["churn", "gold", "customer_features"]))
    assert node.description.startswith(spec.gold["customer_features"].description.strip())


def test_owners_become_dagster_owners():
    assert dagster_owners("customer-analytics") == ["team:customer-analytics"]
    assert dagster_owners("team:data platform") == ["team:data platform"]
    assert dagster_owners("ana@example.com") == ["ana@example.com"]
    assert dagster_owners(None) == []


def test_an_owner_dagster_would_refuse_is_a_spec_error(tmp_path):
    text = TINY_SPEC.replace("name: shop\n", "name: shop\nowner: 'ana@example'\n", 1)
    path = write(tmp_path / "shop" / "product.yaml", text)
    with pytest.raises(SpecError, match=r"owner.*neither a team name nor a valid email"):
        load_spec(path)
    write(path, TINY_SPEC.replace("name: shop\n", "name: shop\nowner: '#ops'\n", 1))
    with pytest.raises(SpecError, match=r"owner.*a team name is letters"):
        load_spec(path)


def test_groups_are_named_like_the_duckdb_schemas(spec):
    assert group_name(spec, "silver") == spec.schema("silver")


def test_column_schema_carries_the_spec_descriptions(built_world):
    result = built_world.result

    def columns(node: str) -> dict[str, str | None]:
        metadata = result.asset_materializations_for_node(node)[0].metadata
        schema = metadata["dagster/column_schema"].schema
        return {c.name: c.description for c in schema.columns}

    silver = columns("churn__silver__customers")
    assert silver["region"] == "Sales region of the customer's address."
    assert silver["email"] == "HMAC-SHA256 pseudonym"
    assert silver["age_band"].startswith("Derived: CASE WHEN date_of_birth IS NULL")
    assert silver["_batch_id"].startswith("The delivery batch")
    bronze = columns("churn__bronze__customers")
    assert bronze["email"] == "PII, as delivered"
    gold = columns("churn__gold__customer_features")
    assert gold["tenure_days"] == "Days since the current subscription started."
    assert gold["region"] == "Sales region of the customer's address."  # inherited
