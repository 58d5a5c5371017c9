"""Per-group metric tables and bar charts, shared by the bias reports of classifiers
(medallion.ml.fairness) and regressors (medallion.ml.group_error)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count

from medallion.ml.metrics import group_labels


def group_frame(
    metrics: dict[str, Callable],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    values: np.ndarray,
    attribute: str,
) -> tuple[MetricFrame, pd.DataFrame]:
    """Fairlearn's MetricFrame of `metrics` over the groups of one attribute (missing values
    are the group 'missing'), and a copy of its by-group table with an integer `rows`."""
    labels = group_labels(np.asarray(values, dtype=object))
    frame = MetricFrame(
        metrics={"rows": count, **metrics},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=pd.Series(labels, name=attribute),
    )
    table = frame.by_group.copy()
    table["rows"] = table["rows"].astype(int)
    return frame, table


def bar_panels(
    panels: Sequence[tuple[str, pd.DataFrame]],
    path: Path,
    title: str,
    ylim: Callable[[pd.DataFrame], tuple[float, float]] | None = None,
) -> Path:
    """One bar panel per (panel title, table indexed by group), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count_ = max(len(panels), 1)
    figure, axes = plt.subplots(1, count_, figsize=(5.5 * count_, 4), squeeze=False)
    for axis, (panel_title, table) in zip(axes[0], panels, strict=False):
        table.plot.bar(ax=axis, rot=0, width=0.8)
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_title(panel_title, fontsize=9)
        if ylim is not None:
            axis.set_ylim(*ylim(table))
        axis.set_xlabel("")
        axis.legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
