"""Holdout metrics of a classifier or a regressor, overall and per sensitive group.

Every variant and every baseline is scored by these functions, so their metric names are
identical and MLflow's compare view lines them up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_PROBABILITY_EPS = 1e-15


def classification_metrics(
    y_true: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float]:
    """roc_auc, accuracy, f1, precision, recall and log_loss of positive-class scores, in
    plain numpy (scikit-learn's definitions, without its input checks: a millisecond per
    call, for every group and every bootstrap resample).

    Args:
        y_true: labels 0/1.
        scores: probability of class 1.
        threshold: scores at or above it are predicted 1.

    Returns:
        Metric name to value; roc_auc is NaN when the labels hold one class only, precision,
        recall and f1 are 0 where nothing is predicted or labelled 1.
    """
    from scipy.stats import rankdata

    y = np.asarray(y_true) == 1
    scores = np.asarray(scores, dtype=np.float64)
    if y.size == 0:
        return dict.fromkeys(
            ("roc_auc", "accuracy", "f1", "precision", "recall", "log_loss"), math.nan
        )
    predicted = scores >= threshold
    positives = int(y.sum())
    negatives = y.size - positives
    tp = int((predicted & y).sum())
    fp = int(predicted.sum()) - tp
    fn = positives - tp
    auc = math.nan
    if positives and negatives:  # Mann-Whitney U over all pairs, ties counting one half
        ranks = rankdata(scores)
        auc = (ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    clipped = np.clip(scores, _PROBABILITY_EPS, 1 - _PROBABILITY_EPS)
    return {
        "roc_auc": float(auc),
        "accuracy": (y.size - fp - fn) / y.size,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / positives if positives else 0.0,
        "log_loss": float(-np.mean(np.where(y, np.log(clipped), np.log1p(-clipped)))),
    }


def regression_metrics(y_true: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """rmse, mae, r2, median_ae and mean_error (mean of prediction minus truth: positive when
    the model over-predicts) of predicted values, in plain numpy (scikit-learn's definitions,
    without its input checks: a millisecond per metric, on every bootstrap resample).

    r2 is NaN when fewer than two rows or a constant target leave it undefined.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    if y_true.size == 0:
        return dict.fromkeys(("rmse", "mae", "r2", "median_ae", "mean_error"), math.nan)
    error = predictions - y_true
    absolute = np.abs(error)
    squared = float(np.dot(error, error))
    spread = float(np.sum((y_true - y_true.mean()) ** 2))
    defined = y_true.size >= 2 and spread > 0
    return {
        "rmse": math.sqrt(squared / y_true.size),
        "mae": float(absolute.mean()),
        "r2": 1.0 - squared / spread if defined else math.nan,
        "median_ae": float(np.median(absolute)),
        "mean_error": float(error.mean()),
    }


def holdout_metrics(
    task: str, y_true: np.ndarray, outputs: np.ndarray, threshold: float | None
) -> dict[str, float]:
    """The task's metrics of model outputs: positive-class scores or predicted values."""
    if task == "regression":
        return regression_metrics(y_true, outputs)
    assert threshold is not None
    return classification_metrics(y_true, outputs, threshold)


@dataclass(frozen=True)
class GroupMetrics:
    """The metrics of one group of one sensitive attribute."""

    attribute: str
    group: str
    rows: int
    positives: int | None
    """Rows labelled 1 (classification); None for regression."""
    metrics: dict[str, float]


def group_labels(values: np.ndarray) -> np.ndarray:
    """Sensitive attribute values as text, missing ones as 'missing'."""
    return np.array(["missing" if v is None or v != v else str(v) for v in values], dtype=object)


def per_group_metrics(
    task: str,
    y_true: np.ndarray,
    outputs: np.ndarray,
    sensitive: dict[str, np.ndarray],
    threshold: float | None,
) -> list[GroupMetrics]:
    """holdout_metrics for every group of every sensitive attribute, groups sorted: one
    Fairlearn MetricFrame per attribute, like the bias gate's rates."""
    from fairlearn.metrics import MetricFrame, count

    y_true = np.asarray(y_true)
    outputs = np.asarray(outputs, dtype=np.float64)
    measures = {
        "rows": count,
        "positives": lambda truth, _: int(np.sum(truth)),
        "metrics": lambda truth, out: holdout_metrics(
            task, np.asarray(truth), np.asarray(out), threshold
        ),
    }
    rows = []
    for attribute, values in sensitive.items():
        labels = pd.Series(group_labels(values), name=attribute)
        frame = MetricFrame(
            metrics=measures, y_true=y_true, y_pred=outputs, sensitive_features=labels
        )
        rows += [
            GroupMetrics(
                attribute=attribute,
                group=str(group),
                rows=int(row["rows"]),
                positives=None if task == "regression" else int(row["positives"]),
                metrics=row["metrics"],
            )
            for group, row in frame.by_group.sort_index().iterrows()
        ]
    return rows


def metric_key(*parts: str) -> str:
    """An MLflow metric or tag name from parts, e.g. ('group', 'age_band', '65+', 'f1') ->
    'group/age_band/65plus/f1'; characters MLflow refuses become '_'."""
    cleaned = [re.sub(r"[^\w.\- ]", "_", part.replace("+", "plus")) or "_" for part in parts]
    return "/".join(cleaned)


def group_metric_values(groups: list[GroupMetrics], min_rows: int) -> dict[str, float]:
    """Per-group metrics as flat MLflow names, for groups with at least `min_rows` rows and
    defined values, with the group's size (`rows`, and `positives` for a classifier)."""
    values: dict[str, float] = {}
    for row in groups:
        if row.rows < min_rows:
            continue
        values[metric_key("group", row.attribute, row.group, "rows")] = float(row.rows)
        if row.positives is not None:
            values[metric_key("group", row.attribute, row.group, "positives")] = float(
                row.positives
            )
        for name, value in row.metrics.items():
            if not math.isnan(value):
                values[metric_key("group", row.attribute, row.group, name)] = value
    return values


def bootstrap_intervals(
    task: str,
    y_true: np.ndarray,
    outputs: np.ndarray,
    threshold: float | None,
    *,
    resamples: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals of the holdout metrics (rows resampled with
    replacement, seeded, so the same holdout gives the same intervals).

    Returns:
        Metric name to (low, high); metrics undefined in every resample are left out.
    """
    y = np.asarray(y_true)
    outputs = np.asarray(outputs, dtype=np.float64)
    if y.size == 0 or resamples < 1:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        picks = rng.integers(0, y.size, size=y.size)
        if task == "regression":
            values = regression_metrics(y[picks], outputs[picks])
        else:
            assert threshold is not None
            values = classification_metrics(y[picks], outputs[picks], threshold)
        for name, value in values.items():
            draws.setdefault(name, []).append(value)
    tail = (1 - level) / 2 * 100
    intervals = {}
    for name, values in draws.items():
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            low, high = np.percentile(finite, [tail, 100 - tail])
            intervals[name] = (float(low), float(high))
    return intervals


def interval_metric_values(intervals: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Intervals as MLflow metric names: ci95/<metric>/low and ci95/<metric>/high."""
    values = {}
    for name, (low, high) in intervals.items():
        values[f"ci95/{name}/low"] = low
        values[f"ci95/{name}/high"] = high
    return values
