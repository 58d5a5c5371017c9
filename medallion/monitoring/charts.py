"""Charts of the history: each feature's drift statistics over time, and the champion's
primary metric per labelled window, as PNG files logged to MLflow next to the model.

One figure per feature that moved (warned or alerted in any window of the history), for the
model's scores and for the share of drifted features: its PSI and its distance (KS or
Jensen-Shannon), each with its alert threshold as a dashed line, alerts marked red and
champion changes as dotted vertical lines, so a reader sees when a feature moved and whether
retraining followed. Every feature's statistics are also MLflow metrics, which MLflow charts
itself; a PNG of a feature that never left `ok` would only repeat them, at a fifth of a second
of drawing per feature on every evaluation.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

DPI = 80
PNG = {"compress_level": 1}
"""Fast PNG compression: one chart per feature is drawn on every evaluation."""
MARGINS = {"left": 0.08, "right": 0.98, "top": 0.88, "bottom": 0.17}
"""Fixed margins: a constrained layout re-measures every text several times per chart."""
COLORS = ("#1f77b4", "#2ca02c")
DATASET = "*"
ALWAYS_CHARTED = (DATASET, "prediction")
"""The share of drifted features and the model's scores: charted even while they stay ok."""
MOVED = ("warn", "alert")


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name) or "_"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _date_axis(axis) -> None:
    """Few, short date ticks: tick labels are most of a chart's drawing time."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axis.yaxis.set_major_locator(_max_ticks(5))


def _max_ticks(count: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(count)


def _version_changes(history: pl.DataFrame) -> list:
    """Window ends where the evaluated champion version changed."""
    firsts = (
        history.group_by("model_version")
        .agg(pl.col("window_end").min())
        .sort("window_end")["window_end"]
        .to_list()
    )
    return firsts[1:]


def charted_features(history: pl.DataFrame) -> list[str]:
    """The scores, the share of drifted features and every feature that warned or alerted."""
    moved = history.filter(pl.col("feature").is_in(ALWAYS_CHARTED) | pl.col("status").is_in(MOVED))
    return moved["feature"].unique(maintain_order=True).to_list()


def drift_charts(history: pl.DataFrame, folder: Path, title: str) -> list[Path]:
    """One PNG per charted feature (`charted_features`: the scores, the share of drifted
    features and each feature that moved) of its statistics over the windows, each with its
    alert threshold dashed.

    Args:
        history: rows of the drift history (any champion versions).
        folder: where the PNG files go (`<feature>.png`, `dataset.png`).
        title: prefix of each chart's title, e.g. the product.

    Returns:
        The files written, in feature order.
    """
    if history.is_empty():
        return []
    plt = _plt()
    folder.mkdir(parents=True, exist_ok=True)
    changes = _version_changes(history)
    charted = history.filter(pl.col("feature").is_in(charted_features(history)))
    written = []
    for (feature,), rows in charted.sort("window_end").group_by("feature", maintain_order=True):
        figure, axis = plt.subplots(figsize=(7, 2.8))
        figure.subplots_adjust(**MARGINS)
        statistics = sorted(rows["statistic"].unique().to_list(), key=lambda s: s != "psi")
        for statistic, color in zip(statistics, COLORS, strict=False):
            series = rows.filter(pl.col("statistic") == statistic)
            x = series["window_end"].to_numpy()
            axis.plot(x, series["value"].to_numpy(), marker=".", color=color, label=statistic)
            axis.step(x, series["threshold"].to_numpy(), where="mid", linestyle="--", color=color)
            alerts = series.filter(pl.col("status") == "alert")
            axis.scatter(
                alerts["window_end"].to_numpy(), alerts["value"].to_numpy(), color="#d62728"
            )
        for change in changes:
            axis.axvline(change, color="grey", linestyle=":", linewidth=1)
        name = "share of drifted features" if feature == DATASET else str(feature)
        axis.set_title(f"{title}: {name} (dashed: alert threshold, dotted: new champion)")
        axis.legend(loc="upper left")
        axis.grid(alpha=0.3)
        _date_axis(axis)
        path = folder / f"{_safe('dataset' if feature == DATASET else str(feature))}.png"
        figure.savefig(path, dpi=DPI, pil_kwargs=PNG)
        plt.close(figure)
        written.append(path)
    return written


def performance_chart(history: pl.DataFrame, metric: str, path: Path, title: str) -> Path | None:
    """The metric per labelled window against the champion's holdout value and thresholds."""
    rows = history.filter(pl.col("metric") == metric).sort("window_end")
    if rows.is_empty():
        return None
    plt = _plt()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(7, 2.6))
    figure.subplots_adjust(**MARGINS)
    x = rows["window_end"].to_list()
    axis.plot(x, rows["value"].to_numpy(), marker=".", label=metric)
    axis.step(x, rows["holdout_value"].to_numpy(), where="mid", color="grey", label="holdout")
    axis.step(x, rows["threshold"].to_numpy(), where="mid", linestyle="--", color="#d62728")
    for change in _version_changes(rows):
        axis.axvline(change, color="grey", linestyle=":", linewidth=1)
    axis.set_title(f"{title}: {metric} per labelled window")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left")
    _date_axis(axis)
    figure.savefig(path, dpi=DPI, pil_kwargs=PNG)
    plt.close(figure)
    return path
