"""Classification metrics on the holdout, overall and per sensitive group.

Every variant and every baseline is scored by these functions, so their metric names are
identical and MLflow's compare view lines them up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

LOWER_IS_BETTER = frozenset({"log_loss"})
_PROBABILITY_EPS = 1e-15


def greater_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def classification_metrics(
    y_true: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float]:
    """roc_auc, accuracy, f1, precision, recall and log_loss of positive-class scores.

    Args:
        y_true: labels 0/1.
        scores: probability of class 1.
        threshold: scores at or above it are predicted 1.

    Returns:
        Metric name to value; roc_auc is NaN when the labels hold one class only.
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    y_pred = (scores >= threshold).astype(np.int64)
    both_classes = np.unique(y_true).size == 2
    values = {
        "roc_auc": float(roc_auc_score(y_true, scores)) if both_classes else math.nan,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "log_loss": float(
            log_loss(y_true, np.clip(scores, _PROBABILITY_EPS, 1 - _PROBABILITY_EPS), labels=[0, 1])
        ),
    }
    return values


@dataclass(frozen=True)
class GroupMetrics:
    """The metrics of one group of one sensitive attribute."""

    attribute: str
    group: str
    rows: int
    positives: int
    metrics: dict[str, float]


def group_labels(values: np.ndarray) -> np.ndarray:
    """Sensitive attribute values as text, missing ones as 'missing'."""
    return np.array(["missing" if v is None or v != v else str(v) for v in values], dtype=object)


def per_group_metrics(
    y_true: np.ndarray,
    scores: np.ndarray,
    sensitive: dict[str, np.ndarray],
    threshold: float,
) -> list[GroupMetrics]:
    """classification_metrics for every group of every sensitive attribute, groups sorted."""
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    rows = []
    for attribute, values in sensitive.items():
        labels = group_labels(values)
        for group in sorted(set(labels.tolist())):
            mask = labels == group
            rows.append(
                GroupMetrics(
                    attribute=attribute,
                    group=group,
                    rows=int(mask.sum()),
                    positives=int(y_true[mask].sum()),
                    metrics=classification_metrics(y_true[mask], scores[mask], threshold),
                )
            )
    return rows


def metric_key(*parts: str) -> str:
    """An MLflow metric or tag name from parts, e.g. ('group', 'age_band', '65+', 'f1') ->
    'group/age_band/65plus/f1'; characters MLflow refuses become '_'."""
    cleaned = [re.sub(r"[^\w.\- ]", "_", part.replace("+", "plus")) or "_" for part in parts]
    return "/".join(cleaned)


def group_metric_values(groups: list[GroupMetrics], min_rows: int) -> dict[str, float]:
    """Per-group metrics as flat MLflow names, for groups with at least `min_rows` rows and
    defined values."""
    values: dict[str, float] = {}
    for row in groups:
        if row.rows < min_rows:
            continue
        for name, value in row.metrics.items():
            if not math.isnan(value):
                values[metric_key("group", row.attribute, row.group, name)] = value
    return values
