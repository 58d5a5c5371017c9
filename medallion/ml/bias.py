"""The bias evaluation of one variant, by task: a classifier's decisions compared across
groups as rates (medallion.ml.fairness), a regressor's errors compared across groups
(medallion.ml.group_error), each with its gate and what is logged to MLflow behind it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from medallion.ml.fairness import (
    AttributeFairness,
    fairness_chart,
    fairness_metric_values,
    fairness_report,
    fairness_table,
)
from medallion.ml.gates import GateOutcome, Usefulness, bias_gate, error_bias_gate
from medallion.ml.group_error import (
    AttributeErrors,
    error_chart,
    error_metric_values,
    error_report,
    error_table,
)
from medallion.spec import ModelSpec


@dataclass(frozen=True)
class BiasEvaluation:
    """The bias gate of one variant and what is logged behind it."""

    what: str
    """'rates' (classification) or 'errors' (regression)."""
    reports: list[AttributeFairness] | list[AttributeErrors]
    gate: GateOutcome
    table: pd.DataFrame
    """Every group of every sensitive attribute (the artifact `fairness/by_group.csv`)."""
    metric_values: dict[str, float]

    def chart(self, path: Path, title: str) -> Path:
        """The per-group bar chart (the artifact `fairness/by_group.png`)."""
        if self.what == "errors":
            return error_chart(self.reports, path, title)  # type: ignore[arg-type]
        return fairness_chart(self.reports, path, title)  # type: ignore[arg-type]


def usefulness(
    model: ModelSpec, y_true: np.ndarray, predicted: np.ndarray, threshold: float
) -> Usefulness:
    """Counts behind recall and lift of 0/1 decisions, with the spec's minimums."""
    y = np.asarray(y_true).astype(np.int64)
    assert model.gates.min_recall is not None and model.gates.min_lift is not None
    return Usefulness(
        threshold=threshold,
        rows=int(y.size),
        positives=int(y.sum()),
        selected=int(predicted.sum()),
        true_positives=int((predicted * y).sum()),
        min_recall=model.gates.min_recall,
        min_lift=model.gates.min_lift,
    )


def evaluate_bias(
    model: ModelSpec,
    y_true: np.ndarray,
    outputs: np.ndarray,
    sensitive: dict[str, np.ndarray],
    threshold: float | None = None,
) -> BiasEvaluation:
    """Per-group rates and counts of a classifier's decisions at `threshold` (the model's,
    chosen on data; the spec's decision_threshold when None), with recall and lift overall
    so that no decisions cannot pass, or per-group errors of a regressor's predictions."""
    gates = model.gates
    if model.is_regression:
        errors = error_report(y_true, outputs, sensitive, gates.bias_min_group_size)
        return BiasEvaluation(
            "errors",
            errors,
            error_bias_gate(errors, gates, model.target),
            error_table(errors),
            error_metric_values(errors),
        )
    threshold = model.decision_threshold if threshold is None else threshold
    assert threshold is not None and gates.bias_max_difference is not None
    predicted = (np.asarray(outputs) >= threshold).astype(np.int64)
    rates = fairness_report(y_true, predicted, sensitive, gates.bias_min_group_size)
    useful = usefulness(model, y_true, predicted, threshold)
    return BiasEvaluation(
        "rates",
        rates,
        bias_gate(rates, gates.bias_max_difference, useful),
        fairness_table(rates),
        fairness_metric_values(rates),
    )
