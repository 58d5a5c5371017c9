"""Bias of a regression model, pure: how far each group's errors sit from the others'.

A regressor has no rates to compare, so the bias gate compares errors in the target's units:
per group of each sensitive attribute the mean absolute error (how wrong) and the mean signed
error (prediction minus truth: which way wrong; a model that under-predicts rural delays is
biased even when its errors are as large as anywhere). The gate bounds the gap between the
worst and best group's MAE, in units or as a ratio, and the gap between the groups' mean
signed errors. As for classification, groups with fewer than `min_group_size` rows are
reported but not compared. Per-group values come from Fairlearn's MetricFrame, like the
classification rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from medallion.ml.groups import bar_panels, group_frame

ERRORS = ("mae", "rmse", "mean_error")


def _mean_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_pred, dtype=np.float64) - y_true))


@dataclass(frozen=True)
class AttributeErrors:
    """Errors of the predictions across the groups of one sensitive attribute."""

    attribute: str
    by_group: pd.DataFrame
    """One row per group: attribute, group, rows, mae, rmse, mean_error, compared."""
    mae_difference: float
    """Worst compared group's MAE minus the best's, in the target's units."""
    mae_ratio: float
    """Worst compared group's MAE over the best's (1.0 with fewer than two groups)."""
    mean_error_difference: float
    """Largest minus smallest mean signed error of the compared groups."""


def attribute_errors(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    values: np.ndarray,
    attribute: str,
    min_group_size: int,
) -> AttributeErrors:
    """Per-group errors and their spread for one sensitive attribute.

    Args:
        y_true: the target.
        y_pred: predicted values.
        values: the attribute's value per row.
        attribute: its name.
        min_group_size: rows a group needs to be compared.
    """
    errors = {
        "mae": mean_absolute_error,
        "rmse": root_mean_squared_error,
        "mean_error": _mean_error,
    }
    _, table = group_frame(
        errors,
        np.asarray(y_true, dtype=np.float64),
        np.asarray(y_pred, dtype=np.float64),
        values,
        attribute,
    )
    table["compared"] = table["rows"] >= min_group_size
    compared = table[table["compared"]]
    if len(compared) >= 2:
        worst, best = float(compared["mae"].max()), float(compared["mae"].min())
        mae_difference = worst - best
        mae_ratio = worst / best if best > 0 else (1.0 if worst == 0 else math.inf)
        mean_error_difference = float(compared["mean_error"].max() - compared["mean_error"].min())
    else:
        mae_difference, mae_ratio, mean_error_difference = 0.0, 1.0, 0.0
    table = table.reset_index(names="group")[["group", "rows", *ERRORS, "compared"]]
    table["group"] = table["group"].astype(str)
    table.insert(0, "attribute", attribute)
    return AttributeErrors(attribute, table, mae_difference, mae_ratio, mean_error_difference)


def error_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: dict[str, np.ndarray],
    min_group_size: int,
) -> list[AttributeErrors]:
    """attribute_errors for every sensitive attribute, in the spec's order."""
    return [
        attribute_errors(y_true, y_pred, values, attribute, min_group_size)
        for attribute, values in sensitive.items()
    ]


def error_table(reports: list[AttributeErrors]) -> pd.DataFrame:
    """One table of every group of every attribute (the artifact logged to MLflow)."""
    if not reports:
        return pd.DataFrame(columns=["attribute", "group", "rows", *ERRORS, "compared"])
    return pd.concat([r.by_group for r in reports], ignore_index=True)


def error_metric_values(reports: list[AttributeErrors]) -> dict[str, float]:
    """The spreads per attribute as flat MLflow metric names."""
    values: dict[str, float] = {}
    for r in reports:
        values[f"bias/{r.attribute}/mae_difference"] = r.mae_difference
        values[f"bias/{r.attribute}/mae_ratio"] = r.mae_ratio
        values[f"bias/{r.attribute}/mean_error_difference"] = r.mean_error_difference
    return {k: v for k, v in values.items() if math.isfinite(v)}


def error_chart(reports: list[AttributeErrors], path: Path, title: str) -> Path:
    """Bars of MAE, RMSE and mean signed error per group, one panel per attribute, as PNG."""
    panels = [
        (
            f"{r.attribute}: MAE gap {r.mae_difference:.3f} (x{r.mae_ratio:.2f}), "
            f"mean error gap {r.mean_error_difference:.3f}",
            r.by_group.set_index("group")[list(ERRORS)],
        )
        for r in reports
    ]
    return bar_panels(panels, path, title)
