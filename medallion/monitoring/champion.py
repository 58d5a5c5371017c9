"""The champion as monitoring sees it, and where its monitoring goes in MLflow.

The champion is the registered version with alias `champion`; its run records the data
version of the snapshot it was trained on (the reference), its holdout metrics (the bar for
performance) and the holdout's last day (labelled windows after it are new to the model).
Drift and performance metrics go to one monitoring run per champion version, nested under
the champion's own run, with the charts as artifacts and the latest verdict as tags on the
model version, so the MLflow UI shows drift next to the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from medallion.ml import registry
from medallion.ml.loading import load_pyfunc
from medallion.ml.snapshot import snapshot_path
from medallion.resources.tracking import TrackingResource
from medallion.spec import ProductSpec

ROLE_MONITORING = "monitoring"
_DRIFT_KEYS = {
    "feature": pl.String,
    "statistic": pl.String,
    "value": pl.Float64,
    "window_end": pl.Date,
}
_PERFORMANCE_KEYS = {"metric": pl.String, "value": pl.Float64, "window_end": pl.Date}
BATCH = 900
"""Metrics per MLflow log_batch call (the API takes at most 1000)."""


@dataclass(frozen=True)
class Champion:
    """The champion version and what its run recorded."""

    name: str
    version: str
    run_id: str
    variant: str
    data_version: str
    snapshot: Path
    holdout: dict[str, float]
    holdout_end: date | None
    decision_threshold: float | None = None
    """The threshold the champion was chosen, evaluated and served at (classification)."""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def find_champion(spec: ProductSpec, tracking: TrackingResource) -> Champion | None:
    """The product's champion, or None when no version has the alias yet.

    Raises:
        ValueError: when the champion's run records no data version.
    """
    if tracking.tracking_uri.startswith("sqlite:///"):
        store = Path(tracking.tracking_uri.removeprefix("sqlite:///"))
        if not store.exists():
            return None  # nothing was ever tracked: do not create the store just to look
    assert spec.model is not None
    client = tracking.activate()
    name = registry.registered_model_name(spec)
    version = registry.version_by_alias(client, name, registry.CHAMPION)
    if version is None:
        return None
    run = client.get_run(version.run_id)
    data_version = run.data.tags.get("data_version") or version.tags.get("data_version")
    if not data_version:
        raise ValueError(
            f"champion {name} v{version.version} (run {version.run_id}) records no data_version"
        )
    holdout_end = run.data.params.get("holdout_end")
    return Champion(
        name=name,
        version=str(version.version),
        run_id=version.run_id,
        variant=version.tags.get("variant", run.data.tags.get("variant", "?")),
        data_version=data_version,
        snapshot=snapshot_path(tracking.snapshots(), spec, data_version),
        holdout={
            m: float(run.data.metrics[m]) for m in spec.model.metrics if m in run.data.metrics
        },
        holdout_end=date.fromisoformat(holdout_end) if holdout_end else None,
        decision_threshold=_threshold(run.data.params, spec),
    )


def _threshold(params: dict[str, str], spec: ProductSpec) -> float | None:
    from medallion.ml.threshold import ThresholdChoice

    assert spec.model is not None
    if spec.model.is_regression:
        return None
    assert spec.model.decision_threshold is not None
    return ThresholdChoice.from_params(params, spec.model.decision_threshold).threshold


def load_model(champion: Champion):
    """The champion as an MLflow pyfunc model (loaded once per evaluation)."""
    return load_pyfunc(champion.uri)


def score(model, frame: pl.DataFrame, spec: ProductSpec) -> np.ndarray:
    """The champion's output for each row of `frame`: a classifier's probability of the
    positive class, a regressor's predicted value."""
    from medallion.ml.training import feature_kinds, to_features

    assert spec.model is not None
    if frame.is_empty():
        return np.empty(0, dtype=np.float64)
    _, categorical = feature_kinds(frame, spec.model)
    from medallion.ml.decision import scores_of

    return scores_of(model.predict(to_features(frame, spec.model.features, categorical)))


def monitoring_run(spec: ProductSpec, champion: Champion, tracking: TrackingResource) -> str:
    """The id of the champion version's monitoring run, created (nested under the champion's
    training run) on its first evaluation."""
    client = tracking.activate()
    experiment_id = registry.product_experiment(client, spec, tracking.artifact_location(spec.name))
    found = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.role = '{ROLE_MONITORING}' and tags.model_version = '{champion.version}'"
        ),
        max_results=1,
    )
    if found:
        return found[0].info.run_id
    run = client.create_run(
        experiment_id,
        run_name=f"monitoring-v{champion.version}",
        tags={
            "product": spec.name,
            "role": ROLE_MONITORING,
            "model_name": champion.name,
            "model_version": champion.version,
            "data_version": champion.data_version,
            "champion_run_id": champion.run_id,
            "mlflow.parentRunId": champion.run_id,
        },
    )
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _timestamp_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def metric_entries(drift: pl.DataFrame, performance: pl.DataFrame) -> list[tuple[str, float, date]]:
    """(name, value, window end) of every finite statistic: `drift/<feature>/<statistic>`,
    `drift/dataset/<statistic>` and `performance/<metric>`."""
    entries = []
    drift = drift if not drift.is_empty() else pl.DataFrame(schema=_DRIFT_KEYS)
    performance = (
        performance if not performance.is_empty() else pl.DataFrame(schema=_PERFORMANCE_KEYS)
    )
    for feature, statistic, value, end in drift.select(
        "feature", "statistic", "value", "window_end"
    ).iter_rows():
        name = "dataset" if feature == "*" else feature
        entries.append((f"drift/{name}/{statistic}", value, end))
    for metric, value, end in performance.select("metric", "value", "window_end").iter_rows():
        entries.append((f"performance/{metric}", value, end))
    return [(n, float(v), e) for n, v, e in entries if v is not None and math.isfinite(v)]


def log_evaluation(
    run_id: str,
    champion: Champion,
    drift: pl.DataFrame,
    performance: pl.DataFrame,
    artifacts: Path | None,
    verdict: dict[str, str],
    tracking: TrackingResource,
) -> None:
    """Log the evaluation's statistics (step: the window end's day number) and charts to the
    monitoring run, and the latest verdict as tags of the champion version.

    Runs per window and feature, not per row: a few hundred metrics per evaluation.
    """
    from mlflow.entities import Metric

    from medallion.monitoring.windows import day_number

    client = tracking.activate()
    metrics = [
        Metric(key=name, value=value, timestamp=_timestamp_ms(end), step=day_number(end))
        for name, value, end in metric_entries(drift, performance)
    ]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH])
    if artifacts is not None and any(artifacts.iterdir()):
        client.log_artifacts(run_id, str(artifacts))
    for key, value in verdict.items():
        client.set_tag(run_id, f"last.{key}", value[:5000])
        client.set_model_version_tag(
            champion.name, champion.version, f"monitoring.{key}", value[:5000]
        )
