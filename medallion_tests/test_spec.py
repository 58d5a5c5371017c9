"""The spec loads the demo and the tiny product, and every malformed spec names file, field, problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import SpecError, load_spec, load_specs
from medallion_tests.conftest import TINY_SPEC, write


def _broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(TINY_SPEC)
    mutate(raw)
    return write(tmp_path / "bad" / "product.yaml", yaml.safe_dump(raw, sort_keys=False))


def test_demo_spec_loads_with_its_sql_file():
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    assert spec.name == "churn"
    assert set(spec.sources) == {
        "customers",
        "subscriptions",
        "usage_events",
        "payments",
        "support_tickets",
    }
    assert {s.format for s in spec.sources.values()} == {"csv", "parquet", "json"}
    assert spec.sources["customers"].pii_columns == ["full_name", "email", "phone", "date_of_birth"]
    assert set(spec.gold_inputs("customer_features")) == {
        ("silver", "usage_events"),
        ("silver", "subscriptions"),
        ("silver", "payments"),
        ("silver", "support_tickets"),
        ("silver", "customers"),
    }
    assert "{{" not in spec.render_sql("customer_features")
    assert "churn_silver.usage_events" in spec.render_sql("customer_features")
    assert len(spec.model.features) >= 15


def test_tiny_spec_tables_and_refs(spec):
    assert spec.table("silver", "orders") == "shop_silver.orders"
    assert spec.gold_inputs("revenue_by_country") == [("silver", "orders"), ("silver", "customers")]
    assert spec.gold_inputs("orders_per_customer") == [("silver", "orders")]
    assert spec.sources["orders"].required_columns == [
        "order_id",
        "customer_id",
        "ordered_at",
        "amount",
    ]


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (
            lambda r: r["sources"]["orders"]["columns"]["amount"].update(type="MONEY"),
            "sources.orders.columns.amount.type",
            "unsupported type 'MONEY'",
        ),
        (
            lambda r: r["sources"]["orders"].update(key=["order_no"]),
            "sources.orders",
            "key column(s) ['order_no'] are not declared",
        ),
        (lambda r: r["sources"]["orders"].pop("format"), "sources.orders.format", "Field required"),
        (
            lambda r: r["sources"]["orders"].update(format="xlsx"),
            "sources.orders.format",
            "'csv', 'parquet' or 'json'",
        ),
        (
            lambda r: r["sources"]["orders"]["columns"]["amount"].update(requird=True),
            "sources.orders.columns.amount.requird",
            "Extra inputs are not permitted",
        ),
        (lambda r: r.update(name="My Shop"), "name", "product name 'My Shop' must be lower case"),
        (
            lambda r: r["sources"]["customers"]["columns"]["customer_id"].update(pii=True),
            "sources.customers",
            "cannot be PII",
        ),
        (
            lambda r: r["gold"]["revenue_by_country"].update(polars="x:y"),
            "gold.revenue_by_country",
            "exactly one of sql, sql_file or polars",
        ),
        (
            lambda r: r["gold"]["orders_per_customer"].pop("inputs"),
            "gold.orders_per_customer",
            "needs its inputs",
        ),
    ],
)
def test_invalid_field_is_named_with_file_and_problem(tmp_path, mutate, field, problem):
    path = _broken(tmp_path, mutate)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert str(path) in message
    assert f"{field}:" in message
    assert problem in message


def test_unknown_ref_in_gold_sql(tmp_path):
    path = _broken(
        tmp_path,
        lambda r: r["gold"]["revenue_by_country"].update(
            sql="SELECT * FROM {{ silver.shipments }}"
        ),
    )
    with pytest.raises(
        SpecError, match=r"gold\.revenue_by_country\.sql: unknown table silver\.shipments"
    ):
        load_spec(path)


def test_cycle_between_gold_products(tmp_path):
    def mutate(raw):
        raw["gold"] = {
            "a": {"grain": ["x"], "sql": "SELECT * FROM {{ gold.b }}"},
            "b": {"grain": ["x"], "sql": "SELECT * FROM {{ gold.a }}"},
        }

    with pytest.raises(SpecError, match=r"cycle between gold products: a -> b -> a"):
        load_spec(_broken(tmp_path, mutate))


def test_missing_sql_file(tmp_path):
    path = _broken(
        tmp_path, lambda r: r["gold"]["revenue_by_country"].update(sql=None, sql_file="nope.sql")
    )
    with pytest.raises(SpecError, match=r"gold\.revenue_by_country\.sql_file: file not found"):
        load_spec(path)


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = write(tmp_path / "a" / "product.yaml", "name: [unclosed\n")
    with pytest.raises(SpecError, match=r"not valid YAML at line 2, column 1: expected"):
        load_spec(bad)
    listing = write(tmp_path / "b" / "product.yaml", "- a\n- b\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(listing)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "missing.yaml")


def test_two_products_with_one_name_are_refused(spec_path, tmp_path):
    copy = write(tmp_path / "other" / "product.yaml", spec_path.read_text())
    with pytest.raises(SpecError, match=r"name: product 'shop' also declared in"):
        load_specs([spec_path, copy])


def test_a_source_name_used_by_two_products_is_refused(spec_path, tmp_path):
    raw = yaml.safe_load(TINY_SPEC)
    raw["name"] = "other_shop"
    other = write(tmp_path / "other" / "product.yaml", yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=r"sources\.customers: also a source of product 'shop'"):
        load_specs([spec_path, other])
