"""The regression path end to end on the deliveries product, declared in YAML alone: gold
built by the pipeline, three regressors trained, logged, registered and gated (RMSE against
the champion, error gaps between area types, latency), the best promoted, and the champion
monitored on the days delivered after it was trained."""

from __future__ import annotations

import dagster as dg
import duckdb
import mlflow
import mlflow.pyfunc
import numpy as np
import polars as pl
import pytest

from medallion.assets.ml import GATE_CHECKS, PROMOTED_CHECK, TRACKING, ml_assets
from medallion.assets.monitoring import monitoring_assets
from medallion.build import build_resources
from medallion.demo import materialize_all
from medallion.ml.snapshot import snapshot_path
from medallion.monitoring.history import PERFORMANCE_HISTORY, history_table
from medallion.products.deliveries.generator import generate
from medallion.resources.tracking import TrackingResource
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import ProductSpec, load_spec
from medallion_tests.assets.ml_runs import (
    REGRESSION_LENIENT,
    REGRESSION_VARIANTS,
    check_evaluations,
    materialize,
    ml_metadata,
    regression_spec,
)
from medallion_tests.conftest import home_settings
from medallion_tests.worlds import memory_instance

TRAINED_DAYS, DAYS = 50, 80


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """deliveries gold from the first TRAINED_DAYS of 80 days of 6,000 shipments."""
    home = tmp_path_factory.mktemp("regression")
    generate(
        home / "landing" / "deliveries",
        seed=5,
        shipments=6000,
        days=DAYS,
        deliver_days=range(TRAINED_DAYS),
    )
    settings = home_settings(home)
    spec = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    with memory_instance() as instance:
        assert materialize_all([spec], settings, instance).success
        yield settings, instance, spec


def _materialize(world, spec: ProductSpec, assets=None) -> dg.ExecuteInProcessResult:
    return materialize(world[0], world[1], assets or ml_assets(spec))


def _metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    return ml_metadata(result, "deliveries", name)


@pytest.fixture(scope="module")
def first(world):
    """Lenient gates: every regressor passes, the lowest RMSE becomes champion."""
    result = _materialize(world, regression_spec(world[2], **REGRESSION_LENIENT))
    assert result.success
    tracking: TrackingResource = build_resources(world[0])[TRACKING]
    return result, tracking, tracking.activate()


def test_regressors_are_logged_with_regression_metrics_and_gold_version(world, first):
    result, tracking, _ = first
    client = tracking.activate()
    experiment = client.get_experiment_by_name("deliveries")
    assert client.get_experiment_by_name("churn") is None  # each product its own experiment
    # the runs of this training (other tests of the module add runs to the same store)
    ours = {_metadata(result, n)["mlflow_run_id"] for n in ("baseline", *REGRESSION_VARIANTS)}
    runs = {
        r.data.tags["mlflow.runName"].split("-")[0]: r
        for r in client.search_runs([experiment.experiment_id])
        if r.info.run_id in ours
    }
    assert set(runs) == {"baseline", *REGRESSION_VARIANTS}
    assert runs["baseline"].data.params["estimator"] == "dummy"
    for name, run in runs.items():
        metrics, tags = run.data.metrics, run.data.tags
        assert {"rmse", "mae", "r2", "median_ae", "mean_error"} <= set(metrics), name
        assert not {"roc_auc", "log_loss"} & set(metrics)
        assert tags["task"] == "regression"
        assert tags["gold_table"] == "deliveries_gold.delivery_features"
        assert tags["gold_product"] == tags["gold_version"] == "delivery_features"
        assert "decision_threshold" not in run.data.params
    baseline_rmse = runs["baseline"].data.metrics["rmse"]
    for name in REGRESSION_VARIANTS:
        metrics = runs[name].data.metrics
        assert metrics["rmse"] < baseline_rmse, name  # every regressor beats the mean
        assert metrics["r2"] > 0.1, name
        assert "bias/area_type/mae_ratio" in metrics
        assert "group/area_type/rural/mae" in metrics
        artifacts = {a.path for a in client.list_artifacts(runs[name].info.run_id, "fairness")}
        assert artifacts == {"fairness/by_group.csv", "fairness/by_group.png"}
    assert _metadata(result, "baseline")["label"] == "DummyRegressor(mean)"


def test_the_lowest_rmse_passing_every_gate_is_champion(world, first):
    result, tracking, _ = first
    client = tracking.activate()
    checks = check_evaluations(result)
    for name in REGRESSION_VARIANTS:
        for gate in GATE_CHECKS.values():
            assert checks[(name, gate)].passed, (name, gate, checks[(name, gate)].description)
        assert "gaps in units of delay_hours" in checks[(name, "bias_gate")].description
    rmse = {name: _metadata(result, name)["rmse"] for name in REGRESSION_VARIANTS}
    best = min(rmse, key=rmse.get)
    champion = client.get_model_version_by_alias("deliveries", "champion")
    assert champion.tags["variant"] == best
    assert checks[("champion", PROMOTED_CHECK)].passed


def test_the_champion_predicts_hours_not_probabilities(world, first):
    _, _, spec = world
    _, tracking, _ = first
    client = tracking.activate()
    champion = client.get_model_version_by_alias("deliveries", "champion")
    model = mlflow.pyfunc.load_model(f"models:/deliveries/{champion.version}")
    data_version = client.get_run(champion.run_id).data.tags["data_version"]
    snapshot = pl.read_parquet(snapshot_path(tracking.snapshots(), spec, data_version))
    rows = snapshot.drop_nulls(spec.model.target).head(200)
    from medallion.ml.training import feature_kinds, to_features

    _, categorical = feature_kinds(rows, spec.model)
    predicted = np.asarray(model.predict(to_features(rows, spec.model.features, categorical)))
    assert predicted.shape == (200,)
    assert predicted.max() > 1.5  # delays in hours, not a probability
    truth = rows[spec.model.target].to_numpy()
    assert np.mean(np.abs(predicted - truth)) < np.mean(np.abs(truth - truth.mean()))


def test_a_worse_rmse_or_a_biased_model_is_not_promoted(world, first):
    _, tracking, _ = first
    client = tracking.activate()
    before = client.get_model_version_by_alias("deliveries", "champion").version
    variants = {"weak_ridge": {"estimator": "ridge", "params": {"alpha": 1e7}}}
    weak = _materialize(world, regression_spec(world[2], variants, **REGRESSION_LENIENT))
    assert weak.success
    gate = check_evaluations(weak)[("weak_ridge", "accuracy_gate")]
    assert not gate.passed
    assert gate.description.startswith("rmse ") and " > " in gate.description
    assert "champion v" in gate.description  # compared with the champion, lower is better
    strict = REGRESSION_LENIENT | {"bias_max_mean_error_difference": 1e-6}
    biased = _materialize(
        world, regression_spec(world[2], {"ridge": REGRESSION_VARIANTS["ridge"]}, **strict)
    )
    checks = check_evaluations(biased)
    assert checks[("ridge", "accuracy_gate")].passed
    assert not checks[("ridge", "bias_gate")].passed
    assert "area_type mean error gap" in checks[("ridge", "bias_gate")].description
    assert client.get_model_version_by_alias("deliveries", "champion").version == before


def test_the_champion_is_monitored_on_later_days_in_hours(world, first):
    settings, instance, spec = world
    generate(
        settings.landing / "deliveries",
        seed=5,
        shipments=6000,
        days=DAYS,
        deliver_days=range(TRAINED_DAYS, DAYS),
    )
    assert materialize_all([spec], settings, instance).success
    monitored = regression_spec(spec, **REGRESSION_LENIENT)
    result = _materialize(world, monitored, monitoring_assets(monitored))
    assert result.success
    performance = check_evaluations(result)[("performance", "performance")]
    assert performance.description.split(": ")[1] in {"ok", "warn", "alert"}
    assert "rmse" in performance.description and "entities" in performance.description
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            f"SELECT metric, status, value, holdout_value FROM "
            f"{history_table(spec, PERFORMANCE_HISTORY)} WHERE metric = 'rmse'"
        ).fetchall()
    assert rows and {status for _, status, _, _ in rows} <= {"ok", "warn", "alert"}
    assert all(value > 1.0 and holdout > 1.0 for _, _, value, holdout in rows)  # hours
