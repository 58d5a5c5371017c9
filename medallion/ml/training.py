"""Training, pure: a time-based split, an estimator from the spec, one scikit-learn Pipeline.

The split holds out the last labelled days of the snapshot, so evaluation mimics scoring the
future. Rows whose label is not yet observed (NULL) are neither trained nor evaluated on.
Categorical features are one-hot encoded inside the Pipeline, so the logged model takes the
raw feature columns of the gold table. Everything is seeded: the same snapshot and seed give
the same model and the same predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from medallion.spec import ESTIMATORS, ModelSpec, VariantSpec


@dataclass(frozen=True)
class Estimator:
    """What medallion knows of one estimator of the spec's allow-list."""

    cls: type
    scaled: bool = False
    """Numeric inputs imputed and standardized (trees need neither)."""
    trusted: tuple[str, ...] = ()
    """Types skops must be told to trust to load its Pipeline (checked by a test, so a
    scikit-learn upgrade that needs more fails there, not at load time)."""


_TREES = ("sklearn.tree._tree.Tree",)
_HISTOGRAMS = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)
ESTIMATOR_TABLE = {
    "logistic_regression": Estimator(LogisticRegression, scaled=True),
    "random_forest": Estimator(RandomForestClassifier, trusted=_TREES),
    "hist_gradient_boosting": Estimator(HistGradientBoostingClassifier, trusted=_HISTOGRAMS),
    "ridge": Estimator(Ridge, scaled=True),
    "random_forest_regressor": Estimator(RandomForestRegressor, trusted=_TREES),
    "hist_gradient_boosting_regressor": Estimator(
        HistGradientBoostingRegressor, trusted=_HISTOGRAMS
    ),
}
"""The scikit-learn side of the names spec.ESTIMATORS declares (the same keys: checked below)."""
if set(ESTIMATOR_TABLE) != set(ESTIMATORS):
    raise ImportError(f"spec.ESTIMATORS {ESTIMATORS} and ESTIMATOR_TABLE differ")


def trusted_types(estimator: str) -> list[str]:
    """Everything skops must trust to load a Pipeline of `estimator`."""
    return ["numpy.dtype", *ESTIMATOR_TABLE[estimator].trusted, f"{__name__}.FrameToArray"]


@dataclass(frozen=True)
class Split:
    """Training and holdout rows of one snapshot, and how they were chosen."""

    train: pl.DataFrame
    holdout: pl.DataFrame
    train_end: date
    holdout_start: date
    holdout_end: date
    unlabelled_rows: int
    train_rows_available: int
    holdout_rows_available: int

    @property
    def sampled(self) -> bool:
        """True when a side was larger than its cap in the spec and was sampled down."""
        return (
            self.train.height < self.train_rows_available
            or self.holdout.height < self.holdout_rows_available
        )


def _bounded(rows: pl.LazyFrame, cap: int, seed: int) -> pl.LazyFrame:
    """At most `cap` rows: a seeded sample without replacement that keeps the row order."""
    return rows.filter(pl.int_range(pl.len()).shuffle(seed=seed) < cap)


def time_split(frame: pl.DataFrame | pl.LazyFrame, model: ModelSpec) -> Split:
    """Hold out the last `holdout_days` labelled days; train on the days before the gap.

    Args:
        frame: snapshot rows in their stored (total) order, e.g. `pl.scan_parquet(path)`.
        model: the model spec: target, time column, holdout and gap days, row caps, seed.

    Returns:
        The split; each side sampled down (seeded) to its cap when larger.

    Raises:
        ValueError: when there are no labelled rows, or no labelled rows before the holdout.
    """
    rows = frame.lazy()
    day = pl.col(model.time_column).cast(pl.Date)
    labelled = pl.col(model.target).is_not_null()
    total, labelled_rows, last = (
        rows.select(pl.len(), labelled.sum(), day.filter(labelled).max()).collect().row(0)
    )
    if not labelled_rows:
        raise ValueError(f"no labelled rows: {model.target} is NULL in all {total} rows")
    holdout_start = last - timedelta(days=model.holdout_days - 1)
    train_end = holdout_start - timedelta(days=model.gap_days + 1)
    train = rows.filter(labelled & (day <= train_end))
    holdout = rows.filter(labelled & (day >= holdout_start))
    train_available, holdout_available = (
        pl.concat([train.select(pl.len()), holdout.select(pl.len())]).collect().to_series()
    )
    if not train_available:
        raise ValueError(
            f"no labelled rows on or before {train_end} to train on: the labelled days end on "
            f"{last}, holdout_days={model.holdout_days} and gap_days={model.gap_days} leave none"
        )
    return Split(
        train=_bounded(train, model.max_train_rows, model.seed).collect(),
        holdout=_bounded(holdout, model.max_holdout_rows, model.seed).collect(),
        train_end=train_end,
        holdout_start=holdout_start,
        holdout_end=last,
        unlabelled_rows=total - labelled_rows,
        train_rows_available=train_available,
        holdout_rows_available=holdout_available,
    )


@dataclass(frozen=True)
class Validation:
    """The training rows split into those a classifier learns from and the validation days
    on which its decision threshold is chosen (none for regression, or too few days)."""

    fit: pl.DataFrame
    validation: pl.DataFrame
    start: date | None
    end: date | None


def carve_validation(train: pl.DataFrame, model: ModelSpec) -> Validation:
    """The last `validation_days` days of the training window as validation, `gap_days` before
    them dropped (labels of those days look into the validation days); all rows are fit rows
    for regression or when nothing would be left to learn from."""
    day = pl.col(model.time_column).cast(pl.Date)
    if model.is_regression or train.is_empty():
        return Validation(train, train.clear(), None, None)
    last = train.select(day.max()).item()
    start = last - timedelta(days=model.validation_days - 1)
    fit_end = start - timedelta(days=model.gap_days + 1)
    fit = train.filter(day <= fit_end)
    if fit.is_empty():
        return Validation(train, train.clear(), None, None)
    return Validation(fit, train.filter(day >= start), start, last)


def feature_kinds(frame: pl.DataFrame, model: ModelSpec) -> tuple[list[str], list[str]]:
    """Split the features into numeric and categorical by their type in the snapshot.

    Raises:
        ValueError: for a feature of another type (dates, lists, ...), naming it.
    """
    numeric, categorical = [], []
    for name in model.features:
        dtype = frame.schema[name]
        if dtype.is_numeric() or dtype == pl.Boolean:
            numeric.append(name)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            categorical.append(name)
        else:
            raise ValueError(
                f"feature {name!r} has type {dtype}; use numeric, boolean or text features "
                "(derive numbers from dates in the gold SQL)"
            )
    return numeric, categorical


def to_features(frame: pl.DataFrame, features: list[str], categorical: list[str]) -> pd.DataFrame:
    """The model input in the spec's feature order: categorical columns as text, the others as
    float64 (NULL as NaN)."""
    text = set(categorical)
    return pd.DataFrame(
        {
            name: frame[name].cast(pl.String if name in text else pl.Float64).to_numpy()
            for name in features
        }
    )


def to_target(frame: pl.DataFrame, model: ModelSpec) -> np.ndarray:
    """The target: 0/1 integers for classification, float64 for regression.

    Raises:
        ValueError: naming the target and the offending values: a label other than 0/1, or a
            regression target that is not a finite number.
    """
    if model.is_regression:
        column = frame[model.target]
        if not (column.dtype.is_numeric() or column.dtype == pl.Boolean):
            raise ValueError(
                f"target {model.target!r} of a regression model must be numeric, got {column.dtype}"
            )
        values = column.cast(pl.Float64).to_numpy()
        bad = values[~np.isfinite(values)]
        if bad.size:
            raise ValueError(
                f"target {model.target!r} must be a finite number, found {bad.size} row(s) "
                f"of {sorted(set(bad.tolist()), key=str)[:5]}"
            )
        return values
    values = frame[model.target].cast(pl.Int64).to_numpy()
    unexpected = sorted(set(np.unique(values).tolist()) - {0, 1})
    if unexpected:
        raise ValueError(f"target {model.target!r} must be 0/1, found {unexpected[:5]}")
    return values


def make_estimator(variant: VariantSpec, seed: int):
    """The scikit-learn estimator of a variant, seeded unless its params set random_state.

    Raises:
        ValueError: for a parameter the estimator does not have, listing the valid ones.
    """
    cls = ESTIMATOR_TABLE[variant.estimator].cls
    valid = cls().get_params()
    unknown = sorted(set(variant.params) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for {variant.estimator}; valid: {sorted(valid)}"
        )
    params = dict(variant.params)
    if "random_state" in valid:
        params.setdefault("random_state", seed)
    return cls(**params)


BATCH_FROM_ROWS = 64
"""From this many rows, categories are coded vectorized (pandas) rather than value by value."""
MISSING = "\x00missing"
"""Stands for a missing category, so that missing stays a category of its own."""


class FrameToArray(BaseEstimator, TransformerMixin):
    """The feature columns of a DataFrame as one float array: numbers as they are (NaN for
    missing), each category as its code among the categories seen in training (-1: unseen).

    The first step of every Pipeline. scikit-learn validates a pandas frame column by column
    in every step, which cost more than half of a single-row prediction; one float array
    built here halves it, for one row and for a batch. The model still takes the raw feature
    columns by name; the one-hot encoding after it ignores code -1 like an unknown category.
    """

    def __init__(self, numeric: list[str] | None = None, categorical: list[str] | None = None):
        self.numeric = numeric
        self.categorical = categorical

    @staticmethod
    def _label(value: object) -> str:
        if isinstance(value, str):
            return value
        return MISSING if pd.isna(value) else str(value)

    def fit(self, frame: pd.DataFrame, y=None):
        numeric, categorical = list(self.numeric or []), list(self.categorical or [])
        self.feature_names_in_ = np.asarray([*numeric, *categorical], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.categories_ = {
            name: sorted({self._label(v) for v in frame[name].tolist()}) for name in categorical
        }
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        numeric, categorical = list(self.numeric or []), list(self.categorical or [])
        out = np.empty((len(frame), len(numeric) + len(categorical)), dtype=np.float64)
        for index, name in enumerate(numeric):
            out[:, index] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        for index, name in enumerate(categorical, start=len(numeric)):
            out[:, index] = self._codes(frame[name], self.categories_[name])
        return out

    def _codes(self, column: pd.Series, categories: list[str]) -> np.ndarray | list[int]:
        """Codes of one column: per value for a few rows, vectorized for a batch."""
        codes = {label: code for code, label in enumerate(categories)}
        if len(column) <= BATCH_FROM_ROWS:
            return [codes.get(self._label(v), -1) for v in column.tolist()]
        values = np.array(column.map(codes).to_numpy(dtype=np.float64, na_value=np.nan))
        values[np.isnan(values)] = -1
        values[column.isna().to_numpy()] = codes.get(MISSING, -1)
        return values

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return self.feature_names_in_


def build_pipeline(
    variant: VariantSpec, numeric: list[str], categorical: list[str], seed: int
) -> Pipeline:
    """One-hot of categories and the estimator; linear models also get imputed, scaled numbers.

    Tree ensembles take numbers as they are (they handle NaN themselves): every transformer
    step costs about a millisecond per single-row prediction. Unknown categories at scoring
    time are ignored (all zeros); a missing category is a category of its own. The frame is
    turned into one array first (FrameToArray), and the column steps select by position.
    """
    columns = [*numeric, *categorical]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    numbers: object = "passthrough"
    if ESTIMATOR_TABLE[variant.estimator].scaled:
        numbers = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
    positions = list(range(len(columns)))
    features = ColumnTransformer(
        [
            ("numeric", numbers, positions[: len(numeric)]),
            ("categorical", encoder, positions[len(numeric) :]),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [
            ("frame", FrameToArray(numeric, categorical)),
            ("features", features),
            ("model", make_estimator(variant, seed)),
        ]
    )


def predict_scores(model, features: pd.DataFrame) -> np.ndarray:
    """A classifier's probability of the positive class, a regressor's predicted value; float64.

    These outputs are what every metric, gate and drift statistic works on.
    """
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)
    return np.asarray(model.predict(features), dtype=np.float64)
