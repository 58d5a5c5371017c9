"""The whole demo product materialized in process: counts per zone add up, and re-running
ingestion adds nothing."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest
import yaml

from medallion.build import build_definitions, product_assets
from medallion.demo import materialize_all, zone_counts
from medallion.resources.warehouse import connect
from medallion.settings import Settings
from medallion.spec import load_specs
from medallion_tests.conftest import TINY_SPEC, write
from medallion_tests.records import assert_every_record_landed
from medallion_tests.worlds import memory_instance


@pytest.fixture
def churn_settings(built_world) -> Settings:
    return built_world.settings


@pytest.fixture
def churn_spec(built_world):
    return built_world.specs["churn"]


@pytest.fixture
def churn_landing(built_world):
    """The landing folder and the rows generated per churn source."""
    return built_world.settings.landing, built_world.written["churn"]


@pytest.fixture
def first_run(built_world):
    """The run that built the world (both products, every zone)."""
    return built_world.result


def _counts(settings: Settings, spec) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {f"{c.zone}.{c.table}": c.rows for c in zone_counts(con, [spec])}


def test_definitions_hold_every_zone_asset(churn_settings):
    defs = build_definitions(settings=churn_settings)
    keys = {
        key.to_user_string()
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] == "churn" and key.path[1] in ("bronze", "silver", "gold")
    }
    sources = ["customers", "subscriptions", "usage_events", "payments", "support_tickets"]
    assert keys == {f"churn/{zone}/{s}" for zone in ("bronze", "silver") for s in sources} | {
        "churn/gold/customer_features",
        "churn/gold/customer_features_v2",
        "churn/gold/daily_revenue",
    }


def _landing_files(settings, spec) -> dict[str, list]:
    folder = spec.landing(settings.landing)
    return {source: sorted((folder / source).glob("*.*")) for source in spec.sources}


def test_every_landing_row_reaches_bronze(first_run, churn_settings, churn_spec, churn_landing):
    assert first_run.success
    counts = _counts(churn_settings, churn_spec)
    for source, rows in churn_landing[1].items():
        assert counts[f"bronze.{source}"] == rows, source
    delivered = [
        p for p in churn_settings.landing.glob("*/*/*") if p.suffix in (".csv", ".parquet", ".json")
    ]
    with connect(churn_settings.warehouse, read_only=True) as con:
        assert assert_every_record_landed(con) == len(delivered)
    assert sum(len(f) for f in _landing_files(churn_settings, churn_spec).values()) > 0


def test_bronze_equals_silver_plus_quarantine_plus_duplicates(
    first_run, churn_settings, churn_spec
):
    counts = _counts(churn_settings, churn_spec)
    for source in churn_spec.sources:
        metadata = first_run.asset_materializations_for_node(f"churn__silver__{source}")[0].metadata
        silver = metadata["dagster/row_count"].value
        quarantined = metadata["quarantined_rows"].value
        duplicates = metadata["duplicates_removed"].value
        assert silver == counts[f"silver.{source}"]
        assert quarantined == counts[f"quarantine.{source}"]
        assert counts[f"bronze.{source}"] == silver + quarantined + duplicates, source
    assert counts["silver.customers"] == counts["silver.subscriptions"]


def test_gold_feature_table_has_grain_label_and_features(first_run, churn_settings, churn_spec):
    with duckdb.connect(str(churn_settings.warehouse), read_only=True) as con:
        rows, keys = con.execute(
            "SELECT count(*), count(DISTINCT (customer_id, snapshot_date)) FROM churn_gold.customer_features"
        ).fetchone()
        assert rows == keys > 0
        columns = {r[0] for r in con.execute("DESCRIBE churn_gold.customer_features").fetchall()}
        assert set(churn_spec.model.features) <= columns
        labels = dict(
            con.execute(
                "SELECT churned_30d, count(*) FROM churn_gold.customer_features GROUP BY 1"
            ).fetchall()
        )
        assert labels.get(1, 0) > 0 and labels.get(0, 0) > labels.get(1, 0)
        assert None in labels  # the last 30 days have no label yet
        revenue_keys = con.execute(
            "SELECT count(*) = count(DISTINCT (day, plan, region)) FROM churn_gold.daily_revenue"
        ).fetchone()[0]
        assert revenue_keys


def test_metadata_has_row_count_schema_preview_and_no_raw_pii(first_run):
    bronze = first_run.asset_materializations_for_node("churn__bronze__customers")[0].metadata
    assert bronze["dagster/row_count"].value > 0
    assert "email" in [c.name for c in bronze["dagster/column_schema"].schema.columns]
    assert "•••" in bronze["preview"].value
    assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", bronze["preview"].value)
    assert bronze["duration_s"].value >= 0
    names = bronze["files_ingested_names"].value
    assert len(names) == min(bronze["files_ingested"].value, 50) > 0
    assert all(re.fullmatch(r"customers_\S+\.csv: \d+ rows", name) for name in names)


def test_rerun_ingests_nothing_and_changes_no_table(built_world, churn_spec, tmp_path):
    settings = built_world.copy(tmp_path)  # a run of its own: the world stays as built
    before = _counts(settings, churn_spec)
    with memory_instance() as instance:
        again = materialize_all([churn_spec], settings, instance)
    assert again.success
    for source in churn_spec.sources:
        metadata = again.asset_materializations_for_node(f"churn__bronze__{source}")[0].metadata
        assert metadata["rows_added"].value == 0
        assert metadata["files_ingested"].value == 0
        assert metadata["files_skipped"].value > 0
    assert _counts(settings, churn_spec) == before


def test_one_asset_per_zone_table_and_checks_on_every_boundary(churn_spec):
    definitions = product_assets(churn_spec)
    keys = [k.to_user_string() for d in definitions for k in d.keys]
    assert len(keys) == len(set(keys)) == 2 * len(churn_spec.sources) + len(churn_spec.gold)
    checks = {(c.asset_key.to_user_string(), c.name) for d in definitions for c in d.check_specs}
    assert ("churn/bronze/payments", "files_readable") in checks
    assert ("churn/silver/payments", "row_accounting") in checks
    assert ("churn/silver/payments", "expectations") in checks
    assert ("churn/silver/payments", "referential_integrity") in checks
    assert ("churn/gold/customer_features", "revision_counts") in checks
    assert ("churn/gold/customer_features", "no_pii") in checks


def test_two_products_with_the_same_source_names_land_and_build_apart(
    tmp_path, spec_path, landing, settings
):
    raw = yaml.safe_load(TINY_SPEC)
    raw["name"] = "other_shop"
    other_path = write(spec_path.parent.parent / "other_shop" / "product.yaml", yaml.safe_dump(raw))
    other_landing = landing.parent / "other_shop"
    shutil.copytree(landing, other_landing)
    write(
        other_landing / "orders" / "orders_2026-01-01.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        7,10,2026-01-01 10:00:00,99.00,
        """,
    )
    specs = load_specs([spec_path, other_path])
    with memory_instance() as instance:
        assert materialize_all(specs, settings, instance).success
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        shop = con.execute("SELECT list(order_id ORDER BY order_id) FROM shop_silver.orders")
        assert shop.fetchone()[0] == [1, 2, 3]
        other = con.execute(
            "SELECT list(order_id), list(_source_file) FROM other_shop_bronze.orders"
        )
        ids, files = other.fetchone()
    assert ids == ["7"]  # bronze keeps CSV values as delivered text
    assert files == [str(other_landing / "orders" / "orders_2026-01-01.csv")]
