"""The decision threshold of a classifier, chosen on data, pure.

A fixed 0.5 on a target with 7% positives selects almost nobody: the probabilities of a
rare class seldom reach it. The threshold is chosen instead on validation days carved from
the end of the training window (never the holdout, which judges the result), by the rule the
spec declares, and recorded with the model so that serving, the holdout metrics and the bias
gate all decide at the same score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_curve

PARAM_KEYS = ("decision_threshold", "threshold_rule", "threshold_reason")


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold, the rule that chose it and why, in words a reviewer can check."""

    threshold: float
    rule: str
    reason: str

    def to_params(self) -> dict[str, object]:
        """As MLflow params (and model version tags)."""
        return {
            "decision_threshold": self.threshold,
            "threshold_rule": self.rule,
            "threshold_reason": self.reason[:5000],
        }

    @classmethod
    def from_params(cls, params: dict[str, str], fallback: float) -> ThresholdChoice:
        """From a run's params; runs logged before thresholds were chosen used `fallback`."""
        if "decision_threshold" not in params:
            return cls(fallback, "fixed", "recorded before thresholds were chosen on data")
        return cls(
            float(params["decision_threshold"]),
            params.get("threshold_rule", "fixed"),
            params.get("threshold_reason", ""),
        )


def _max_f1(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, str]:
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.flatnonzero(f1 == f1.max())[-1])  # ties: the highest threshold
    why = (
        f"maximises F1 on the validation days: F1 {f1[best]:.4f} "
        f"(precision {precision[best]:.4f}, recall {recall[best]:.4f})"
    )
    return float(thresholds[best]), why


def _positive_rate(scores: np.ndarray, rate: float) -> tuple[float, str]:
    ordered = np.sort(scores)[::-1]
    selected = max(1, round(rate * ordered.size))
    threshold = float(ordered[selected - 1])
    share = float(np.mean(scores >= threshold))
    why = f"selects {share:.2%} of the validation rows, the training days' positive rate {rate:.2%}"
    return threshold, why


def choose_threshold(
    rule: str,
    y_validation: np.ndarray,
    scores_validation: np.ndarray,
    *,
    fixed: float,
    training_positive_rate: float,
) -> ThresholdChoice:
    """The decision threshold by `rule`.

    Args:
        rule: max_f1, positive_rate or fixed.
        y_validation: labels 0/1 of the validation days.
        scores_validation: the model's positive-class scores on them.
        fixed: the spec's decision_threshold (rule fixed, and the fallback).
        training_positive_rate: share of positives in the rows the model learned from.

    Returns:
        The choice; `fixed` with the reason when the validation rows hold one class only.
    """
    y = np.asarray(y_validation).astype(np.int64)
    scores = np.asarray(scores_validation, dtype=np.float64)
    size = f"{y.size:,} validation rows, {int(y.sum()):,} positive"
    if rule == "fixed":
        return ThresholdChoice(fixed, rule, f"fixed in the spec ({size})")
    if y.size == 0 or np.unique(y).size < 2:
        return ThresholdChoice(
            fixed, "fixed", f"{rule} needs both classes on the validation days ({size}): fixed"
        )
    if rule == "max_f1":
        threshold, why = _max_f1(y, scores)
    elif rule == "positive_rate":
        threshold, why = _positive_rate(scores, training_positive_rate)
    else:
        raise ValueError(f"unknown threshold rule {rule!r}")
    return ThresholdChoice(threshold, rule, f"{why} ({size})")
