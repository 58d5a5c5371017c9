"""The Great Expectations suite from the spec, validated in DuckDB through the shim."""

from __future__ import annotations

import html
import re
from pathlib import Path

import jinja2
from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)
from great_expectations.render.view.view import DefaultJinjaPageView

from medallion.checks import expectations, gx_duckdb, gx_templates
from medallion.resources.pseudonymization import hmac_pads
from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import gold_changed_keys_table, load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.silver import build_silver
from medallion.zones.tables import replace_table


def test_shim_still_fits_great_expectations():
    """Fails when GX changes the method the shim wraps: revisit gx_duckdb.py then."""
    assert hasattr(SqlAlchemyExecutionEngine, "_execute_query_with_recovery")
    gx_duckdb.install()
    gx_duckdb.install()
    assert getattr(SqlAlchemyExecutionEngine.execute_query, "_medallion_buffered", False)


def test_data_docs_views_compile_each_template_once(monkeypatch):
    """Every GX view shares one bytecode cache: a second view renders without compiling."""
    gx_templates.install()
    gx_templates.install()
    first, second = DefaultJinjaPageView(), DefaultJinjaPageView()
    assert first.env.bytecode_cache is second.env.bytecode_cache is gx_templates.CACHE
    rendered = first.env.get_template("favicon.j2").render(static_images_dir="img/")
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        compiled.append(name)
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    assert second.env.get_template("favicon.j2").render(static_images_dir="img/") == rendered
    assert compiled == []


def test_suite_is_planned_from_the_spec(spec):
    labels = {(p.label, p.severity) for p in expectations.plan_suite(spec, "customers")}
    assert ("ExpectColumnValuesToNotBeNull(email)", "quarantine") in labels
    assert ("ExpectColumnValuesToBeInSet(country)", "quarantine") in labels
    assert not any("Unique" in label for label, _ in labels)  # checked as rows = keys
    assert not any("birth_date" in label and "Between" in label for label, _ in labels)


def test_validation_runs_in_duckdb_and_reports_counts(tmp_path, con, spec, landing):
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
        build_silver(con, spec, source, hmac_pads(b"k" * 32))
    con.execute(
        "INSERT INTO shop_silver.customers SELECT * REPLACE ('XX' AS country) FROM shop_silver.customers LIMIT 1"
    )
    con.close()
    outcome = expectations.validate(tmp_path / "warehouse.duckdb", spec, "customers")
    results = {r["expectation"]: r for r in outcome.metadata["results"]}
    assert not any("error" in r for r in results.values()), results
    assert results["ExpectColumnValuesToBeInSet(country)"]["unexpected_count"] == 1
    assert results["ExpectTableRowCountToBeBetween(table)"]["observed_value"] == 3
    assert not outcome.passed
    assert outcome.metadata["failed_blocking"] == ["ExpectColumnValuesToBeInSet(country)"]
    ok = expectations.validate(tmp_path / "warehouse.duckdb", spec, "orders")
    assert ok.passed, ok.metadata


def test_a_validation_opens_the_warehouse_once(tmp_path, con, spec, landing, monkeypatch):
    """GX asks for a connection per engine it builds; they are sessions of one connection
    (opening one on the lake costs about 0.3 s), all closed when the validation ends: the
    file opens read-write again in this process."""
    ingest_source(con, spec, "orders", landing)
    build_silver(con, spec, "orders", hmac_pads(b"k" * 32))
    con.close()
    opened = []

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(expectations, "connect", counting)
    assert expectations.validate(tmp_path / "warehouse.duckdb", spec, "orders").passed
    assert len(opened) == 1
    with connect(tmp_path / "warehouse.duckdb") as again:
        assert again.execute("SELECT count(*) FROM shop_silver.orders").fetchone()[0] > 0


def test_a_declared_column_missing_from_silver_fails_the_suite(tmp_path, con, spec, landing):
    ingest_source(con, spec, "orders", landing)
    build_silver(con, spec, "orders", hmac_pads(b"k" * 32))
    con.execute("ALTER TABLE shop_silver.orders DROP COLUMN coupon")
    con.close()
    outcome = expectations.validate(tmp_path / "warehouse.duckdb", spec, "orders")
    assert not outcome.passed
    assert outcome.metadata["failed_blocking"] == ["ExpectTableColumnsToMatchSet(table)"]
    [columns] = [
        r for r in outcome.metadata["results"] if r["expectation"].startswith("ExpectTableColumns")
    ]
    assert "coupon" not in columns["observed_value"]


def test_validation_of_new_batches_reads_only_their_rows(tmp_path, con, spec, landing):
    ingest_source(con, spec, "customers", landing)
    build_silver(con, spec, "customers", hmac_pads(b"k" * 32))
    con.execute("UPDATE shop_silver.customers SET country = 'XX' WHERE customer_id = 10")
    (landing / "customers" / "customers_2026-01-02.json").write_text(
        '{"customer_id": 12, "email": "c@x.io", "country": "BE", "updated_at": "2026-01-02 09:00:00"}\n'
    )
    ingest_source(con, spec, "customers", landing)
    merged = build_silver(con, spec, "customers", hmac_pads(b"k" * 32))
    con.close()
    warehouse = tmp_path / "warehouse.duckdb"
    new = expectations.validate(warehouse, spec, "customers", batches=merged.batches)
    results = {r["expectation"]: r for r in new.metadata["results"]}
    assert new.passed and results["ExpectTableRowCountToBeBetween(table)"]["observed_value"] == 1
    assert not expectations.validate(warehouse, spec, "customers").passed


def _page_text(path: Path) -> str:
    """A Data Docs page as the words a person reads (tags, scripts and styles removed)."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_a_failing_validation_has_a_data_docs_page_naming_the_expectation(
    tmp_path, con, spec, landing
):
    ingest_source(con, spec, "customers", landing)
    build_silver(con, spec, "customers", hmac_pads(b"k" * 32))
    con.execute("UPDATE shop_silver.customers SET country = 'XX' WHERE customer_id = 10")
    con.close()
    outcome = expectations.validate(tmp_path / "warehouse.duckdb", spec, "customers", run_id="r1")
    assert not outcome.passed
    page = outcome.metadata["data_docs"].path
    assert page.is_file() and page.is_relative_to(tmp_path / "gx" / "shop" / "docs")
    assert "/shop/silver/customers/r1/" in page.as_uri()
    text = _page_text(page)
    assert "Expectation Suite: shop.silver.customers" in text and "Status: Failed" in text
    assert "Unsuccessful Expectations 1" in text
    failing = text[text.index(" country ") :]
    assert "values must belong to this set: NL DE BE FR" in failing
    assert "1 unexpected values found" in failing and "XX" in failing
    index = outcome.metadata["data_docs_index"].path
    assert index == tmp_path / "gx" / "shop" / "docs" / "index.html"
    assert page.relative_to(index.parent).as_posix() in index.read_text(encoding="utf-8")


def test_every_validation_is_kept_and_listed_in_the_index(tmp_path, con, spec, landing):
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
        build_silver(con, spec, source, hmac_pads(b"k" * 32))
    con.close()
    warehouse = tmp_path / "warehouse.duckdb"
    pages = [
        expectations.validate(warehouse, spec, source, run_id=run).metadata["data_docs"].path
        for source, run in (("customers", "r1"), ("orders", "r1"), ("customers", "r2"))
    ]
    assert len(set(pages)) == 3 and all(p.is_file() for p in pages)
    assert "Status: Succeeded" in _page_text(pages[2])
    index = (tmp_path / "gx" / "shop" / "docs" / "index.html").read_text(encoding="utf-8")
    assert all(p.relative_to(tmp_path / "gx" / "shop" / "docs").as_posix() in index for p in pages)
    kept = sorted((tmp_path / "gx" / "shop" / "validations").rglob("*.json"))
    assert len(kept) == 3


def test_gold_suite_covers_grain_and_the_models_columns():
    churn = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    planned = {p.label: p for p in expectations.plan_gold_suite(churn, "customer_features")}
    columns = planned["ExpectTableColumnsToMatchSet(table)"].kwargs["column_set"]
    assert set(churn.model.features) | {"churned_30d", "snapshot_date", "tenure_days"} <= set(
        columns
    )
    for column in ("customer_id", "snapshot_date", "gender", "age_band"):
        assert f"ExpectColumnValuesToNotBeNull({column})" in planned
    assert planned["ExpectColumnValuesToBeInSet(churned_30d)"].kwargs["value_set"] == [0, 1]
    assert all(p.severity == "fail" for p in planned.values())
    v2 = {p.label for p in expectations.plan_gold_suite(churn, "customer_features_v2")}
    assert "ExpectColumnValuesToBeInSet(churned_30d)" in v2  # a model may train on v2
    revenue = {p.label for p in expectations.plan_gold_suite(churn, "daily_revenue")}
    assert revenue == {
        "ExpectTableRowCountToBeBetween(table)",
        "ExpectTableColumnsToMatchSet(table)",
        "ExpectColumnValuesToNotBeNull(day)",
        "ExpectColumnValuesToNotBeNull(plan)",
        "ExpectColumnValuesToNotBeNull(region)",
    }
    deliveries = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    regression = {p.label for p in expectations.plan_gold_suite(deliveries, "delivery_features")}
    assert "ExpectColumnValuesToNotBeNull(area_type)" in regression
    assert not any("InSet" in label for label in regression)  # a number, not a class


def test_gold_is_validated_on_the_rows_a_window_recomputed(tmp_path, con, spec):
    replace_table(
        con,
        "shop_gold.revenue_by_country",
        "SELECT * FROM (VALUES ('NL', 1, 1), (NULL, 2, 1), ('DE', 3, 2)) AS t(country, revenue, orders)",
    )
    warehouse = tmp_path / "warehouse.duckdb"
    failed = expectations.validate_gold(con, spec, "revenue_by_country", warehouse, run_id="g1")
    assert not failed.passed
    assert failed.metadata["failed_blocking"] == ["ExpectColumnValuesToNotBeNull(country)"]
    text = _page_text(failed.metadata["data_docs"].path)
    assert "Expectation Suite: shop.gold.revenue_by_country" in text
    assert "values must never be null" in text[text.index(" country ") :]
    recomputed = expectations.validate_gold(
        con, spec, "revenue_by_country", warehouse, where="revenue <> 2"
    )
    assert recomputed.passed, recomputed.metadata
    rows = {r["expectation"]: r for r in recomputed.metadata["results"]}
    assert rows["ExpectTableRowCountToBeBetween(table)"]["observed_value"] == 2
    con.execute("SELECT 1").fetchall()  # the run's connection stays usable


def test_gold_validation_sees_the_entities_the_build_staged(tmp_path, con, spec):
    """The build stages its changed entities in a session-local temporary table; the
    validation's cursors are other sessions and must see the same entities."""
    replace_table(
        con,
        "shop_gold.revenue_by_country",
        "SELECT * FROM (VALUES ('NL', 1, 1), (NULL, 2, 1), ('DE', 3, 2)) AS t(country, revenue, orders)",
    )
    staged = gold_changed_keys_table("revenue_by_country")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {staged} AS SELECT unnest(['NL', 'DE']) AS key")
    where = f"country IN (SELECT key FROM {staged})"
    outcome = expectations.validate_gold(
        con, spec, "revenue_by_country", tmp_path / "warehouse.duckdb", where=where
    )
    assert outcome.passed, outcome.metadata
    rows = {r["expectation"]: r for r in outcome.metadata["results"]}
    assert rows["ExpectTableRowCountToBeBetween(table)"]["observed_value"] == 2
