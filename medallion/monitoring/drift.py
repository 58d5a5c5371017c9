"""Drift statistics, pure: how far a current window of a table lies from its reference.

Numbers get the population stability index (PSI) over reference-quantile bins, with one more
bin for missing values, and the Kolmogorov-Smirnov statistic, read on a fine grid of quantiles
of both sides. Categories get the PSI and the Jensen-Shannon distance over the reference's
most frequent categories. Each numeric column is sorted once (numpy's vectorized sort);
everything after works on a few thousand quantile points per column, which keeps a million
rows by twenty features around a second.

A feature drifts when one of its statistics reaches its alert threshold and the other at
least its warn threshold: two views of the distribution must agree. Thresholds are effect
sizes from the spec, raised to the level chance alone reaches for the window's row counts
(chi-square for PSI and Jensen-Shannon, the two-sample critical value for KS): a window of a
few rows cannot alarm by chance, and a huge window is not flagged for a trivial difference,
because no p-value is ever compared, only effect sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from medallion.monitoring.history import DRIFT_HISTORY, frame_schema
from medallion.spec import MonitoringSpec

GRID_POINTS = 1000
"""Quantiles per side on which the KS statistic is read (a resolution of 0.1%)."""
EPSILON = 1e-4
"""Share given to an empty bin so that the PSI's logarithm stays finite."""
MISSING = "(missing)"
OTHER = "(other)"
PREDICTION = "prediction"
"""The feature name under which the champion's scores are compared."""
DATASET = "*"
"""The feature name of the dataset-level row (share of drifted features)."""
STATUSES = ("insufficient", "ok", "warn", "alert")
"""From least to most serious."""

STATISTICS_SCHEMA = frame_schema(
    DRIFT_HISTORY,
    ("feature", "kind", "statistic", "value", "bins", "reference_rows", "current_rows"),
)
"""The statistics of one window: drift_history's columns before the verdict."""


def split_kinds(schema: pl.Schema, features: list[str]) -> tuple[list[str], list[str]]:
    """Numeric and categorical features by their type; booleans count as categories.

    Raises:
        ValueError: for a feature that is missing or of another type, naming it.
    """
    numeric, categorical = [], []
    for name in features:
        if name not in schema:
            raise ValueError(f"feature {name!r} is not a column (columns: {list(schema)})")
        dtype = schema[name]
        if (
            dtype == pl.Boolean
            or dtype in (pl.String, pl.Categorical)
            or isinstance(dtype, pl.Enum)
        ):
            categorical.append(name)
        elif dtype.is_numeric():
            numeric.append(name)
        else:
            raise ValueError(f"feature {name!r} has type {dtype}; drift needs numbers or text")
    return numeric, categorical


def _sorted_values(frame: pl.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """Each column's present values (NaN counts as missing), sorted.

    numpy's vectorized sort beats Polars' here by a factor of four on one million floats.
    """
    values = {}
    for column in columns:
        array = frame[column].cast(pl.Float64).to_numpy()
        values[column] = np.sort(array[~np.isnan(array)])
    return values


def quantile_points(values: np.ndarray, count: int) -> np.ndarray:
    """The distinct values at quantiles 1/count .. (count-1)/count of sorted `values`."""
    if values.size == 0:
        return values
    positions = np.ceil(np.arange(1, count) / count * values.size).astype(np.int64) - 1
    return np.unique(values[np.clip(positions, 0, values.size - 1)])


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    p = np.maximum(reference_counts / max(reference_counts.sum(), 1), EPSILON)
    q = np.maximum(current_counts / max(current_counts.sum(), 1), EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, between 0 and 1) of two count vectors (scipy's).

    An empty side has no distribution: against another empty side the distance is 0, against
    a non-empty one sqrt(1/2), the value of an all-zero vector in the formula."""
    from scipy.spatial.distance import jensenshannon  # scipy: about 1 s to import

    empty = (reference_counts.sum() == 0, current_counts.sum() == 0)
    if any(empty):
        return 0.0 if all(empty) else math.sqrt(0.5)
    return float(jensenshannon(reference_counts, current_counts, base=2))


def ks_statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """Largest distance between the two empirical CDFs, read at quantiles of both sides."""
    if reference.size == 0 or current.size == 0:
        return 0.0 if reference.size == current.size else 1.0
    grid = np.union1d(
        quantile_points(reference, GRID_POINTS), quantile_points(current, GRID_POINTS)
    )
    grid = np.union1d(grid, [reference[-1], current[-1]])
    f_reference = np.searchsorted(reference, grid, side="right") / reference.size
    f_current = np.searchsorted(current, grid, side="right") / current.size
    return float(np.max(np.abs(f_reference - f_current)))


def _bin_counts(values: np.ndarray, edges: np.ndarray, total: int) -> np.ndarray:
    """Counts per right-closed bin between `edges`, then the count of missing values."""
    below = np.searchsorted(values, edges, side="right")
    counts = np.diff(np.concatenate([[0], below, [values.size]]))
    return np.append(counts, total - values.size)


def numeric_drift(
    reference: pl.DataFrame, current: pl.DataFrame, columns: list[str], bins: int
) -> pl.DataFrame:
    """PSI and KS statistic of numeric columns.

    Args:
        reference: reference rows.
        current: current rows.
        columns: numeric columns present in both.
        bins: reference-quantile bins of the PSI (ties merge bins; missing values get one).

    Returns:
        One row per column and statistic (see STATISTICS_SCHEMA); `bins` is the number of
        bins holding rows on either side, what the PSI's noise level depends on.
    """
    ref_sorted = _sorted_values(reference, columns)
    cur_sorted = _sorted_values(current, columns)
    rows = []
    for column in columns:
        ref, cur = ref_sorted[column], cur_sorted[column]
        edges = quantile_points(ref, bins)
        ref_counts = _bin_counts(ref, edges, reference.height)
        cur_counts = _bin_counts(cur, edges, current.height)
        used = int(np.count_nonzero((ref_counts > 0) | (cur_counts > 0)))
        counts = (reference.height, current.height)
        rows.append((column, "numeric", "psi", psi(ref_counts, cur_counts), used, *counts))
        rows.append((column, "numeric", "ks", ks_statistic(ref, cur), None, ref.size, cur.size))
    return pl.DataFrame(rows, schema=STATISTICS_SCHEMA, orient="row")


def _category_counts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return (
        frame.select(pl.col(column).cast(pl.String).fill_null(MISSING).alias("category"))
        .group_by("category")
        .len("rows")
    )


def categorical_drift(
    reference: pl.DataFrame, current: pl.DataFrame, columns: list[str], max_categories: int
) -> pl.DataFrame:
    """PSI and Jensen-Shannon distance of categorical columns.

    The `max_categories` most frequent reference categories are kept; rarer ones and those
    the reference never had are pooled as OTHER, missing values are a category of their own.
    """
    rows = []
    for column in columns:
        ref = _category_counts(reference, column)
        kept = ref.sort(["rows", "category"], descending=[True, False]).head(max_categories)
        pooled = pl.col("category").is_in(kept["category"].implode()) | (
            pl.col("category") == MISSING
        )
        label = pl.when(pooled).then(pl.col("category")).otherwise(pl.lit(OTHER))
        joined = (
            ref.group_by(label.alias("category"))
            .agg(pl.col("rows").sum().alias("reference"))
            .join(
                _category_counts(current, column)
                .group_by(label.alias("category"))
                .agg(pl.col("rows").sum().alias("current")),
                on="category",
                how="full",
                coalesce=True,
            )
            .fill_null(0)
            .sort("category")
        )
        p = joined["reference"].to_numpy().astype(np.float64)
        q = joined["current"].to_numpy().astype(np.float64)
        used = int(np.count_nonzero((p > 0) | (q > 0)))
        counts = (reference.height, current.height)
        rows.append((column, "categorical", "psi", psi(p, q), used, *counts))
        rows.append((column, "categorical", "js", js_distance(p, q), used, *counts))
    return pl.DataFrame(rows, schema=STATISTICS_SCHEMA, orient="row")


def noise_levels(stats: pl.DataFrame, significance: float) -> np.ndarray:
    """What each statistic reaches by chance with probability `significance` for its counts.

    Two samples of n and m rows from one distribution give PSI * nm/(n+m) about chi-square
    with (bins - 1) degrees of freedom; the Jensen-Shannon divergence is about PSI / 8 (in
    nats); KS exceeds sqrt(-ln(a/2)/2) * sqrt(1/n + 1/m) with probability a.
    """
    from scipy.special import chdtri

    n = np.maximum(stats["reference_rows"].to_numpy().astype(np.float64), 1.0)
    m = np.maximum(stats["current_rows"].to_numpy().astype(np.float64), 1.0)
    scale = 1.0 / n + 1.0 / m
    bins = np.maximum(stats["bins"].fill_null(2).to_numpy().astype(np.float64), 2.0)
    psi_level = chdtri(bins - 1.0, significance) * scale
    ks_level = math.sqrt(-math.log(significance / 2) / 2) * np.sqrt(scale)
    js_level = np.sqrt(psi_level / (8 * math.log(2)))
    statistic = stats["statistic"].to_numpy()
    return np.select(
        [statistic == "psi", statistic == "ks", statistic == "js"],
        [psi_level, ks_level, js_level],
        np.nan,
    )


def judge(stats: pl.DataFrame, monitoring: MonitoringSpec) -> pl.DataFrame:
    """Add each statistic's effective warn and alert thresholds and its status.

    A threshold is the spec's, or the statistic's noise level when that is higher. Windows
    or references with fewer than `min_rows` rows, and undefined values, are 'insufficient'.
    """
    warn = {"psi": monitoring.psi_warn, "ks": monitoring.ks_warn, "js": monitoring.js_warn}
    alert = {"psi": monitoring.psi_alert, "ks": monitoring.ks_alert, "js": monitoring.js_alert}
    noise = noise_levels(stats, monitoring.significance) if stats.height else np.array([])
    statistic = pl.col("statistic")
    small = (pl.col("reference_rows") < monitoring.min_rows) | (
        pl.col("current_rows") < monitoring.min_rows
    )
    return (
        stats.with_columns(noise=pl.Series(noise, dtype=pl.Float64))
        .with_columns(
            warn_threshold=pl.max_horizontal(statistic.replace_strict(warn), "noise"),
            threshold=pl.max_horizontal(statistic.replace_strict(alert), "noise"),
        )
        .with_columns(
            status=pl.when(small | pl.col("value").is_nan() | pl.col("value").is_null())
            .then(pl.lit("insufficient"))
            .when(pl.col("value") >= pl.col("threshold"))
            .then(pl.lit("alert"))
            .when(pl.col("value") >= pl.col("warn_threshold"))
            .then(pl.lit("warn"))
            .otherwise(pl.lit("ok"))
        )
        .drop("noise")
    )


def compare(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    numeric: list[str],
    categorical: list[str],
    monitoring: MonitoringSpec,
    scores: tuple[pl.Series, pl.Series] | None = None,
) -> pl.DataFrame:
    """Every feature's statistics, and the champion's scores' (reference, current), judged."""
    frames = [
        numeric_drift(reference, current, numeric, monitoring.bins),
        categorical_drift(reference, current, categorical, monitoring.max_categories),
    ]
    if scores is not None:
        reference_scores, current_scores = (
            pl.DataFrame({PREDICTION: side.cast(pl.Float64)}) for side in scores
        )
        frames.append(
            numeric_drift(
                reference_scores, current_scores, [PREDICTION], monitoring.bins
            ).with_columns(kind=pl.lit("prediction"))
        )
    return judge(pl.concat(frames), monitoring)


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's verdict in one window (see `combine`)."""

    feature: str
    status: str
    values: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """e.g. 'minutes_7d (psi 0.32, ks 0.24)'."""
        numbers = ", ".join(f"{name} {value:.3g}" for name, value in sorted(self.values.items()))
        return f"{self.feature} ({numbers})"


@dataclass(frozen=True)
class WindowDrift:
    """The drift verdict of one window."""

    window_start: date
    window_end: date
    statistics: pl.DataFrame
    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    evaluated: int
    drifted_share: float
    dataset_drift: bool

    @property
    def drifted(self) -> list[FeatureDrift]:
        """Features at alert, most drifted (by PSI) first."""
        found = [f for f in self.features if f.status == "alert"]
        return sorted(found, key=lambda f: (-f.values.get("psi", 0.0), f.feature))

    @property
    def watched(self) -> list[FeatureDrift]:
        """Features at warn: moving, not (yet) drifted."""
        found = [f for f in self.features if f.status == "warn"]
        return sorted(found, key=lambda f: (-f.values.get("psi", 0.0), f.feature))

    @property
    def status(self) -> str:
        """'alert' on dataset or prediction drift, 'warn' when a feature drifted or the
        scores moved, 'insufficient' when nothing could be judged, else 'ok'."""
        prediction = self.prediction.status if self.prediction else "ok"
        if self.dataset_drift or prediction == "alert":
            return "alert"
        if self.drifted or prediction == "warn":
            return "warn"
        return "insufficient" if self.evaluated == 0 else "ok"


def combine(statuses: list[str]) -> str:
    """A feature's status from its statistics' statuses: the most serious one that the other
    statistic confirms at least one level below, e.g. (alert, warn) -> alert, (alert, ok) ->
    warn, (warn, ok) -> warn; 'insufficient' when any statistic could not be judged."""
    if not statuses or "insufficient" in statuses:
        return "insufficient"
    levels = [STATUSES.index(s) for s in statuses]
    return STATUSES[min(max(levels), min(levels) + 1)]


def feature_verdicts(statistics: pl.DataFrame) -> list[FeatureDrift]:
    """Each feature's status (see `combine`) and its statistics' values."""
    verdicts = []
    for (feature,), rows in statistics.group_by("feature", maintain_order=True):
        values = dict(zip(rows["statistic"].to_list(), rows["value"].to_list(), strict=True))
        verdicts.append(FeatureDrift(str(feature), combine(rows["status"].to_list()), values))
    return verdicts


def summarize(
    statistics: pl.DataFrame, window_start: date, window_end: date, monitoring: MonitoringSpec
) -> WindowDrift:
    """The window's verdict: per-feature statuses, the drifted share and dataset drift."""
    verdicts = feature_verdicts(statistics)
    features = [v for v in verdicts if v.feature != PREDICTION]
    prediction = next((v for v in verdicts if v.feature == PREDICTION), None)
    evaluated = [f for f in features if f.status != "insufficient"]
    drifted = [f for f in evaluated if f.status == "alert"]
    share = len(drifted) / len(evaluated) if evaluated else 0.0
    return WindowDrift(
        window_start=window_start,
        window_end=window_end,
        statistics=statistics,
        features=features,
        prediction=prediction,
        evaluated=len(evaluated),
        drifted_share=share,
        dataset_drift=bool(evaluated) and share >= monitoring.drift_share,
    )
