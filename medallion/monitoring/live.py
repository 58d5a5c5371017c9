"""Live comparison, pure: the logged predictions of the champion and of every shadow
challenger joined with the labels as they arrive in gold, and judged on the same requests.

Per model version and window (of `monitoring.performance_window_days`, by the day the
prediction is about) it computes the primary metric, the bias gate's group metrics and the
prediction counts. A challenger "beats" the champion only on the rows both scored and only
by more than the noise: for ROC AUC by more than the two AUCs' standard errors combined at
`performance_significance` (Hanley & McNeil on distinct entities, as the performance
monitor does; an entity counts once among positives and once among negatives when it has
both), and never by less than `performance_warn_drop`, the smallest change the spec calls
meaningful.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from medallion.ml.metrics import holdout_metrics, per_group_metrics
from medallion.monitoring.performance import auc_standard_error
from medallion.spec import ProductSpec, greater_is_better

CHAMPION = "champion"
WINDOW_SCHEMA = {
    "model_version": pl.String,
    "alias": pl.String,
    "window_start": pl.Date,
    "predictions": pl.Int64,
    "labelled": pl.Int64,
    "metric": pl.String,
    "value": pl.Float64,
    "groups": pl.String,
}


def labelled_predictions(log: pl.LazyFrame, gold: pl.DataFrame, spec: ProductSpec) -> pl.DataFrame:
    """One row per (model version, alias, entity, day) with its output, label and sensitive
    attributes, for the predictions whose label has arrived."""
    model = spec.model
    assert model is not None
    outcomes = gold.select(
        pl.col(model.entity_key).cast(pl.String).alias("entity_key"),
        pl.col(model.time_column).cast(pl.String).alias("as_of"),
        pl.col(model.time_column).cast(pl.Date).alias("day"),
        pl.col(model.target).alias("label"),
        *[pl.col(c).cast(pl.String).fill_null("missing") for c in model.sensitive],
    ).filter(pl.col("label").is_not_null())
    scored = (
        log.filter(pl.col("entity_key").is_not_null() & pl.col("as_of").is_not_null())
        .group_by("model_version", "alias", "entity_key", "as_of")
        .agg(pl.col("output").last(), pl.len().alias("predictions"))
        .collect()
    )
    return scored.join(outcomes, on=["entity_key", "as_of"], how="inner")


def window_rows(frame: pl.DataFrame, spec: ProductSpec) -> pl.DataFrame:
    """Per model version, alias and window: counts, the primary metric and group metrics."""
    model = spec.model
    assert model is not None
    days = spec.monitoring.performance_window_days
    epoch = pl.lit(date(1970, 1, 1))
    offset = (pl.col("day") - epoch).dt.total_days()
    frame = frame.with_columns((epoch + pl.duration(days=offset - offset % days)).alias("window"))
    rows = []
    for (version, alias, window), part in sorted(
        frame.partition_by("model_version", "alias", "window", as_dict=True).items()
    ):
        y, scores = part["label"].to_numpy(), part["output"].to_numpy()
        metrics = _metrics(spec, y, scores)
        sensitive = {c: part[c].to_numpy() for c in model.sensitive}
        groups = per_group_metrics(model.task, y, scores, sensitive, model.decision_threshold)
        rows.append(
            {
                "model_version": version,
                "alias": alias,
                "window_start": window,
                "predictions": int(part["predictions"].sum()),
                "labelled": part.height,
                "metric": model.primary_metric,
                "value": metrics.get(model.primary_metric or "", math.nan),
                "groups": json.dumps(
                    {
                        f"{g.attribute}={g.group}": _finite({"rows": g.rows} | g.metrics)
                        for g in groups
                    }
                ),
            }
        )
    return pl.DataFrame(rows, schema=WINDOW_SCHEMA)


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}


def _metrics(spec: ProductSpec, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    model = spec.model
    assert model is not None
    if model.task == "classification" and np.unique(y).size < 2:
        return {}
    return holdout_metrics(model.task, y, scores, model.decision_threshold)


@dataclass(frozen=True)
class Comparison:
    """A challenger against the champion on the labelled rows both scored."""

    alias: str
    version: str
    champion_version: str
    metric: str
    rows: int
    positive_entities: int | None
    champion_value: float
    challenger_value: float
    margin: float
    """How much better the challenger must be to count (the noise, or the warn drop)."""

    @property
    def difference(self) -> float:
        """Challenger minus champion, signed so that positive means better."""
        sign = 1.0 if greater_is_better(self.metric) else -1.0
        return sign * (self.challenger_value - self.champion_value)

    @property
    def beats(self) -> bool:
        return not math.isnan(self.difference) and self.difference > self.margin

    def describe(self) -> str:
        verdict = "beats" if self.beats else "does not beat"
        return (
            f"{self.alias} v{self.version} {verdict} the champion v{self.champion_version} on "
            f"{self.rows} live labelled predictions: {self.metric} {self.challenger_value:.4f} "
            f"vs {self.champion_value:.4f} (needs more than {self.margin:.4f} better)"
        )


def compare(frame: pl.DataFrame, spec: ProductSpec) -> list[Comparison]:
    """Every challenger alias against the champion, paired on (entity, day)."""
    model, monitoring = spec.model, spec.monitoring
    assert model is not None and model.primary_metric is not None
    key = ["entity_key", "as_of"]
    champion = frame.filter(pl.col("alias") == CHAMPION)
    if champion.is_empty():
        return []
    found = []
    for (alias, version), part in sorted(
        frame.filter(pl.col("alias") != CHAMPION)
        .partition_by("alias", "model_version", as_dict=True)
        .items()
    ):
        paired = champion.join(part.select(*key, "output"), on=key, suffix="_challenger")
        y = paired["label"].to_numpy()
        old = _metrics(spec, y, paired["output"].to_numpy())
        new = _metrics(spec, y, paired["output_challenger"].to_numpy())
        positives = negatives = None
        if model.task == "classification":
            labels = paired.group_by("entity_key").agg(
                (pl.col("label") == 1).any().alias("positive"),
                (pl.col("label") == 0).any().alias("negative"),
            )
            positives, negatives = int(labels["positive"].sum()), int(labels["negative"].sum())
        metric = model.primary_metric
        margin = _margin(metric, old, new, positives, negatives, spec)
        enough = paired.height >= monitoring.min_rows and (
            positives is None or min(positives, negatives or 0) >= monitoring.min_positives
        )
        found.append(
            Comparison(
                str(alias),
                str(version),
                str(paired["model_version"][0]) if paired.height else "?",
                metric,
                paired.height,
                positives,
                old.get(metric, math.nan),
                new.get(metric, math.nan) if enough else math.nan,
                margin,
            )
        )
    return found


def _margin(metric, old, new, positives, negatives, spec: ProductSpec) -> float:
    from scipy.special import ndtri

    monitoring = spec.monitoring
    noise = 0.0
    if metric == "roc_auc" and positives is not None and negatives is not None:
        errors = [
            auc_standard_error(values.get(metric, math.nan), positives, negatives)
            for values in (old, new)
        ]
        noise = float(ndtri(1 - monitoring.performance_significance)) * math.hypot(*errors)
    return max(monitoring.performance_warn_drop or 0.0, noise)
