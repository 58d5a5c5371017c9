"""`medallion serve` serves the champion over HTTP (MLflow's scoring protocol) with the same
predictions as in process, and stops with its children. The champion's logged model carries
its run's holdout metrics (MLflow's model view). That `medallion ui` starts the MLflow UI on
the home's store is shown by the browser test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medallion.ml import promotion, workflow
from medallion.ml.gates import Candidate
from medallion.ml.serving import http_predict, serving_env, wait_until_ready
from medallion.ml.snapshot import file_digest
from medallion.resources.tracking import TrackingResource
from medallion.spec import load_spec
from medallion_tests.conftest import write

BIN = Path(sys.executable).parent
PRODUCT = """
name: shop
description: A product with a model, for the serving tests.
sources:
  shop_visits:
    format: csv
    key: [id]
    columns:
      id: {type: BIGINT, required: true}
gold:
  features:
    grain: [id]
    sql: "SELECT id FROM {{ silver.shop_visits }}"
model:
  table: features
  target: label
  entity_key: id
  time_column: day
  features: [amount, visits, plan]
  sensitive: [group]
  holdout_days: 3
  variants:
    lr: {estimator: logistic_regression, params: {max_iter: 200}}
  gates:
    bias_max_difference: 1.0
    latency_p95_ms: 1000
    latency_samples: 20
    latency_rounds: 1
    batch_rows: 1000
    batch_seconds: 60
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_"))}
    env.update(MEDALLION_HOME=str(tmp_path), MEDALLION_PRODUCTS=str(tmp_path / "products"))
    return env


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("children outlived the command")


@pytest.fixture
def champion(tmp_path, frame):
    """A product 'shop' whose logistic regression is champion in a tmp_path MLflow store."""
    spec = load_spec(write(tmp_path / "products" / "shop" / "product.yaml", PRODUCT))
    tracking = TrackingResource.for_data(tmp_path / "data")
    scratch = tmp_path / "frame.parquet"
    frame.write_parquet(scratch)
    snapshot = tracking.snapshots() / "shop" / f"features-{file_digest(scratch)}.parquet"
    snapshot.parent.mkdir(parents=True)
    scratch.rename(snapshot)
    version = file_digest(snapshot)
    baseline = workflow.run_baseline(spec, snapshot, version, tracking)
    result = workflow.run_variant(spec, "lr", snapshot, version, baseline, tracking)
    promoted = promotion.promote(
        spec, [Candidate("lr", result.model_version, result.metrics["roc_auc"])], tracking
    )
    assert promoted.champion_version == result.model_version
    return spec, tracking, result, workflow.prepare(spec, snapshot)


def test_the_logged_model_carries_the_runs_metrics(champion):
    _, tracking, result, _ = champion
    client = tracking.activate()
    run = client.get_run(result.run_id)
    [output] = run.outputs.model_outputs
    logged = {m.key: m.value for m in client.get_logged_model(output.model_id).metrics}
    ran = {k: v for k, v in run.data.metrics.items() if not k.startswith("seconds/")}
    assert logged == ran and logged["roc_auc"] == result.metrics["roc_auc"]
    assert {"gate/accuracy", "gate/bias", "ci95/roc_auc/low"} <= set(logged)


def test_serving_env_points_at_the_store_with_one_thread(tmp_path):
    tracking = TrackingResource.for_data(tmp_path)
    env = serving_env({"PATH": "/usr/bin"}, tracking, threads=1)
    assert env["MLFLOW_TRACKING_URI"] == tracking.tracking_uri
    assert env["OMP_NUM_THREADS"] == "1" and env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"  # no GenAI job runners
    assert env["PATH"].split(os.pathsep)[0] == str(BIN)


@pytest.mark.slow
def test_medallion_serve_answers_like_the_model_in_process(tmp_path, champion):
    _, _, result, data = champion
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "medallion"), "serve", "--product", "shop", "--port", str(port)],
        env=_env(tmp_path),
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, timeout_s=120)
        served = http_predict(url)(data.x_holdout.head(20))
        import mlflow.pyfunc

        local = mlflow.pyfunc.load_model(result.model_uri).predict(data.x_holdout.head(20))
        assert list(local.columns) == ["score", "decision"]
        assert np.allclose(served, local.to_numpy(dtype=np.float64))
        threshold = result.threshold.threshold
        assert np.array_equal(served[:, 1], (served[:, 0] >= threshold).astype(float))
    finally:
        _stop(process)


@pytest.mark.slow
def test_medallion_serve_without_a_champion_starts_and_scoring_says_why(tmp_path):
    write(tmp_path / "products" / "shop" / "product.yaml", PRODUCT)
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "medallion"), "serve", "--product", "shop", "--port", str(port)],
        env=_env(tmp_path),
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, timeout_s=120)
        with pytest.raises(RuntimeError, match=r"503.*materialize shop/ml/\* first"):
            http_predict(url)(pd.DataFrame({"amount": [1.0], "visits": [2.0], "plan": ["pro"]}))
    finally:
        _stop(process)


def test_without_a_champion_serve_says_which_gates_failed_and_how_to_serve_a_challenger(tmp_path):
    import mlflow

    from medallion.ml import registry
    from medallion.ml.serving import no_version_message

    tracking = TrackingResource.for_data(tmp_path / "data")
    client = tracking.activate()
    assert "materialize shop/ml/* first" in no_version_message(
        client, "shop", "champion", "shop", tracking.tracking_uri
    )
    client.create_registered_model("shop")
    experiment = registry.ensure_experiment(client, "shop", tracking.artifact_location("shop"))
    with mlflow.start_run(experiment_id=experiment) as run:
        pass
    tags = {
        "variant": "rf",
        "gate.accuracy": "passed",
        "gate.latency": "failed",
        "gate.latency.reason": "CPU p95 31.00 ms > 25 ms",
    }
    version = client.create_model_version("shop", "runs:/x/model", run.info.run_id, tags=tags)
    client.set_registered_model_alias("shop", "challenger-rf", version.version)
    client.set_registered_model_tag("shop", "last_promotion", "no variant passed all gates")
    message = no_version_message(client, "shop", "champion", "shop", tracking.tracking_uri)
    assert message.splitlines() == [
        f"error: no version of model 'shop' has alias 'champion' in {tracking.tracking_uri}",
        "last promotion: no variant passed all gates",
        "  v1 (challenger-rf, rf): latency: CPU p95 31.00 ms > 25 ms",
        "to serve a challenger anyway: medallion serve --product shop --alias challenger-rf",
    ]
