"""The monitoring zone in the Definitions: assets, checks, jobs, schedule and sensors."""

from __future__ import annotations

import dagster as dg

from medallion.assets.jobs import ingest_keys
from medallion.assets.monitoring import monitoring_assets
from medallion.build import build_definitions
from medallion.monitoring.records import MonitoringRecord
from medallion.resources.tracking import TrackingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import load_spec


def test_definitions_hold_jobs_schedule_and_sensors_per_product(tmp_path):
    settings = Settings(
        home=tmp_path,
        data=tmp_path / "data",
        warehouse=tmp_path / "data" / "w.duckdb",
        landing=tmp_path / "landing",
        products=(PACKAGE_PRODUCTS,),
    )
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    defs = build_definitions([spec], settings)
    assert {job.name for job in defs.jobs} == {"churn_ingest", "churn_retrain", "churn_monitoring"}
    assert [s.name for s in defs.schedules] == ["churn_monitoring_daily"]
    assert {s.name: s.default_status.value for s in defs.sensors} == {
        "churn_landing": "RUNNING",
        "churn_automation": "RUNNING",
        "churn_retrain_on_alert": "RUNNING",
    }
    graph = defs.resolve_asset_graph()
    monitored = {
        k.to_user_string() for k in graph.get_all_asset_keys() if k.path[1] == "monitoring"
    }
    assert monitored == {
        "churn/monitoring/drift",
        "churn/monitoring/performance",
        "churn/monitoring/live_comparison",
    }
    monitoring = defs.resolve_job_def("churn_monitoring")
    assert {n.name for n in monitoring.nodes_in_topological_order} == {
        "churn__monitoring__evaluate",
        "churn__monitoring__live_comparison",
    }
    retrain = {n.name for n in defs.resolve_job_def("churn_retrain").nodes_in_topological_order}
    assert retrain == {f"churn__ml__{n}" for n in ("snapshot", "baseline", "champion")} | {
        f"churn__ml__{v}" for v in spec.model.variants
    }
    ingest = defs.resolve_job_def("churn_ingest").nodes_in_topological_order
    assert not any("__ml__" in n.name or "__monitoring__" in n.name for n in ingest)


def test_monitoring_asset_shape_and_checks():
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    [asset] = monitoring_assets(spec)
    assert {k.to_user_string() for k in asset.keys} == {
        "churn/monitoring/drift",
        "churn/monitoring/performance",
    }
    assert all(asset.group_names_by_key[k] == "monitoring" for k in asset.keys)
    assert asset.op.tags["medallion/db"] == "duckdb"
    checks = {(c.asset_key.path[-1], c.name, c.blocking) for c in asset.check_specs}
    assert checks == {
        ("drift", "data_drift", False),
        ("drift", "prediction_drift", False),
        ("performance", "performance", False),
    }
    deps = {
        d.to_user_string() for d in asset.asset_deps[dg.AssetKey(["churn", "monitoring", "drift"])]
    }
    assert deps == {"churn/gold/customer_features", "churn/ml/champion"}
    assert {k.to_user_string() for k in ingest_keys(spec, "payments")} == {
        "churn/bronze/payments",
        "churn/silver/payments",
        "churn/gold/customer_features",
        "churn/gold/customer_features_v2",
        "churn/gold/daily_revenue",
    }


def test_without_a_champion_the_assets_say_why_they_skipped(tmp_path, spec):
    churn = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    assert monitoring_assets(spec) == []  # the shop declares no model
    result = dg.materialize(
        monitoring_assets(churn),
        resources={
            "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
            "tracking": TrackingResource.for_data(tmp_path / "data"),
        },
    )
    assert result.success
    records = {
        event.asset_key.to_user_string(): MonitoringRecord.from_metadata(
            {k: v.value for k, v in event.materialization.metadata.items()}
        )
        for event in result.get_asset_materialization_events()
    }
    assert set(records) == {"churn/monitoring/drift", "churn/monitoring/performance"}
    for record in records.values():
        assert record.status == "skipped" and not record.alert
        assert record.skipped == "no champion yet: train the ML zone first"
    assert result.get_asset_check_evaluations() == []  # the checks show as not executed
