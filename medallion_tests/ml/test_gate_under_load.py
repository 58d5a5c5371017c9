"""The latency gate decides the same on a quiet and on a loaded machine: candidates timed
one after another, judged on CPU time per call, with two busy-looping processes on the two
cores or without them."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import polars as pl
import pytest

from medallion.ml import registry
from medallion.ml.decision import DecisionModel
from medallion.ml.gates import latency_gate
from medallion.ml.promotion import measure_versions
from medallion.ml.training import build_pipeline, feature_kinds, to_features
from medallion.resources.tracking import TrackingResource
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion_tests.cpu_load import cpu_hogs


def _churn_like_rows(rows: int, seed: int = 3) -> pl.DataFrame:
    """Rows with the churn product's model columns: its 22 features, sensitive attributes,
    key, day and a learnable label."""
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    rng = np.random.default_rng(seed)
    text = {"age_band", "gender", "region", "acquisition_channel", "plan", "billing_cycle"}
    columns: dict[str, object] = {
        name: rng.choice(["a", "b", "c", "d"], size=rows)
        if name in text
        else rng.gamma(2.0, 10.0, size=rows)
        for name in spec.model.features
    }
    signal = columns["days_since_last_event"] / 20 - columns["events_30d"] / 20
    columns["churned_30d"] = (signal + rng.normal(size=rows) > 0.8).astype(np.int64)
    return pl.DataFrame(columns)


@pytest.fixture(scope="module")
def candidates(tmp_path_factory):
    """The churn product's three shipped variants, fitted on churn-shaped rows and registered
    in a tmp_path MLflow store, as the promotion step finds them, and rows to score."""
    home = tmp_path_factory.mktemp("load")
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    model = spec.model
    frame = _churn_like_rows(4_000)
    numeric, categorical = feature_kinds(frame, model)
    x = to_features(frame, model.features, categorical)
    y = frame["churned_30d"].to_numpy()
    tracking = TrackingResource.for_data(home / "data")
    client = tracking.activate()
    registry.ensure_registered_model(client, "churn", None)
    experiment = registry.ensure_experiment(client, "churn", tracking.artifact_location("churn"))
    versions = {}
    for name, variant in model.variants.items():
        pipeline = build_pipeline(variant, numeric, categorical, model.seed).fit(x, y)
        with mlflow.start_run(experiment_id=experiment):
            info = registry.log_sklearn_model(
                DecisionModel(pipeline, 0.3), variant.estimator, x.head(5), "churn"
            )
        versions[name] = str(info.registered_model_version)
    shipped = model.gates
    gates = shipped.model_copy(
        update={
            "latency_samples": 100,
            "latency_rounds": 1,
            "batch_rows": 20_000,
            "batch_seconds": shipped.batch_seconds * 20_000 / shipped.batch_rows,
        }
    )
    spec = spec.model_copy(update={"model": model.model_copy(update={"gates": gates})})
    return spec, tracking, versions, x


def _verdicts(spec, tracking, versions: dict[str, str], rows: pd.DataFrame) -> dict:
    reports = measure_versions(spec, rows, list(versions.values()), tracking)
    return {v: (latency_gate(r, spec.model.gates).passed, r) for v, r in reports.items()}


@pytest.mark.slow
def test_the_latency_gate_gives_the_same_verdicts_under_cpu_hogs(candidates):
    """The shipped variants at the shipped budgets (CPU p95 25 ms; the batch budget per row):
    quiet and with two busy loops on the two cores, every verdict is the same (a pass),
    while the wall clock, reported beside it, is several times slower."""
    spec, tracking, versions, rows = candidates
    quiet = _verdicts(spec, tracking, versions, rows)
    with cpu_hogs(2):
        loaded = _verdicts(spec, tracking, versions, rows)
    for name, version in versions.items():
        (passed_quiet, calm), (passed_loaded, busy) = quiet[version], loaded[version]
        print(
            f"{name}: CPU p95 {calm.cpu_p95_ms:.2f} -> {busy.cpu_p95_ms:.2f} ms, "
            f"wall p95 {calm.p95_ms:.2f} -> {busy.p95_ms:.2f} ms, "
            f"batch CPU {calm.batch_cpu_seconds:.3f} -> {busy.batch_cpu_seconds:.3f} s"
        )
        assert passed_quiet is passed_loaded is True, (name, calm, busy)
