"""Two products declared in YAML, one Definitions, one run, one DuckDB file: keys prefixed by
product, tables apart by schema, every check green on clean data."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from medallion.build import build_definitions
from medallion.demo import zone_counts
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import SpecError, load_spec
from medallion_tests.records import assert_every_record_landed

PRODUCTS = ("churn", "deliveries")


@pytest.fixture
def specs(built_world):
    return [built_world.specs[name] for name in PRODUCTS]


@pytest.fixture
def landing(built_world) -> tuple[Path, dict[str, dict[str, int]]]:
    """Both products' sample data in one landing folder, and the rows written per source."""
    return built_world.settings.landing, built_world.written


@pytest.fixture
def settings(built_world) -> Settings:
    return built_world.settings


@pytest.fixture
def run(built_world):
    """The one run that built both products (every zone, in process)."""
    return built_world.result


def test_one_definitions_with_keys_prefixed_by_product(specs, settings):
    graph = build_definitions(specs, settings).resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert {key.path[0] for key in keys} == set(PRODUCTS)
    deliveries = {key.to_user_string() for key in keys if key.path[0] == "deliveries"}
    sources = ("hubs", "shipments", "tracking_events", "weather")
    assert deliveries == {
        *(f"deliveries/{zone}/{source}" for zone in ("bronze", "silver") for source in sources),
        "deliveries/gold/delivery_features",
        "deliveries/gold/hub_daily",
        *(f"deliveries/ml/{name}" for name in ("snapshot", "baseline", "champion")),
        *(f"deliveries/ml/{name}" for name in specs[1].model.variants),
        "deliveries/monitoring/drift",
        "deliveries/monitoring/performance",
        "deliveries/monitoring/live_comparison",
        "deliveries/service/responsiveness",
    }
    assert {
        k.to_user_string()
        for k in graph.get(dg.AssetKey(["deliveries", "gold", "hub_daily"])).parent_keys
    } == {
        "deliveries/silver/shipments",
        "deliveries/silver/tracking_events",
    }


def test_both_products_materialize_in_one_run_with_every_check_passing(run, specs, landing):
    assert run.success
    evaluations = run.get_asset_check_evaluations()
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []
    checked = {e.asset_key.path[0] for e in evaluations}
    assert checked == set(PRODUCTS)
    materialized = {e.asset_key.to_user_string() for e in run.get_asset_materialization_events()}
    assert "churn/gold/customer_features" in materialized
    assert {"deliveries/gold/delivery_features", "deliveries/gold/hub_daily"} <= materialized


def test_every_delivered_record_of_both_products_is_in_bronze(run, settings, landing):
    delivered = [p for p in landing[0].glob("*/*/*") if p.suffix in (".csv", ".parquet", ".json")]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert assert_every_record_landed(con) == len(delivered) > 0


def test_tables_coexist_in_one_duckdb_file_by_product_schema(run, specs, settings, landing):
    _, written = landing
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        schemas = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables"
            ).fetchall()
        }
        counts = {(c.product, c.zone, c.table): c.rows for c in zone_counts(con, specs)}
        features = con.execute(
            """SELECT count(*), count(DISTINCT shipment_id), count(delay_hours),
                      max(created_date) FILTER (WHERE delay_hours IS NOT NULL),
                      (SELECT max(CAST(event_at AS DATE))
                       FROM deliveries_silver.tracking_events)
               FROM deliveries_gold.delivery_features"""
        ).fetchone()
        columns = {
            r[0] for r in con.execute("DESCRIBE deliveries_gold.delivery_features").fetchall()
        }
    for spec in specs:
        product = spec.name
        assert {
            f"{product}_{zone}" for zone in ("bronze", "silver", "quarantine", "gold")
        } <= schemas
        for zone in ("bronze", "silver", "quarantine"):
            tables = {t for p, z, t in counts if (p, z) == (product, zone)}
            assert tables == set(spec.sources), (product, zone)
        assert {t for p, z, t in counts if (p, z) == (product, "gold")} == set(spec.gold)
        for source, rows in written[product].items():
            assert counts[(product, "bronze", source)] == rows, (product, source)
    rows, keys, labelled, last_labelled, last_scan = features
    assert rows == keys > 0 and 0 < labelled < rows
    assert (last_scan - last_labelled).days == 8  # recent deliveries are not labelled yet
    model = next(s for s in specs if s.name == "deliveries").model
    assert model.task == "regression" and len(model.features) >= 12
    assert {*model.features, model.target, model.time_column} <= columns


def test_a_broken_second_spec_names_file_field_and_problem(tmp_path):
    folder = tmp_path / "deliveries"
    shutil.copytree(PACKAGE_PRODUCTS / "deliveries", folder, ignore=shutil.ignore_patterns("*.py"))
    path = folder / "product.yaml"
    text = path.read_text("utf-8")
    path.write_text(
        text.replace("key: [region, day]", "key: [region, date]").replace(
            "weight_kg: {type: DOUBLE", "weight_kg: {type: KILOGRAMS"
        ),
        "utf-8",
    )
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert message.startswith(f"{path}: invalid data product spec (2 problem(s))")
    assert "sources.shipments.columns.weight_kg.type: unsupported type 'KILOGRAMS'" in message
    assert "sources.weather: key column(s) ['date'] are not declared in columns" in message
