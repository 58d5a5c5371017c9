"""The data product spec: one YAML file declares a product, validated here at load time.

A product is declared, not coded. Everything the zones, checks and models need comes
from this model, so a malformed spec fails before any data is touched, with a message
naming the file, the field and the problem.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

ZONES = ("bronze", "silver", "gold")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
OWNER_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")
"""Dagster's own test of an owner email (dagster._core.utils.is_valid_email)."""
OWNER_TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]*")
REF = re.compile(r"\{\{\s*(bronze|silver|gold)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SUPPORTED_TYPE = re.compile(
    r"^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT"
    r"|FLOAT|REAL|DOUBLE|DECIMAL\(\s*\d{1,2}\s*,\s*\d{1,2}\s*\)|VARCHAR|DATE|TIME|TIMESTAMP"
    r"|TIMESTAMPTZ|UUID)$"
)
LINEAGE_COLUMNS = ("_batch_id", "_source_file", "_ingested_at", "_row_number")
Severity = Literal["warn", "quarantine", "fail"]


class SpecError(ValueError):
    """A product spec that cannot be loaded; the message names file, field and problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_identifier(name: str, what: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(
            f"{what} {name!r} must be lower case letters, digits and underscores, "
            "starting with a letter"
        )
    return name


class ColumnSpec(_Strict):
    """One delivered column: its type in silver, whether it must be present, and its privacy."""

    type: str = "VARCHAR"
    required: bool = False
    pii: bool = False
    sensitive: bool = False
    clean: str | None = Field(
        default=None, description="SQL expression over the typed column, applied in silver."
    )
    description: str | None = None
    allowed: list[str | int | float | bool] | None = Field(
        default=None, description="The only values a row may have in this column."
    )
    min: int | float | str | None = Field(
        default=None, description="Smallest allowed value (a number, or an ISO date/time)."
    )
    max: int | float | str | None = Field(
        default=None, description="Largest allowed value (a number, or an ISO date/time)."
    )
    pattern: str | None = Field(
        default=None, description="Regular expression the raw value must match in full."
    )
    not_future: bool = Field(
        default=False, description="Dates/times may not lie after the file was delivered."
    )
    references: str | None = Field(
        default=None, description="'entity.column' this column must point to (referential check)."
    )
    severity: Severity = Field(
        default="quarantine", description="What breaking allowed/min/max/pattern/not_future does."
    )
    formats: list[str] | None = Field(
        default=None,
        description="strptime formats a DATE/TIMESTAMP text may have; default ISO 8601 only.",
    )
    lossy: Severity = Field(
        default="quarantine",
        description="What a value that converts only with a loss (rounding) does.",
    )

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"invalid regular expression {value!r}: {error}") from None
        return value

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any("%" not in f for f in value)):
            raise ValueError(f"formats must be strptime formats such as '%Y/%m/%d', got {value}")
        return value

    @field_validator("references")
    @classmethod
    def _reference_form(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", value):
            raise ValueError(f"references must be 'entity.column', got {value!r}")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        normalized = value.strip().upper()
        if not SUPPORTED_TYPE.match(normalized):
            raise ValueError(
                f"unsupported type {value!r}; use one of BOOLEAN, INTEGER, BIGINT, DOUBLE, "
                "DECIMAL(p,s), VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ, UUID"
            )
        return normalized


class RowRule(_Strict):
    """A rule every silver row must satisfy, as a SQL condition over its typed columns."""

    name: str
    check: str = Field(description="SQL boolean; a row breaks the rule when it is FALSE.")
    severity: Severity = "quarantine"
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_identifier(value, "rule name")


class Completeness(_Strict):
    """How complete a zone's records must be."""

    min_complete_share: float = Field(
        default=0.95, ge=0, le=1, description="Share of rows with every listed column present."
    )
    columns: list[str] | None = Field(
        default=None, description="Columns a complete record has; default every declared column."
    )


class RevisionTolerance(_Strict):
    """How far row and key counts may move from the previous revision of the same table."""

    max_row_drop: float = Field(default=0.10, ge=0, le=1)
    max_key_drop: float = Field(default=0.10, ge=0, le=1)
    max_row_growth: float | None = Field(
        default=None, ge=0, description="Largest relative growth; none by default."
    )


class SourceSpec(_Strict):
    """A delivered source: landing files of one format, ingested into bronze, conformed in silver."""

    description: str | None = None
    format: Literal["csv", "parquet", "json"]
    key: list[str] = Field(min_length=1)
    version_column: str | None = Field(
        default=None, description="Column ordering row versions of one key; latest wins."
    )
    time_column: str | None = Field(
        default=None,
        description="Column (delivered or derived) that places a row in time; incremental gold "
        "recomputes the days the changed rows fall on. None: any change rebuilds such gold.",
    )
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    derive: dict[str, str] = Field(
        default_factory=dict,
        description="New silver columns as SQL over typed raw values, before pseudonymization.",
    )
    rules: list[RowRule] = Field(default_factory=list)
    completeness: Completeness = Field(default_factory=Completeness)
    tolerance: RevisionTolerance = Field(default_factory=RevisionTolerance)
    schema_drift: Literal["accept", "rescue", "fail"] = Field(
        default="rescue",
        description="Extra columns: accept (record only), rescue (keep as JSON), fail (refuse file).",
    )
    max_quarantine_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of quarantined rows above which a WARN is raised.",
    )
    timezone: str = Field(
        default="UTC", description="Time zone of delivered timestamps that carry no offset."
    )
    quiet_seconds: float = Field(
        default=5.0,
        ge=0,
        description="A file is taken once its size and modification time stayed unchanged this "
        "long (or at once with a <file>.done marker); 0 for writers that write then rename.",
    )
    max_record_lines: int = Field(
        default=50,
        ge=1,
        description="Most physical lines one CSV record (a quoted value with line breaks) spans.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'Europe/Amsterdam'"
            ) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        for name in self.columns:
            _check_identifier(name, "column")
        for name in self.derive:
            _check_identifier(name, "derived column")
            if name in self.columns:
                raise ValueError(f"derived column {name!r} is also a delivered column")
        self._check_keys()
        self._check_time_and_version()
        completeness = self.completeness.columns or []
        unknown = [c for c in completeness if c not in self.columns and c not in self.derive]
        if unknown:
            raise ValueError(f"completeness.columns {unknown} are not declared columns")
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError(f"rule names must be unique, got {names}")
        return self

    def _check_keys(self) -> None:
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key column(s) {missing} are not declared in columns")
        pii_keys = [k for k in self.key if self.columns[k].pii]
        if pii_keys:
            raise ValueError(f"key column(s) {pii_keys} cannot be PII; key on a surrogate id")

    def _check_time_and_version(self) -> None:
        if self.version_column and self.version_column not in self.columns:
            raise ValueError(f"version_column {self.version_column!r} is not declared in columns")
        if self.version_column and self.columns[self.version_column].pii:
            raise ValueError(
                f"version_column {self.version_column!r} cannot be PII: silver merges by it"
            )
        if self.time_column and self.time_column not in {*self.columns, *self.derive}:
            raise ValueError(
                f"time_column {self.time_column!r} is not a declared or derived column"
            )
        if self.time_column in self.columns and self.columns[self.time_column].pii:
            raise ValueError(f"time_column {self.time_column!r} cannot be PII")

    @property
    def pii_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.pii]

    @property
    def required_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.required]


class VersionComparison(_Strict):
    """How far a new version of a gold product may move from the version it replaces."""

    max_lost_key_share: float = Field(
        default=0.0, ge=0, le=1, description="Share of the base version's keys it may lose."
    )
    max_row_change: float | None = Field(
        default=None, ge=0, description="Largest relative change of the row count; none by default."
    )


class IncrementalSpec(_Strict):
    """How a gold product is kept up to date by recomputing a time window, not everything.

    A run recomputes the rows whose `time_column` lies from `lookback_days` before the
    earliest day its inputs changed (or before the newest day already in the table, whichever
    is earlier) to the newest day, and replaces exactly those rows. SQL reads the bounds as
    {{ window_start }}, {{ window_end }} (exclusive) and {{ history_start }} (window_start
    less `history_days`, the input history one row needs). With a `key_column`, a change of
    an input without a time column recomputes the rows of the entities it touched, on every
    day ({{ changed_keys }}), rather than everything.
    """

    time_column: str = Field(description="DATE column of the gold table that windows follow.")
    lookback_days: int = Field(
        default=0,
        ge=0,
        description="How many days before a changed day its change can alter rows (e.g. a "
        "label horizon), and how long the newest days stay provisional.",
    )
    history_days: int = Field(
        default=0, ge=0, description="Days of input before the window that one row reads."
    )
    key_column: str | None = Field(
        default=None,
        description="Grain column naming the entity a row describes (e.g. customer_id). An "
        "input without a time_column that has this column (e.g. customers, subscriptions) "
        "then recomputes the rows of the entities it changed, on every day, instead of the "
        "whole table. SQL reads those entities as {{ changed_keys }}, a table of one VARCHAR "
        "column `key`.",
    )


class GoldSpec(_Strict):
    """A consumer-ready product built by SQL over DuckDB or by a named Polars function."""

    description: str | None = None
    grain: list[str] = Field(min_length=1)
    sql: str | None = None
    sql_file: str | None = None
    polars: str | None = Field(
        default=None,
        description="'package.module:function', or 'file.py:function' beside the YAML file.",
    )
    inputs: list[str] = Field(
        default_factory=list, description="Tables a Polars function reads, as 'zone.name'."
    )
    key: str | None = Field(
        default=None, description="Column whose distinct count is tracked; default grain[0]."
    )
    tolerance: RevisionTolerance = Field(default_factory=RevisionTolerance)
    version_of: str | None = Field(
        default=None,
        description="Another gold product this one is a new version of; they run side by side "
        "and a comparison check reports how they differ.",
    )
    comparison: VersionComparison = Field(default_factory=lambda: VersionComparison())
    retired: bool = Field(
        default=False,
        description="No longer built; its table is kept until `medallion retired --drop`.",
    )
    incremental: IncrementalSpec | None = Field(
        default=None,
        description="Recompute only the affected time window; without it, every run rebuilds.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Descriptions of output columns, shown by the service and the published "
        "manifest (columns named like a source column inherit its description).",
    )

    @model_validator(mode="after")
    def _one_transform(self) -> GoldSpec:
        given = [f for f in ("sql", "sql_file", "polars") if getattr(self, f)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of sql, sql_file or polars (got {given or 'none'})")
        if self.polars and not re.match(r"^[\w.]+:\w+$", self.polars):
            raise ValueError(
                f"polars must be 'package.module:function' or 'file.py:function', "
                f"got {self.polars!r}"
            )
        if self.polars and not self.inputs:
            raise ValueError("a polars transform needs its inputs, e.g. [silver.payments]")
        if not self.polars and self.inputs:
            raise ValueError("inputs are only for polars transforms; SQL declares them as refs")
        for ref in self.inputs:
            if not re.match(r"^(bronze|silver|gold)\.[a-z][a-z0-9_]*$", ref):
                raise ValueError(f"input {ref!r} must be 'zone.name', e.g. 'silver.payments'")
        key = self.incremental.key_column if self.incremental else None
        if key and key not in self.grain:
            raise ValueError(f"incremental.key_column {key!r} must be a grain column {self.grain}")
        if key and self.polars:
            raise ValueError(
                "incremental.key_column needs SQL, which reads the changed entities as "
                "{{ changed_keys }}; a polars transform recomputes by time window only"
            )
        return self


TASK_ESTIMATORS = {
    "classification": ("logistic_regression", "random_forest", "hist_gradient_boosting"),
    "regression": ("ridge", "random_forest_regressor", "hist_gradient_boosting_regressor"),
}
ESTIMATORS = tuple(name for names in TASK_ESTIMATORS.values() for name in names)
RESERVED_ML_NAMES = ("snapshot", "baseline", "champion")
CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2", "median_ae")
TASK_METRICS = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}
DEFAULT_PRIMARY_METRIC = {"classification": "roc_auc", "regression": "rmse"}
TASK_DEFAULTS = {
    "primary_metric": DEFAULT_PRIMARY_METRIC,
    "threshold_rule": {"classification": "max_f1"},
    "decision_threshold": {"classification": 0.5},
}
"""What ModelSpec fills in, per task, for a field left unset."""
ERROR_METRICS = ("rmse", "mae", "median_ae")
"""Regression metrics in the target's units: their drops have no default that fits every
target, so monitoring must state them."""
Task = Literal["classification", "regression"]
ThresholdRule = Literal["max_f1", "positive_rate", "fixed"]
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "median_ae"})


def greater_is_better(metric: str) -> bool:
    """The direction of a holdout metric: True for roc_auc or r2, False for errors."""
    return metric not in LOWER_IS_BETTER


class VariantSpec(_Strict):
    """One model variant: an estimator from the allow-list and its hyper-parameters."""

    estimator: Literal[ESTIMATORS]  # type: ignore[valid-type]  # the names, from TASK_ESTIMATORS
    params: dict[str, int | float | str | bool | None] = Field(
        default_factory=dict, description="Hyper-parameters passed to the scikit-learn estimator."
    )
    description: str | None = None

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict) -> dict:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"parameter {name!r} is not a Python identifier")
        return value


class GatesSpec(_Strict):
    """Thresholds a variant must meet to be promoted to champion.

    The bias bounds depend on the task: classification bounds differences of rates (shares),
    regression bounds the gap between groups' errors, in the target's units or as a ratio.
    A bound of the other task is refused when the model is validated.
    """

    accuracy_tolerance: float = Field(
        default=0.0,
        ge=0,
        description="How far the primary metric may fall below the current champion's.",
    )
    bias_max_difference: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Classification: largest demographic parity and equalized odds difference "
        "allowed (0.1 when not set).",
    )
    bias_max_mae_difference: float | None = Field(
        default=None,
        ge=0,
        description="Regression: largest gap between the groups' mean absolute errors, in the "
        "target's units (not bounded when not set).",
    )
    bias_max_mean_error_difference: float | None = Field(
        default=None,
        ge=0,
        description="Regression: largest gap between the groups' mean signed errors (systematic "
        "over- or under-prediction of one group), in the target's units.",
    )
    bias_max_mae_ratio: float | None = Field(
        default=None,
        ge=1,
        description="Regression: largest ratio of the worst group's mean absolute error to the "
        "best group's (1.25 when no regression bound is set).",
    )
    bias_min_group_size: int = Field(
        default=30,
        ge=1,
        description="Groups smaller than this on the holdout are reported but not compared.",
    )
    min_recall: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Classification: smallest recall on the holdout at the model's decision "
        "threshold (0.2 when not set); a model selecting almost nobody fails the bias gate "
        "instead of passing it vacuously.",
    )
    min_lift: float | None = Field(
        default=None,
        ge=0,
        description="Classification: smallest lift at the decision threshold, precision over "
        "the holdout's positive rate (1.5 when not set): how many times better than selecting "
        "at random, the prior baseline.",
    )
    latency_p95_ms: float = Field(
        default=25.0,
        gt=0,
        description="Budget for the p95 CPU time of single-row scoring through the logged "
        "model (pyfunc, as served), milliseconds; wall percentiles are reported beside it. "
        "CPU time per call still grows 1.5-2x on a loaded 2-core machine (shared caches), "
        "so the budget leaves that room.",
    )
    latency_samples: int = Field(
        default=300, ge=20, description="Single-row predictions timed for the percentiles."
    )
    latency_rounds: int = Field(
        default=3,
        ge=1,
        description="Timing rounds at most; the best counts, since other processes only add "
        "time. Timing stops at the first round within budget.",
    )
    batch_rows: int = Field(default=100_000, ge=1, description="Rows of the timed batch.")
    batch_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Budget for the CPU time of scoring the batch, seconds (the shipped "
        "boosted trees take about 1 CPU s for 100,000 rows on a loaded 2-core machine).",
    )

    def for_task(self, task: str) -> GatesSpec:
        """These gates with the task's bias defaults filled in.

        Raises:
            ValueError: when a bias bound of the other task is set.
        """
        if task == "classification":
            wrong = [name for name in REGRESSION_BIAS_BOUNDS if getattr(self, name) is not None]
            if wrong:
                raise ValueError(
                    f"{wrong[0]} bounds the errors of a regression model; a "
                    "classification model is bounded by bias_max_difference (a "
                    "difference of rates)"
                )
            defaults = {"bias_max_difference": 0.1, "min_recall": 0.2, "min_lift": 1.5}
            unset = {k: v for k, v in defaults.items() if getattr(self, k) is None}
            return self.model_copy(update=unset) if unset else self
        usefulness = [
            name for name in ("min_recall", "min_lift") if getattr(self, name) is not None
        ]
        if usefulness:
            raise ValueError(
                f"{usefulness[0]} bounds a classifier's decisions at its threshold; a "
                "regression model has no threshold"
            )
        if self.bias_max_difference is not None:
            raise ValueError(
                "bias_max_difference bounds rates of a classifier; a regression model is "
                f"bounded by {', '.join(REGRESSION_BIAS_BOUNDS)}"
            )
        if all(getattr(self, name) is None for name in REGRESSION_BIAS_BOUNDS):
            return self.model_copy(update={"bias_max_mae_ratio": 1.25})
        return self


REGRESSION_BIAS_BOUNDS = (
    "bias_max_mae_difference",
    "bias_max_mean_error_difference",
    "bias_max_mae_ratio",
)


class ModelSpec(_Strict):
    """What the model learns from the gold feature table, its variants and its gates."""

    table: str = Field(description="The gold table (or gold version) the model learns from.")
    target: str
    entity_key: str
    time_column: str
    features: list[str] = Field(min_length=1)
    sensitive: list[str] = Field(default_factory=list)
    task: Task = "classification"
    primary_metric: str | None = Field(
        validate_default=True,
        default=None,
        description="Metric that ranks variants and gates accuracy (roc_auc for "
        "classification, rmse for regression when not set).",
    )
    holdout_days: int = Field(
        default=21, ge=1, description="The last labelled days of time_column held out."
    )
    gap_days: int = Field(
        default=0, ge=0, description="Days dropped between training and holdout (label horizon)."
    )
    seed: int = 42
    threshold_rule: ThresholdRule | None = Field(
        validate_default=True,
        default=None,
        description="Classification: how the decision threshold is chosen on the validation "
        "days: max_f1 (the threshold maximising F1), positive_rate (as many rows selected as "
        "the training days' positive rate) or fixed (decision_threshold); max_f1 when not set.",
    )
    validation_days: int = Field(
        default=14,
        ge=1,
        description="Classification: the last labelled days of the training window on which "
        "the decision threshold is chosen (never the holdout); the model learns from the days "
        "before them.",
    )
    decision_threshold: float | None = Field(
        validate_default=True,
        default=None,
        gt=0,
        lt=1,
        description="Classification: score from which a row is predicted positive with "
        "threshold_rule fixed, and the fallback when the validation days hold one class only "
        "(0.5 when not set).",
    )
    intended_use: str | None = Field(
        default=None,
        description="Who uses the model's scores, for what, and what it must not be used for; "
        "shown on every model card.",
    )
    bootstrap_resamples: int = Field(
        default=200,
        ge=0,
        description="Bootstrap resamples of the holdout behind the 95% confidence interval of "
        "every holdout metric (seeded; 0: no intervals).",
    )
    max_train_rows: int = Field(
        default=250_000, ge=100, description="Training rows beyond this are sampled down."
    )
    max_holdout_rows: int = Field(
        default=250_000, ge=100, description="Holdout rows beyond this are sampled down."
    )
    threads: int = Field(
        default=1,
        ge=1,
        description="BLAS/OpenMP threads per training or scoring process: variants already "
        "train in parallel processes, and one thread scores single rows fastest.",
    )
    variants: dict[str, VariantSpec] = Field(default_factory=dict)
    gates: GatesSpec = Field(default_factory=GatesSpec, validate_default=True)

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def metrics(self) -> tuple[str, ...]:
        """The holdout metrics of this task, logged for every variant and baseline."""
        return TASK_METRICS[self.task]

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        _check_identifier(self.table, "table")
        for name, variant in self.variants.items():
            _check_identifier(name, "variant")
            if name in RESERVED_ML_NAMES:
                raise ValueError(f"variant name {name!r} is reserved for the ML zone's own assets")
            if variant.estimator not in TASK_ESTIMATORS[self.task]:
                raise ValueError(
                    f"variants.{name}.estimator: {variant.estimator!r} is not a {self.task} "
                    f"estimator; use one of {', '.join(TASK_ESTIMATORS[self.task])}"
                )
        primary = self.primary_metric
        if primary not in self.metrics:
            raise ValueError(
                f"primary_metric {primary!r} is not a {self.task} metric; "
                f"use one of {', '.join(self.metrics)}"
            )
        if self.is_regression and (
            self.decision_threshold is not None or self.threshold_rule is not None
        ):
            raise ValueError("decision_threshold and threshold_rule apply to classification only")
        reserved = {self.target, self.entity_key, self.time_column} & set(self.features)
        if reserved:
            raise ValueError(f"features cannot include target, key or time column: {reserved}")
        if len(set(self.features)) != len(self.features):
            raise ValueError("features are listed more than once")
        return self

    @field_validator("primary_metric", "threshold_rule", "decision_threshold", "gates")
    @classmethod
    def _task_default(cls, value: Any, info: ValidationInfo) -> Any:
        """The task's default for a field left unset (validated defaults: `task` comes first
        and is already in `info.data`), so the frozen model is complete when built."""
        task = info.data.get("task")
        if task is None:
            return value
        if info.field_name == "gates":
            return value.for_task(task)
        if value is not None or (task == "regression" and info.field_name != "primary_metric"):
            return value
        return TASK_DEFAULTS[info.field_name][task]


PERFORMANCE_DROP_DEFAULTS = {"performance_warn_drop": 0.02, "performance_alert_drop": 0.05}


class MonitoringSpec(_Strict):
    """Drift and performance monitoring of the champion model: windows, thresholds, actions.

    Reference: the last `reference_days` of the snapshot the champion was trained on. Current:
    a trailing window of `window_days` of the gold table. A feature drifts when its PSI or its
    distance (KS for numbers, Jensen-Shannon for categories) reaches its alert threshold and
    the other at least its warn threshold, and each threshold is raised to what chance alone reaches for the window's row counts at
    `significance`, so that small windows do not look drifted; large windows are judged by
    the effect size alone, never by a p-value.
    """

    window_days: int = Field(default=1, ge=1, description="Days of gold per current window.")
    reference_days: int = Field(
        default=28,
        ge=1,
        description="The last days of the champion's training snapshot used as the reference.",
    )
    seasonal_period_days: int | None = Field(
        default=7,
        ge=2,
        description="Compare like with like: when the window is not whole periods, only "
        "reference days in the same phase (weekday for 7) are used. None: no season.",
    )
    max_catch_up_windows: int | None = Field(
        default=None,
        ge=1,
        description="Windows evaluated per run at most when days were missed: the oldest "
        "ones, and the next run continues after them (no day is skipped). None: every "
        "missed day in one run.",
    )
    bins: int = Field(default=10, ge=2, description="Reference-quantile bins of the PSI.")
    psi_warn: float = Field(default=0.1, gt=0)
    psi_alert: float = Field(default=0.25, gt=0)
    ks_warn: float = Field(default=0.1, gt=0, le=1, description="Kolmogorov-Smirnov statistic.")
    ks_alert: float = Field(default=0.2, gt=0, le=1)
    js_warn: float = Field(
        default=0.1, gt=0, le=1, description="Jensen-Shannon distance (base 2) of categories."
    )
    js_alert: float = Field(default=0.2, gt=0, le=1)
    significance: float = Field(
        default=0.001,
        gt=0,
        lt=1,
        description="Noise guard: a statistic counts only above the level chance reaches with "
        "this probability for the window's row counts.",
    )
    min_rows: int = Field(
        default=100, ge=1, description="Windows (or references) with fewer rows are not judged."
    )
    max_categories: int = Field(
        default=50, ge=2, description="Most frequent reference categories kept; others pooled."
    )
    drift_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Dataset drift when at least this share of the features drifted (alert).",
    )
    prediction_drift: bool = Field(
        default=True, description="Also compare the champion's scores (loaded from MLflow)."
    )
    max_scored_rows: int = Field(
        default=200_000, ge=1000, description="Rows scored per side beyond which a sample is used."
    )
    performance_window_days: int = Field(
        default=14, ge=1, description="Labelled days per performance window (trailing)."
    )
    performance_warn_drop: float | None = Field(
        validate_default=True,
        default=None,
        ge=0,
        description="Primary metric drop vs the holdout that warns, in the metric's units "
        "(0.02 for a classification metric or r2 when not set).",
    )
    performance_alert_drop: float | None = Field(
        validate_default=True,
        default=None,
        ge=0,
        description="Primary metric drop vs the holdout that alerts (0.05 when not set).",
    )
    performance_significance: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="A drop counts only beyond its standard error at this level (ROC AUC).",
    )
    min_positives: int = Field(
        default=20,
        ge=1,
        description="Distinct positive entities (classification) or distinct entities "
        "(regression) a performance window needs.",
    )
    retrain_on_alert: bool = Field(
        default=True, description="The retrain sensor requests training on an alert."
    )
    retrain_cooldown_days: int = Field(
        default=7, ge=0, description="Windows after a retrain request before another one."
    )
    schedule: str = Field(default="0 6 * * *", description="Cron of the daily evaluation.")
    timezone: str = Field(default="UTC", description="Time zone of the schedule.")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"schedule must be a cron string of 5 fields, got {value!r}")
        return value

    @field_validator("performance_warn_drop", "performance_alert_drop")
    @classmethod
    def _drop_default(cls, value: float | None, info: ValidationInfo) -> float:
        """The default for a drop left unset (a validated default: model_fields_set still
        tells ProductSpec it was not stated, which it refuses for an error metric)."""
        return PERFORMANCE_DROP_DEFAULTS[info.field_name] if value is None else value

    @model_validator(mode="after")
    def _ordered(self) -> MonitoringSpec:
        for name in ("psi", "ks", "js"):
            warn, alert = getattr(self, f"{name}_warn"), getattr(self, f"{name}_alert")
            if warn > alert:
                raise ValueError(f"{name}_warn ({warn}) must not exceed {name}_alert ({alert})")
        if self.performance_warn_drop > self.performance_alert_drop:  # type: ignore[operator]
            raise ValueError("performance_warn_drop must not exceed performance_alert_drop")
        return self


class ServiceSpec(_Strict):
    """The data product service: its budgets (a product contract), what it keeps and how much
    one request may ask for."""

    lookup_p95_ms: float = Field(
        default=20.0, gt=0, description="Budget for the p95 of a gold key lookup over HTTP, ms."
    )
    score_p95_ms: float = Field(
        default=15.0, gt=0, description="Budget for the p95 of a scoring call over HTTP, ms."
    )
    load_concurrency: list[int] = Field(
        default_factory=lambda: [1, 10],
        description="Concurrent clients of the load generator that measures the budgets.",
    )
    load_requests: int = Field(
        default=2000,
        ge=10,
        description="Requests per load level at most (the generator is bounded).",
    )
    load_seconds: float = Field(default=10.0, gt=0, description="Seconds per load level at most.")
    keep_published: int = Field(
        default=3,
        ge=2,
        description="Published versions kept per gold table (readers of the "
        "previous one still find it).",
    )
    default_limit: int = Field(default=100, ge=1, description="Rows per page when not asked.")
    max_limit: int = Field(default=10_000, ge=1, description="Most rows one query may return.")
    log_flush_rows: int = Field(
        default=5000, ge=1, description="Predictions buffered before a log segment is written."
    )
    log_flush_seconds: float = Field(
        default=1.0, gt=0, description="Longest time a prediction waits before it is written."
    )
    shadow_queue: int = Field(
        default=10_000,
        ge=1,
        description="Requests waiting for shadow scoring at most; beyond, shadow scores are "
        "dropped (and counted), never the caller slowed.",
    )
    shadow_batch_ms: float = Field(
        default=100.0,
        ge=0,
        description="How long the shadow scorer gathers requests into one batch (a batch costs "
        "about what one request does); shadow predictions are logged this much later.",
    )


class ProductSpec(_Strict):
    """A whole data product: sources, gold products, model and monitoring."""

    name: str
    description: str | None = None
    owner: str | None = None
    generator: str | None = Field(
        default=None,
        description="'package.module:function', or 'file.py:function' beside the YAML file.",
    )
    sources: dict[str, SourceSpec] = Field(min_length=1)
    gold: dict[str, GoldSpec] = Field(default_factory=dict)
    model: ModelSpec | None = None
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    partitions_start: date | None = Field(
        default=None,
        description="First day of the daily partitions of incremental gold products in the "
        "Dagster UI; required when a gold product is incremental.",
    )
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    path: Path | None = Field(default=None, exclude=True)
    gold_sql: dict[str, str] = Field(default_factory=dict, exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_identifier(value, "product name")

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        """An email address or a team name (`team:` optional): what Dagster accepts as an
        asset owner."""
        if value is None:
            return None
        if "@" in value:
            if not OWNER_EMAIL.fullmatch(value):
                raise ValueError(f"{value!r} is neither a team name nor a valid email address")
        elif not OWNER_TEAM.fullmatch(value.removeprefix("team:")):
            raise ValueError(
                f"{value!r}: a team name is letters, digits, spaces, '.', '_' and '-' "
                "(or give an email address)"
            )
        return value

    @field_validator("sources", "gold")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            _check_identifier(name, "name")
        return value

    @model_validator(mode="after")
    def _partitioned(self) -> ProductSpec:
        incremental = [n for n, g in self.gold.items() if g.incremental and not g.retired]
        if incremental and self.partitions_start is None:
            raise ValueError(
                f"partitions_start: required, since gold {incremental} are incremental "
                "(the first day of their daily partitions, e.g. 2026-01-01)"
            )
        return self

    @model_validator(mode="after")
    def _performance_drops(self) -> ProductSpec:
        """An error metric in the target's units (hours, euros) must state its monitoring
        drops: the defaults are meant for metrics between 0 and 1."""
        stated = self.monitoring.model_fields_set
        missing = [name for name in PERFORMANCE_DROP_DEFAULTS if name not in stated]
        if missing and self.model is not None and self.model.primary_metric in ERROR_METRICS:
            raise ValueError(
                f"monitoring.{missing[0]}: required for a {self.model.primary_metric} model, in "
                f"the units of {self.model.target} (e.g. 0.5 for half an hour); the default "
                f"{PERFORMANCE_DROP_DEFAULTS[missing[0]]} is meant for metrics between 0 and 1"
            )
        return self

    def landing(self, root: Path) -> Path:
        """This product's landing folder below the landing root, one sub-folder per source:
        products deliver apart, so two of them may both have a `customers` source."""
        return Path(root) / self.name

    def schema(self, zone: str) -> str:
        """DuckDB schema holding this product's tables of one zone."""
        return f"{self.name}_{zone}"

    def table(self, zone: str, name: str) -> str:
        """Fully qualified DuckDB table name, e.g. churn_silver.customers."""
        return f"{self.schema(zone)}.{name}"

    def gold_inputs(self, name: str) -> list[tuple[str, str]]:
        """The (zone, name) tables a gold product reads: SQL refs or declared Polars inputs."""
        gold = self.gold[name]
        if gold.polars:
            return [tuple(ref.split(".", 1)) for ref in gold.inputs]  # type: ignore[misc]
        found = [(m.group(1), m.group(2)) for m in REF.finditer(self.gold_sql[name])]
        return list(dict.fromkeys(found))

    def render_sql(self, name: str, window: dict[str, str] | None = None) -> str:
        """The gold SQL with each {{ zone.name }} ref replaced by its qualified table and
        each window bound ({{ window_start }}, ...) by the DATE literal `window` gives."""
        sql = REF.sub(lambda m: self.table(m.group(1), m.group(2)), self.gold_sql[name])
        for bound, value in (window or {}).items():
            sql = re.sub(r"\{\{\s*" + bound + r"\s*\}\}", f"DATE '{value}'", sql)
        return re.sub(r"\{\{\s*changed_keys\s*\}\}", gold_changed_keys_table(name), sql)


def gold_changed_keys_table(gold_name: str) -> str:
    """The temporary table (one VARCHAR column `key`) a gold build fills with the entities
    it recomputes on every day; {{ changed_keys }} in gold SQL names it."""
    return f"_gold_changed_keys_{gold_name}"


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid data product spec ({error.error_count()} problem(s))"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        # Whole-product checks name their field path in the message itself.
        lines.append(f"  - {where}: {message}" if where else f"  - {message}")
    return "\n".join(lines)


def _resolve_gold_sql(spec: ProductSpec, path: Path) -> dict[str, str]:
    sql: dict[str, str] = {}
    for name, gold in spec.gold.items():
        if gold.sql_file:
            sql_path = path.parent / gold.sql_file
            if not sql_path.is_file():
                raise SpecError(f"{path}: gold.{name}.sql_file: file not found: {sql_path}")
            sql[name] = sql_path.read_text(encoding="utf-8")
        elif gold.sql:
            sql[name] = gold.sql
    return sql


def reference_problems(spec: ProductSpec) -> list[str]:
    """Every problem with the tables and columns a spec's parts refer to, as
    'field: problem' lines, so a user sees all of them at once. Cycles and versions are
    judged once every gold input is known."""
    problems = _gold_input_problems(spec) + _column_reference_problems(spec)
    if _gold_input_problems(spec):
        return problems
    cycle = _gold_cycle(spec)
    if cycle:
        return [*problems, f"gold: cycle between gold products: {cycle}"]
    for name, gold in spec.gold.items():
        problems += _version_problems(spec, name, gold)
    return problems


def _column_reference_problems(spec: ProductSpec) -> list[str]:
    problems = []
    for source_name, source in spec.sources.items():
        for column_name, column in source.columns.items():
            if not column.references:
                continue
            entity, _, target = column.references.partition(".")
            if entity not in spec.sources or target not in spec.sources[entity].columns:
                problems.append(
                    f"sources.{source_name}.columns.{column_name}.references: "
                    f"unknown column {column.references!r}"
                )
    return problems


def _gold_input_problems(spec: ProductSpec) -> list[str]:
    problems = []
    for name in spec.gold:
        field = "inputs" if spec.gold[name].polars else "sql"
        for zone, table in spec.gold_inputs(name):
            known = spec.gold if zone == "gold" else spec.sources
            if table not in known:
                problems.append(
                    f"gold.{name}.{field}: unknown table {zone}.{table} "
                    f"(known {zone} tables: {sorted(known)})"
                )
            elif zone == "gold" and table == name:
                problems.append(f"gold.{name}.{field}: a gold product cannot read itself")
            mine = spec.gold[name].incremental
            theirs = known[table].incremental if zone == "gold" and table in known else None
            if mine and zone != "silver" and theirs is None:
                problems.append(
                    f"gold.{name}.incremental: an incremental product reads silver or "
                    f"incremental gold only (it reads {zone}.{table})"
                )
            elif mine and theirs and theirs.key_column not in (None, mine.key_column):
                problems.append(
                    f"gold.{name}.incremental.key_column: {mine.key_column!r} must be the "
                    f"key_column of gold.{table} it reads ({theirs.key_column!r})"
                )
    return problems


def _version_problems(spec: ProductSpec, name: str, gold: GoldSpec) -> list[str]:
    problems = []
    base = gold.version_of
    if base is not None and (base not in spec.gold or base == name):
        problems.append(
            f"gold.{name}.version_of: unknown gold product {base!r} "
            f"(known: {sorted(n for n in spec.gold if n != name)})"
        )
        base = None
    retired_inputs = [
        table
        for zone, table in spec.gold_inputs(name)
        if zone == "gold" and spec.gold[table].retired
    ]
    if retired_inputs and not gold.retired:
        problems.append(f"gold.{name}: reads retired gold product(s) {retired_inputs}")
    if base is not None and spec.gold[base].grain != gold.grain:
        problems.append(
            f"gold.{name}.grain: a version must keep the grain of {base} "
            f"({spec.gold[base].grain}), got {gold.grain}"
        )
    return problems


def _gold_cycle(spec: ProductSpec) -> str | None:
    """The first cycle between gold products, as 'a -> b -> a', or None."""
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> str | None:
        if state.get(name) == "done":
            return None
        if state.get(name) == "active":
            return " -> ".join([*trail, name])
        state[name] = "active"
        for zone, table in spec.gold_inputs(name):
            if zone == "gold":
                found = visit(table, [*trail, name])
                if found:
                    return found
        state[name] = "done"
        return None

    for name in spec.gold:
        found = visit(name, [])
        if found:
            return found
    return None


def _check_refs(spec: ProductSpec, path: Path) -> None:
    problems = reference_problems(spec)
    if len(problems) == 1:
        raise SpecError(f"{path}: {problems[0]}")
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise SpecError(f"{path}: invalid data product spec ({len(problems)} problem(s))\n{lines}")


def load_spec(path: str | Path) -> ProductSpec:
    """Load and validate one product YAML file.

    Raises:
        SpecError: naming the file, the field and the problem.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SpecError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec must be a mapping of fields, got {type(raw).__name__}")
    try:
        spec = ProductSpec.model_validate(raw)
    except ValidationError as error:
        raise SpecError(_format_errors(path, error)) from None
    spec = spec.model_copy(update={"path": path, "gold_sql": _resolve_gold_sql(spec, path)})
    _check_refs(spec, path)
    return spec


def load_specs(paths: list[Path]) -> list[ProductSpec]:
    """Load several products; their names must be unique because they prefix every table
    and name each product's landing folder."""
    specs = [load_spec(path) for path in paths]
    seen: dict[str, Path | None] = {}
    for spec in specs:
        if spec.name in seen:
            raise SpecError(
                f"{spec.path}: name: product {spec.name!r} also declared in {seen[spec.name]}"
            )
        seen[spec.name] = spec.path
    return specs
