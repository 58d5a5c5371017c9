"""Performance over time, pure: the champion's metrics on each labelled window against the
metrics of its training holdout.

Labels arrive late (30 days for churn), so only windows whose labels are known, after the
champion's holdout, are judged. The primary metric warns and alerts when it falls short of
the holdout's by the spec's drops. For ROC AUC the shortfall must also exceed what its
standard error allows at `performance_significance` (Hanley & McNeil, counted on distinct
entities, because one customer appears on every day of a window): a window with a handful
of churners cannot alarm by chance. The other metrics are recorded beside it.

A regression model is judged the same way on its error (RMSE, MAE) or R², with the drops in
the metric's units as the spec states them; a window needs `min_positives` distinct
entities instead of that many positive ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from medallion.ml.metrics import holdout_metrics
from medallion.monitoring.history import PERFORMANCE_HISTORY, frame_schema
from medallion.monitoring.windows import Window
from medallion.spec import MonitoringSpec, greater_is_better


@dataclass(frozen=True)
class WindowPerformance:
    """The champion's metrics on one labelled window and the verdict on its primary metric."""

    window: Window
    metrics: dict[str, float]
    rows: int
    positives: int | None
    """Rows labelled 1; None for regression."""
    positive_entities: int | None
    """Distinct entities with a positive label; None for regression."""
    negative_entities: int | None
    entities: int
    primary: str
    holdout: dict[str, float]
    warn_threshold: float
    threshold: float
    status: str

    @property
    def value(self) -> float:
        return self.metrics.get(self.primary, math.nan)

    def describe(self) -> str:
        """e.g. 'roc_auc 0.612 on 2026-05-01..2026-05-14 (holdout 0.700, alert below 0.650)'."""
        holdout = self.holdout.get(self.primary, math.nan)
        side = "below" if greater_is_better(self.primary) else "above"
        counted = (
            f"{self.entities} entities"
            if self.positive_entities is None
            else f"{self.positive_entities} positive entities"
        )
        return (
            f"{self.primary} {self.value:.3f} on {self.window.start}..{self.window.end} "
            f"(holdout {holdout:.3f}, alert {side} {self.threshold:.3f}; {counted})"
        )


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Standard error of a ROC AUC (Hanley & McNeil, 1982)."""
    if positives < 1 or negatives < 1 or math.isnan(auc):
        return math.inf
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def thresholds(
    metric: str,
    value: float,
    holdout: float,
    positive_entities: int | None,
    negative_entities: int | None,
    monitoring: MonitoringSpec,
) -> tuple[float, float]:
    """The warn and alert thresholds of a metric: the holdout's value moved by the spec's
    drops, or (ROC AUC) by the noise allowed at `performance_significance` when larger."""
    from scipy.special import ndtri

    noise = 0.0
    if metric == "roc_auc" and positive_entities is not None and negative_entities is not None:
        error = auc_standard_error(value, positive_entities, negative_entities)
        noise = float(ndtri(1 - monitoring.performance_significance)) * error
    warn = max(monitoring.performance_warn_drop, noise)
    alert = max(monitoring.performance_alert_drop, noise)
    if greater_is_better(metric):
        return holdout - warn, holdout - alert
    return holdout + warn, holdout + alert


def verdict(metric: str, value: float, warn: float, alert: float) -> str:
    """'alert', 'warn' or 'ok' for a value against its thresholds."""
    worse = (lambda a, b: a < b) if greater_is_better(metric) else (lambda a, b: a > b)
    if worse(value, alert):
        return "alert"
    if worse(value, warn):
        return "warn"
    return "ok"


def _labels(
    frame: pl.DataFrame, entity_key: str, target: str, task: str, monitoring: MonitoringSpec
) -> tuple[np.ndarray, int | None, int | None, int | None, bool]:
    """The labels, positive rows and entities, negative entities, and whether the window has
    enough of them (both classes, for a classifier) for its metrics to be defined."""
    if task == "regression":
        values = frame[target].cast(pl.Float64).to_numpy()
        entity_count = frame[entity_key].n_unique()
        enough = entity_count >= monitoring.min_positives and frame.height >= monitoring.min_rows
        return values, None, None, None, enough
    values = frame[target].cast(pl.Int64).to_numpy()
    entities = frame.group_by(entity_key).agg(pl.col(target).max().alias("positive"))
    positive_entities = int(entities["positive"].sum() or 0)
    negative_entities = entities.height - positive_entities
    positives = int(values.sum()) if values.size else 0
    enough = (
        positive_entities >= monitoring.min_positives
        and negative_entities >= monitoring.min_positives
        and frame.height >= monitoring.min_rows
    )
    defined = enough and np.unique(values).size == 2
    return values, positives, positive_entities, negative_entities, defined


def window_performance(
    frame: pl.DataFrame,
    window: Window,
    *,
    entity_key: str,
    target: str,
    score: str,
    primary: str,
    decision_threshold: float | None,
    holdout: dict[str, float],
    monitoring: MonitoringSpec,
    task: str = "classification",
) -> WindowPerformance:
    """Metrics of the scored, labelled rows of one window and the primary metric's verdict.

    Args:
        frame: the window's rows with the entity key, the target and the champion's output.
        window: the days these rows cover.
        entity_key, target, score: column names.
        primary: the metric judged against the holdout.
        decision_threshold: score from which a row is predicted positive (classification).
        holdout: the champion's metrics on its training holdout.
        monitoring: the spec's thresholds.
        task: 'classification' (a 0/1 target) or 'regression'.
    """
    scores = frame[score].cast(pl.Float64).to_numpy()
    entity_count = frame[entity_key].n_unique()
    reference = holdout.get(primary, math.nan)
    values, positives, positive_entities, negative_entities, defined = _labels(
        frame, entity_key, target, task, monitoring
    )
    metrics = holdout_metrics(task, values, scores, decision_threshold) if defined else {}
    value = metrics.get(primary, math.nan)
    if math.isnan(value) or math.isnan(reference):
        warn = alert = math.nan
        status = "insufficient"
    else:
        warn, alert = thresholds(
            primary, value, reference, positive_entities, negative_entities, monitoring
        )
        status = verdict(primary, value, warn, alert)
    return WindowPerformance(
        window=window,
        metrics=metrics,
        rows=frame.height,
        positives=positives,
        positive_entities=positive_entities,
        negative_entities=negative_entities,
        entities=entity_count,
        primary=primary,
        holdout=holdout,
        warn_threshold=warn,
        threshold=alert,
        status=status,
    )


def history_rows(results: list[WindowPerformance]) -> pl.DataFrame:
    """One row per window and metric: the primary metric with its verdict, the others 'info'."""
    rows = []
    for result in results:
        names = [result.primary, *sorted(set(result.metrics) - {result.primary})]
        for metric in names:
            primary = metric == result.primary
            rows.append(
                {
                    "window_start": result.window.start,
                    "window_end": result.window.end,
                    "metric": metric,
                    "value": result.metrics.get(metric, math.nan),
                    "holdout_value": result.holdout.get(metric, math.nan),
                    "warn_threshold": result.warn_threshold if primary else math.nan,
                    "threshold": result.threshold if primary else math.nan,
                    "status": result.status if primary else "info",
                    "rows": result.rows,
                    "positives": result.positives,
                    "positive_entities": result.positive_entities,
                }
            )
    return pl.DataFrame(rows, schema=frame_schema(PERFORMANCE_HISTORY))
