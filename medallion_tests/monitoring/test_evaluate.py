"""The evaluation on the churn product: 300 customers over 170 days, drift injected from day
150, a champion trained as of day 119. Gold is built once by the pipeline; "gold as of day D"
is its rows up to D with the labels of the last 30 days unknown again."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import mlflow
import polars as pl
import pytest

from medallion.assets.monitoring import monitoring_assets
from medallion.assets.retrain_sensor import build_retrain_sensor
from medallion.build import build_resources, product_assets
from medallion.generate.options import DriftOptions
from medallion.ml import promotion, workflow
from medallion.ml.gates import Candidate
from medallion.ml.snapshot import export_snapshot
from medallion.monitoring.evaluate import evaluate
from medallion.monitoring.history import DRIFT_HISTORY, read
from medallion.monitoring.names import DRIFT
from medallion.monitoring.records import MonitoringRecord
from medallion.products.churn.generator import generate
from medallion.resources.tracking import TrackingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import ProductSpec, load_spec
from medallion_tests.worlds import memory_instance

START = date(2026, 1, 5)
TRAINED, DRIFT_FROM, DAYS = 119, 150, 170
DRIFTING = {"minutes_7d", "minutes_30d", "mobile_share_30d"}
"""What the generator's drift changes: longer usage durations and devices moving to tv."""


def _spec() -> ProductSpec:
    """churn with one fast variant, lenient gates and a 30-day gap (the label horizon)."""
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    model = spec.model
    lenient = {"bias_max_difference": 1.0, "latency_p95_ms": 1000.0, "batch_seconds": 60.0}
    fast = {"latency_samples": 20, "latency_rounds": 1, "batch_rows": 2000}
    updated = model.model_validate(
        model.model_dump()
        | {
            "gap_days": 30,
            "variants": {
                "logistic_regression": {
                    "estimator": "logistic_regression",
                    "params": {"max_iter": 300},
                }
            },
            "gates": model.gates.model_dump() | lenient | fast,
        }
    )
    return spec.model_copy(update={"model": updated})


def as_of(gold: pl.DataFrame, day: int) -> pl.DataFrame:
    last = START + timedelta(days=day)
    unknown = pl.col("snapshot_date") + pl.duration(days=30) > pl.lit(last)
    return gold.filter(pl.col("snapshot_date") <= last).with_columns(
        churned_30d=pl.when(unknown).then(None).otherwise(pl.col("churned_30d"))
    )


def warehouse(path: Path, frame: pl.DataFrame) -> WarehouseResource:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS churn_gold")
        con.execute("CREATE OR REPLACE TABLE churn_gold.customer_features AS SELECT * FROM frame")
    return WarehouseResource(database=str(path))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(spec, full gold, tracking with a champion trained as of day TRAINED)."""
    home = tmp_path_factory.mktemp("monitoring")
    spec = _spec()
    generate(
        home / "landing" / "churn", seed=7, customers=300, days=DAYS, drift=DriftOptions(DRIFT_FROM)
    )
    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "landing",
        products=(PACKAGE_PRODUCTS,),
    )
    gold_key = dg.AssetKey(["churn", "gold", "customer_features"])
    with memory_instance() as instance:
        result = dg.materialize(
            product_assets(spec),
            selection=dg.AssetSelection.keys(gold_key).upstream(),
            resources=build_resources(settings),
            instance=instance,
        )
        assert result.success
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        gold = con.execute("SELECT * FROM churn_gold.customer_features").pl()
    tracking = TrackingResource.for_data(home / "data")
    trained = warehouse(home / "trained.duckdb", as_of(gold, TRAINED))
    with trained.get_connection() as con:
        snapshot = export_snapshot(con, spec, tracking.snapshots())
    baseline = workflow.run_baseline(spec, snapshot.path, snapshot.data_version, tracking)
    variant = workflow.run_variant(
        spec, "logistic_regression", snapshot.path, snapshot.data_version, baseline, tracking
    )
    candidate = Candidate("logistic_regression", variant.model_version, variant.metrics["roc_auc"])
    assert promotion.promote(spec, [candidate], tracking).champion_version == variant.model_version
    return spec, gold, tracking


def _catch_up(spec: ProductSpec, windows: int) -> ProductSpec:
    monitoring = spec.monitoring.model_copy(update={"max_catch_up_windows": windows})
    return spec.model_copy(update={"monitoring": monitoring})


def _day(day: int) -> date:
    return START + timedelta(days=day)


def test_days_missed_by_the_schedule_are_all_evaluated_oldest_first(world, tmp_path):
    spec, gold, tracking = world
    db = warehouse(tmp_path / "w.duckdb", as_of(gold, TRAINED + 2))
    first = evaluate(spec, db.get_connection, tracking, log_to_mlflow=False)
    assert [w.window_end for w in first.drift] == [_day(TRAINED + 1), _day(TRAINED + 2)]
    missed = 20  # the schedule did not run while gold moved on by 20 days
    db = warehouse(tmp_path / "w.duckdb", as_of(gold, TRAINED + 2 + missed))
    caught_up = evaluate(spec, db.get_connection, tracking, log_to_mlflow=False)
    assert [w.window_end for w in caught_up.drift] == [_day(TRAINED + 3 + i) for i in range(missed)]
    assert caught_up.backlog[DRIFT] == 0
    with db.get_connection() as con:
        ends = read(con, spec, DRIFT_HISTORY)["window_end"].unique().sort().to_list()
    assert ends == [_day(TRAINED + 1 + i) for i in range(missed + 2)]  # no gap


def test_a_catch_up_bound_continues_where_the_last_run_stopped(world, tmp_path):
    spec, gold, tracking = world
    bounded = _catch_up(spec, 4)
    db = warehouse(tmp_path / "w.duckdb", as_of(gold, TRAINED + 10))
    runs = [evaluate(bounded, db.get_connection, tracking, log_to_mlflow=False) for _ in range(3)]
    assert [[w.window_end for w in e.drift] for e in runs] == [
        [_day(TRAINED + d) for d in days] for days in ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10))
    ]
    assert [e.backlog[DRIFT] for e in runs] == [6, 2, 0]
    again = evaluate(bounded, db.get_connection, tracking, log_to_mlflow=False)
    assert [w.window_end for w in again.drift] == [_day(TRAINED + 10)]  # idempotent


def test_no_alarm_over_thirty_seasonal_days_without_drift(world, tmp_path):
    spec, gold, tracking = world
    db = warehouse(tmp_path / "w.duckdb", as_of(gold, DRIFT_FROM - 1))
    evaluation = evaluate(spec, db.get_connection, tracking, log_to_mlflow=False)
    assert [w.window_end for w in evaluation.drift] == [
        START + timedelta(days=d) for d in range(TRAINED + 1, DRIFT_FROM)
    ]
    assert {w.window_end.weekday() for w in evaluation.drift} == set(range(7))
    for window in evaluation.drift:
        assert window.status != "alert", window.window_end
        assert not window.drifted, [f.describe() for f in window.drifted]
        assert window.evaluated == len(spec.model.features)
        assert window.prediction is not None and window.prediction.status != "alert"
    with db.get_connection() as con:
        history = read(con, spec, DRIFT_HISTORY)
    assert history["window_end"].n_unique() == 30
    reference_days = history.filter(pl.col("feature") == "tenure_days")["reference_rows"]
    assert reference_days.max() < 5 * history["current_rows"].max()  # same weekday only


def test_injected_drift_alarms_within_days_on_the_usage_features(world, tmp_path):
    spec, gold, tracking = world
    db = warehouse(tmp_path / "w.duckdb", as_of(gold, DRIFT_FROM + 10))
    evaluation = evaluate(spec, db.get_connection, tracking, log_to_mlflow=False)
    began = START + timedelta(days=DRIFT_FROM)
    assert not [w.window_end for w in evaluation.drift_alerts if w.window_end < began]
    drifting = [w for w in evaluation.drift if w.window_end >= began]
    assert len(drifting) == 11
    first_feature = next(w for w in drifting if w.drifted)
    assert (first_feature.window_end - began).days <= 4
    alarms = evaluation.drift_alerts
    assert alarms, [(w.window_end, [f.describe() for f in w.features]) for w in evaluation.drift]
    first = alarms[0]
    assert (first.window_end - began).days <= 7
    assert first.dataset_drift
    assert {f.feature for f in first.drifted} <= DRIFTING
    assert "mobile_share_30d" in {f.feature for f in first.drifted}
    moved = {f.feature for w in drifting for f in w.drifted}
    assert moved <= DRIFTING and len(moved) >= 2


def test_asset_checks_history_mlflow_and_the_retrain_request(world, tmp_path):
    spec, gold, tracking = world
    db = warehouse(tmp_path / "w.duckdb", as_of(gold, DRIFT_FROM + 8))
    assets = monitoring_assets(spec)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets, resources={"warehouse": db, "tracking": tracking}, instance=instance
        )
        drift = result.asset_materializations_for_node("churn__monitoring__evaluate")[0]
        metadata = {k: v.value for k, v in drift.metadata.items()}
        record = MonitoringRecord.from_metadata(metadata)
        assert record.alert and record.status == "alert"
        caught_up = DRIFT_FROM + 8 - TRAINED  # every day since the champion's snapshot
        assert metadata["windows_evaluated"] == caught_up
        assert (record.windows_evaluated, record.pending_windows) == (caught_up, 0)
        assert record.alert_day == str(START + timedelta(days=DRIFT_FROM + 8))
        assert "mobile_share_30d" in record.drifted_features
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert set(checks) == {"data_drift", "prediction_drift", "performance"}
        data_drift = checks["data_drift"]
        assert not data_drift.passed
        assert data_drift.severity == dg.AssetCheckSeverity.ERROR
        assert "mobile_share_30d" in data_drift.description
        assert checks["performance"].metadata["status"].value in ("ok", "warn", "insufficient")

        sensor = build_retrain_sensor(spec)
        tick = sensor(dg.build_sensor_context(instance=instance, cursor=None))
        [request] = tick.run_requests
        assert request.run_key == f"churn-retrain-{record.alert_day}"

        again = dg.materialize(
            assets, resources={"warehouse": db, "tracking": tracking}, instance=instance
        )
        assert again.success
    with db.get_connection() as con:
        history = read(con, spec, DRIFT_HISTORY)
    assert history["window_end"].n_unique() == caught_up
    assert history.filter(pl.col("feature") == "minutes_7d").height == 2 * caught_up  # psi, ks

    client = tracking.activate()
    run = client.get_run(metadata["mlflow_run_id"])
    champion = client.get_model_version_by_alias("churn", "champion")
    assert run.data.tags["mlflow.parentRunId"] == champion.run_id
    assert run.data.tags["model_version"] == str(champion.version)
    steps = client.get_metric_history(run.info.run_id, "drift/mobile_share_30d/psi")
    assert len(steps) >= caught_up
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "drift")}
    assert {"drift/mobile_share_30d.png", "drift/dataset.png", "drift/prediction.png"} <= artifacts
    moved = history.filter(pl.col("status").is_in(["warn", "alert"]))["feature"].unique()
    steady = set(history["feature"].unique()) - set(moved) - {"*", "prediction"}
    assert steady and not {f"drift/{feature}.png" for feature in steady} & artifacts
    version = client.get_model_version("churn", champion.version)
    assert version.tags["monitoring.drift_status"] == "alert"
    assert mlflow.get_tracking_uri() == tracking.tracking_uri
