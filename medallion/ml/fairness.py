"""Bias metrics with Fairlearn: per-group rates and the differences the bias gate bounds.

For every sensitive attribute: per-group selection rate, true-positive rate and
false-positive rate (Fairlearn's MetricFrame), and the demographic parity and equalized odds
differences and ratios between groups. A rate is only compared for groups with enough rows
behind it (`min_group_size` rows for the selection rate, that many positives for the TPR and
negatives for the FPR); smaller groups are reported but not compared, so that a handful of
rows cannot fail or pass the gate by chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from medallion.ml.groups import bar_panels, group_frame
from medallion.ml.metrics import group_labels

RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")
_COLUMNS = (
    *("group", "rows", "positives", "negatives", "selected", "true_positives"),
    *RATES,
    *("selection_compared", "tpr_compared", "fpr_compared"),
)
"""The by-group table's columns, after `attribute`."""


@dataclass(frozen=True)
class AttributeFairness:
    """Fairness of the predictions across the groups of one sensitive attribute."""

    attribute: str
    by_group: pd.DataFrame
    """One row per group: rows, positives, negatives, selected (predicted positive),
    true_positives, the three rates and whether each rate is compared (selection_compared,
    tpr_compared, fpr_compared)."""
    demographic_parity_difference: float
    demographic_parity_ratio: float
    equalized_odds_difference: float
    equalized_odds_ratio: float

    @property
    def worst_difference(self) -> float:
        return max(self.demographic_parity_difference, self.equalized_odds_difference)


def _difference_and_ratio(
    frame: MetricFrame, metric: str, groups: list[str]
) -> tuple[float, float]:
    """Between-groups difference and ratio of one rate over the compared groups."""
    if len(groups) < 2:
        return 0.0, 1.0
    rates = frame.by_group[metric].loc[groups].astype(float)
    high, low = float(rates.max()), float(rates.min())
    return high - low, (low / high if high > 0 else 1.0)


def _with_counts(
    table: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    values: np.ndarray,
    min_group_size: int,
) -> pd.DataFrame:
    """The by-group table with the counts behind each rate and whether the rate is compared."""
    labels = group_labels(np.asarray(values, dtype=object))

    def per_group(column: np.ndarray) -> pd.Series:
        return pd.Series(column).groupby(labels).sum().reindex(table.index).astype(int)

    table["positives"] = per_group(y_true)
    table["negatives"] = table["rows"] - table["positives"]
    table["selected"] = per_group(y_pred)
    table["true_positives"] = per_group(y_pred * y_true)
    table["selection_compared"] = table["rows"] >= min_group_size
    table["tpr_compared"] = table["positives"] >= min_group_size
    table["fpr_compared"] = table["negatives"] >= min_group_size
    return table


def attribute_fairness(
    y_true: np.ndarray, y_pred: np.ndarray, values: np.ndarray, attribute: str, min_group_size: int
) -> AttributeFairness:
    """Per-group rates and gate differences for one sensitive attribute.

    Args:
        y_true: labels 0/1.
        y_pred: predicted labels 0/1 (scores already thresholded).
        values: the attribute's value per row.
        attribute: its name.
        min_group_size: rows (positives, negatives) a group needs for a rate to be compared.

    Returns:
        The per-group table and the demographic parity and equalized odds difference and ratio.
        Equalized odds is the larger TPR or FPR difference and the smaller ratio, as Fairlearn
        defines it.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    y_pred = np.asarray(y_pred).astype(np.int64)
    rates = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
    }
    frame, table = group_frame(rates, y_true, y_pred, values, attribute)
    table = _with_counts(table, y_true, y_pred, values, min_group_size)

    def compared(column: str) -> list[str]:
        return [str(g) for g in table.index[table[column]]]

    dp_diff, dp_ratio = _difference_and_ratio(
        frame, "selection_rate", compared("selection_compared")
    )
    tpr_diff, tpr_ratio = _difference_and_ratio(
        frame, "true_positive_rate", compared("tpr_compared")
    )
    fpr_diff, fpr_ratio = _difference_and_ratio(
        frame, "false_positive_rate", compared("fpr_compared")
    )
    table = table.reset_index(names="group")[list(_COLUMNS)]
    table.insert(0, "attribute", attribute)
    return AttributeFairness(
        attribute=attribute,
        by_group=table,
        demographic_parity_difference=dp_diff,
        demographic_parity_ratio=dp_ratio,
        equalized_odds_difference=max(tpr_diff, fpr_diff),
        equalized_odds_ratio=min(tpr_ratio, fpr_ratio),
    )


def fairness_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: dict[str, np.ndarray],
    min_group_size: int,
) -> list[AttributeFairness]:
    """attribute_fairness for every sensitive attribute, in the spec's order."""
    return [
        attribute_fairness(y_true, y_pred, values, attribute, min_group_size)
        for attribute, values in sensitive.items()
    ]


def fairness_table(reports: list[AttributeFairness]) -> pd.DataFrame:
    """One table of every group of every attribute (the artifact logged to MLflow)."""
    if not reports:
        return pd.DataFrame(columns=["attribute", "group", "rows", *RATES])
    return pd.concat([r.by_group for r in reports], ignore_index=True)


def fairness_metric_values(reports: list[AttributeFairness]) -> dict[str, float]:
    """Differences and ratios per attribute as flat MLflow metric names."""
    values: dict[str, float] = {}
    for r in reports:
        values[f"bias/{r.attribute}/demographic_parity_difference"] = (
            r.demographic_parity_difference
        )
        values[f"bias/{r.attribute}/demographic_parity_ratio"] = r.demographic_parity_ratio
        values[f"bias/{r.attribute}/equalized_odds_difference"] = r.equalized_odds_difference
        values[f"bias/{r.attribute}/equalized_odds_ratio"] = r.equalized_odds_ratio
    return {k: v for k, v in values.items() if not math.isnan(v)}


def fairness_chart(reports: list[AttributeFairness], path: Path, title: str) -> Path:
    """A bar chart of the three rates per group, one panel per attribute, saved as PNG."""
    panels = [
        (
            f"{r.attribute}: DP diff {r.demographic_parity_difference:.3f}, "
            f"EO diff {r.equalized_odds_difference:.3f}",
            r.by_group.set_index("group")[list(RATES)],
        )
        for r in reports
    ]
    return bar_panels(
        panels,
        path,
        title,
        ylim=lambda table: (0, min(1.0, max(0.05, float(np.nanmax(table.to_numpy())) * 1.15))),
    )
