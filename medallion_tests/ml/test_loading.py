"""Loading a registered model leaves no copy of it in the temporary directory."""

from __future__ import annotations

import tempfile

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from medallion.ml import registry
from medallion.ml.loading import load_pyfunc, load_sklearn
from medallion.resources.tracking import TrackingResource


def test_loaded_models_predict_and_leave_no_copy_behind(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (x["a"] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    pipeline = Pipeline([("model", LogisticRegression())]).fit(x, y)
    tracking = TrackingResource.for_data(tmp_path / "data")
    client = tracking.activate()
    registry.ensure_registered_model(client, "shop", None)
    experiment = registry.ensure_experiment(client, "shop", tracking.artifact_location("shop"))
    with mlflow.start_run(experiment_id=experiment) as run:
        info = registry.log_sklearn_model(pipeline, "logistic_regression", x.head(5), "shop")
    # a registered version, and a run's model: MLflow copies the latter even from a local
    # store (and any model from a tracking server or object store)
    uris = [f"models:/shop/{info.registered_model_version}", f"runs:/{run.info.run_id}/model"]

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    expected = pipeline.predict_proba(x)
    for uri in uris:
        np.testing.assert_allclose(load_sklearn(uri).predict_proba(x), expected)
        np.testing.assert_allclose(np.asarray(load_pyfunc(uri).predict(x)), expected)
    assert list(scratch.iterdir()) == []

    mlflow.sklearn.load_model(uris[1])  # what the loaders replace: MLflow keeps its copy
    assert len(list(scratch.iterdir())) == 1
