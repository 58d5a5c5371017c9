"""Models trained under `local` (MLflow on SQLite) and under `lake` (gold on DuckLake,
MLflow on PostgreSQL) from the same landing files: the same data version, and every variant's
logged model predicts the same values on it."""

from __future__ import annotations

import uuid

import numpy as np
import polars as pl
import pytest

from medallion.assets.ml import ml_assets
from medallion.demo import materialize_all
from medallion.lake.profile import MLFLOW_DRIVER
from medallion.ml.loading import load_pyfunc
from medallion.ml.snapshot import snapshot_path
from medallion.ml.training import feature_kinds, to_features
from medallion.products.deliveries.generator import generate
from medallion.resources.tracking import TrackingResource
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import ProductSpec, load_spec
from medallion_tests.assets.ml_runs import materialize
from medallion_tests.worlds import memory_instance

VARIANTS = {
    "ridge": {"estimator": "ridge", "params": {"alpha": 1.0}},
    "random_forest": {
        "estimator": "random_forest_regressor",
        "params": {"n_estimators": 6, "max_depth": 6},
    },
}


def small_models(spec: ProductSpec) -> ProductSpec:
    """deliveries with two small variants, a one-week holdout, fast latency timing."""
    gates = spec.model.gates.model_dump() | {"latency_samples": 20, "latency_rounds": 1}
    model = spec.model.model_validate(
        spec.model.model_dump() | {"holdout_days": 7, "variants": VARIANTS, "gates": gates}
    )
    return spec.model_copy(update={"model": model})


def predictions(settings: Settings, spec: ProductSpec) -> tuple[str, dict[str, np.ndarray]]:
    """Zones then models in process; the data version and each variant's predictions on it."""
    with memory_instance() as instance:
        assert materialize_all([spec], settings, instance).success
        assert materialize(settings, instance, ml_assets(spec)).success
    tracking = TrackingResource.for_settings(settings)
    client = tracking.activate()
    experiment = client.get_experiment_by_name(spec.name)
    runs = {
        run.data.tags["variant"]: run
        for run in client.search_runs([experiment.experiment_id])
        if run.data.tags.get("variant") in VARIANTS
    }
    assert set(runs) == set(VARIANTS)
    (version,) = {run.data.tags["data_version"] for run in runs.values()}
    rows = pl.read_parquet(snapshot_path(tracking.snapshots(), spec, version))
    _, categorical = feature_kinds(rows, spec.model)
    features = to_features(rows, spec.model.features, categorical)
    return version, {
        name: np.asarray(load_pyfunc(f"runs:/{run.info.run_id}/model").predict(features))
        for name, run in runs.items()
    }


@pytest.mark.slow
def test_same_data_version_same_predictions(tmp_path, pg_server, lake_target):
    landing = tmp_path / "landing"
    generate(landing / "deliveries", seed=5, shipments=1500, days=30)
    spec = small_models(load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml"))
    results = {}
    for profile in ("local", "lake"):
        home = tmp_path / profile
        lake = {}
        if profile == "lake":
            database = pg_server.create_database(f"mlflow_{uuid.uuid4().hex[:12]}")
            lake = {
                "profile": "lake",
                "lake_catalog": lake_target,
                "tracking_uri": pg_server.url(database, driver=MLFLOW_DRIVER),
                "artifact_root": str(tmp_path / "lake-data" / "mlflow-artifacts"),
            }
        settings = Settings(
            home=home,
            data=home / "data",
            warehouse=home / "data" / "warehouse.duckdb",
            landing=landing,
            products=(PACKAGE_PRODUCTS,),
            pii_key="models-test-key-0123456789abcdef",
            **lake,
        )
        results[profile] = predictions(settings, spec)
    assert results["lake"][0] == results["local"][0]
    assert (tmp_path / "lake-data" / "mlflow-artifacts").is_dir()
    for name in VARIANTS:
        np.testing.assert_array_equal(results["lake"][1][name], results["local"][1][name])
