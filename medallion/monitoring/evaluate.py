"""One evaluation of a product's champion: drift of the new windows of gold against the data
it was trained on, its performance on newly labelled windows, history, MLflow.

It knows nothing of Dagster, so tests and the simulator call it directly; the monitoring
asset turns its result into metadata and asset checks. The warehouse is held only to read
the windows and to append the history; the champion is loaded from MLflow once and scores
the reference, the windows and the labelled rows in three calls.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from medallion.ml.snapshot import last_days
from medallion.monitoring import charts, history
from medallion.monitoring.champion import (
    Champion,
    find_champion,
    load_model,
    log_evaluation,
    monitoring_run,
    score,
)
from medallion.monitoring.drift import DATASET, WindowDrift, compare, split_kinds, summarize
from medallion.monitoring.names import DRIFT, PERFORMANCE
from medallion.monitoring.performance import WindowPerformance, history_rows, window_performance
from medallion.monitoring.windows import (
    Window,
    pending_ends,
    reference_filter,
    trailing_window,
    window_filter,
)
from medallion.resources.tracking import TrackingResource
from medallion.spec import ModelSpec, MonitoringSpec, ProductSpec
from medallion.timing import timed
from medallion.zones.sql import quote

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
SCORE = "_score"


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation found; `skipped` says why nothing was evaluated, `idle` why one
    kind (drift or performance) had no window, `backlog` how many windows wait for the next
    run of each kind (with a `max_catch_up_windows` bound)."""

    champion: Champion | None
    drift: list[WindowDrift] = field(default_factory=list)
    performance: list[WindowPerformance] = field(default_factory=list)
    skipped: str | None = None
    idle: dict[str, str] = field(default_factory=dict)
    backlog: dict[str, int] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    as_of: date | None = None
    """The latest day of the gold table when the evaluation ran."""
    charts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def latest_drift(self) -> WindowDrift | None:
        return self.drift[-1] if self.drift else None

    @property
    def latest_performance(self) -> WindowPerformance | None:
        return self.performance[-1] if self.performance else None

    @property
    def drift_alerts(self) -> list[WindowDrift]:
        return [w for w in self.drift if w.status == "alert"]

    @property
    def performance_alerts(self) -> list[WindowPerformance]:
        return [w for w in self.performance if w.status == "alert"]


def _model(spec: ProductSpec) -> ModelSpec:
    if spec.model is None:
        raise ValueError(f"product {spec.name!r} declares no model to monitor")
    return spec.model


def _columns(model: ModelSpec) -> list[str]:
    return list(dict.fromkeys([model.entity_key, model.time_column, *model.features, model.target]))


def _read_rows(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    first: date,
    last: date,
    labelled: bool = False,
) -> pl.DataFrame:
    """Gold rows (the model's columns) whose day lies in first..last."""
    model = _model(spec)
    select = ", ".join(quote(c) for c in _columns(model))
    day = f"CAST({quote(model.time_column)} AS DATE)"
    label = f" AND {quote(model.target)} IS NOT NULL" if labelled else ""
    return con.execute(
        f"SELECT {select} FROM {spec.table('gold', model.table)} "
        f"WHERE {day} BETWEEN ? AND ?{label} ORDER BY ALL",
        [first, last],
    ).pl()


def _latest_days(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> tuple[date, date | None]:
    """The gold table's last day, and its last labelled day."""
    model = _model(spec)
    latest, labelled = last_days(con, spec)
    if latest is None:
        raise ValueError(f"{spec.table('gold', model.table)} is empty; materialize gold first")
    return latest, labelled


def _ends(
    latest: date | None, done: date | None, first: date, limit: int | None
) -> tuple[list[date], int]:
    """New window ends, oldest first (at most `limit`), and how many more wait for the next
    run; with none new, the latest again (its evaluation is idempotent)."""
    if latest is None or latest < first:
        return [], 0
    ends = pending_ends(latest, done, first, limit)
    if not ends:
        return [latest], 0
    return ends, (latest - ends[-1]).days


def _with_scores(frame: pl.DataFrame, model, spec: ProductSpec, limit: int) -> pl.DataFrame:
    """`frame` with the champion's score in SCORE; beyond `limit` rows, a seeded sample is
    scored and the other rows get NULL."""
    assert spec.model is not None
    if frame.height <= limit:
        return frame.with_columns(pl.Series(SCORE, score(model, frame, spec), dtype=pl.Float64))
    chosen = np.zeros(frame.height, dtype=bool)
    rng = np.random.default_rng(spec.model.seed)
    chosen[rng.choice(frame.height, size=limit, replace=False)] = True
    values = np.full(frame.height, np.nan)
    values[chosen] = score(model, frame.filter(pl.Series(chosen)), spec)
    return frame.with_columns(pl.Series(SCORE, values).fill_nan(None))


def _drift_rows(window: WindowDrift, monitoring: MonitoringSpec) -> pl.DataFrame:
    """The window's statistics plus its dataset row (share of drifted features)."""
    stats = window.statistics
    dataset = pl.DataFrame(
        {
            "feature": [DATASET],
            "kind": ["dataset"],
            "statistic": ["drift_share"],
            "value": [window.drifted_share],
            "bins": [None],
            "reference_rows": [stats["reference_rows"].max()],
            "current_rows": [stats["current_rows"].max()],
            "warn_threshold": [None],
            "threshold": [monitoring.drift_share],
            "status": [
                "insufficient"
                if window.evaluated == 0
                else ("alert" if window.dataset_drift else "ok")
            ],
        },
        schema=stats.schema,
    )
    return pl.concat([stats, dataset]).with_columns(
        window_start=pl.lit(window.window_start), window_end=pl.lit(window.window_end)
    )


def verdict(evaluation: Evaluation) -> dict[str, str]:
    """The latest verdicts as short texts (MLflow tags, Dagster metadata)."""
    found: dict[str, str] = {}
    latest = evaluation.latest_drift
    if latest is not None:
        found |= {
            "window": latest.window_end.isoformat(),
            "drift_status": latest.status,
            "drifted_features": ", ".join(f.feature for f in latest.drifted) or "none",
            "drifted_share": f"{latest.drifted_share:.3f}",
            "prediction_drift": latest.prediction.status if latest.prediction else "off",
        }
    performance = evaluation.latest_performance
    if performance is not None:
        found |= {
            "performance_window": performance.window.end.isoformat(),
            "performance_status": performance.status,
        }
    return found


@dataclass(frozen=True)
class _Reference:
    """The champion's reference rows: the last `reference_days` of its snapshot."""

    rows: pl.DataFrame
    snapshot_end: date
    after_holdout: date


@dataclass(frozen=True)
class _Pending:
    """What the warehouse holds that has not been judged yet."""

    latest: date
    latest_labelled: date | None
    windows: list[Window]
    current: pl.DataFrame | None
    performance_windows: list[Window]
    labelled: pl.DataFrame | None
    backlog: dict[str, int]


def _reference(champion: Champion, spec: ProductSpec) -> _Reference:
    """Read the reference rows from the champion's snapshot file."""
    model, monitoring = _model(spec), spec.monitoring
    day = pl.col(model.time_column).cast(pl.Date)
    snapshot = pl.scan_parquet(champion.snapshot)
    snapshot_end: date = snapshot.select(day.max()).collect().item()
    rows = (
        snapshot.filter(day >= snapshot_end - timedelta(days=monitoring.reference_days - 1))
        .select(_columns(model))
        .collect()
    )
    after_holdout = (champion.holdout_end or snapshot_end) + timedelta(days=1)
    return _Reference(rows, snapshot_end, after_holdout)


def _read_pending(
    connect: Connect, spec: ProductSpec, champion: Champion, reference: _Reference
) -> _Pending:
    """The drift windows and labelled windows not yet in the history, with their rows."""
    monitoring = spec.monitoring
    with connect() as con:
        history.ensure_history(con, spec)
        latest, latest_labelled = _latest_days(con, spec)
        ends, drift_backlog = _ends(
            latest,
            history.last_window_end(con, spec, history.DRIFT_HISTORY, champion.version),
            reference.snapshot_end + timedelta(days=1),
            monitoring.max_catch_up_windows,
        )
        windows = [trailing_window(end, monitoring.window_days) for end in ends]
        current = _read_rows(con, spec, windows[0].start, windows[-1].end) if windows else None
        performance_ends, performance_backlog = _ends(
            latest_labelled,
            history.last_window_end(con, spec, history.PERFORMANCE_HISTORY, champion.version),
            reference.after_holdout,
            monitoring.max_catch_up_windows,
        )
        performance_windows = [
            trailing_window(
                end, monitoring.performance_window_days, not_before=reference.after_holdout
            )
            for end in performance_ends
        ]
        labelled = (
            _read_rows(con, spec, performance_windows[0].start, performance_windows[-1].end, True)
            if performance_windows
            else None
        )
    backlog = {DRIFT: drift_backlog, PERFORMANCE: performance_backlog}
    return _Pending(
        latest, latest_labelled, windows, current, performance_windows, labelled, backlog
    )


def _scored(
    champion: Champion, spec: ProductSpec, reference: _Reference, pending: _Pending
) -> tuple[_Reference, _Pending]:
    """Reference, current and labelled rows with the champion's scores (loaded once)."""
    monitoring = spec.monitoring
    drift_scores = monitoring.prediction_drift and pending.current is not None
    if not drift_scores and pending.labelled is None:
        return reference, pending
    model = load_model(champion)
    limit = monitoring.max_scored_rows
    if drift_scores:
        reference = replace(reference, rows=_with_scores(reference.rows, model, spec, limit))
        pending = replace(pending, current=_with_scores(pending.current, model, spec, limit))
    if pending.labelled is not None:
        pending = replace(pending, labelled=_with_scores(pending.labelled, model, spec, limit))
    return reference, pending


def drift_windows(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    windows: list[Window],
    snapshot_end: date,
    spec: ProductSpec,
) -> list[WindowDrift]:
    """Each window of `current` against its reference days (pure)."""
    model, monitoring = _model(spec), spec.monitoring
    numeric, categorical = split_kinds(reference.schema, model.features)
    drift = []
    for window in windows:
        ref = reference.filter(
            reference_filter(model.time_column, snapshot_end, window, monitoring)
        )
        cur = current.filter(window_filter(model.time_column, window))
        scores = (
            (ref[SCORE].drop_nulls(), cur[SCORE].drop_nulls())
            if monitoring.prediction_drift
            else None
        )
        statistics = compare(ref, cur, numeric, categorical, monitoring, scores)
        drift.append(summarize(statistics, window.start, window.end, monitoring))
    return drift


def performance_windows(
    labelled: pl.DataFrame, windows: list[Window], champion: Champion, spec: ProductSpec
) -> list[WindowPerformance]:
    """The champion's primary metric on each labelled window (pure)."""
    model = _model(spec)
    return [
        window_performance(
            labelled.filter(window_filter(model.time_column, window) & pl.col(SCORE).is_not_null()),
            window,
            entity_key=model.entity_key,
            target=model.target,
            score=SCORE,
            primary=model.primary_metric,
            decision_threshold=champion.decision_threshold,
            holdout=champion.holdout,
            monitoring=spec.monitoring,
            task=model.task,
        )
        for window in windows
    ]


def _judge(
    champion: Champion, spec: ProductSpec, reference: _Reference, pending: _Pending
) -> tuple[list[WindowDrift], list[WindowPerformance]]:
    """Drift of every pending window and performance of every labelled one (pure)."""
    drift = (
        drift_windows(
            reference.rows, pending.current, pending.windows, reference.snapshot_end, spec
        )
        if pending.current is not None
        else []
    )
    performance = (
        performance_windows(pending.labelled, pending.performance_windows, champion, spec)
        if pending.labelled is not None
        else []
    )
    return drift, performance


def history_frames(
    drift: list[WindowDrift],
    performance: list[WindowPerformance],
    champion: Champion,
    spec: ProductSpec,
    run_id: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The drift and performance history rows of this evaluation, stamped (pure)."""
    stamp = {
        "model_version": champion.version,
        "data_version": champion.data_version,
        "evaluated_at": datetime.now(UTC).replace(tzinfo=None),
        "run_id": run_id,
    }
    columns = [pl.lit(v).alias(k) for k, v in stamp.items()]
    drift_rows = (
        pl.concat([_drift_rows(w, spec.monitoring) for w in drift]).with_columns(columns)
        if drift
        else pl.DataFrame()
    )
    return drift_rows, history_rows(performance).with_columns(columns)


def _persist(
    connect: Connect, spec: ProductSpec, drift_rows: pl.DataFrame, performance_rows: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Append this evaluation's history; the whole drift and performance history after it."""
    with connect() as con:
        history.append(con, spec, history.DRIFT_HISTORY, drift_rows)
        history.append(con, spec, history.PERFORMANCE_HISTORY, performance_rows)
        return (
            history.read(con, spec, history.DRIFT_HISTORY),
            history.read(con, spec, history.PERFORMANCE_HISTORY),
        )


def _log(
    evaluation: Evaluation,
    spec: ProductSpec,
    rows: tuple[pl.DataFrame, pl.DataFrame],
    histories: tuple[pl.DataFrame, pl.DataFrame],
    tracking: TrackingResource,
) -> tuple[str, int]:
    """Log the statistics, verdicts and charts to a monitoring run; its id and chart count."""
    champion, model = evaluation.champion, _model(spec)
    assert champion is not None
    run_id = monitoring_run(spec, champion, tracking)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        written = charts.drift_charts(histories[0], folder / "drift", spec.name)
        chart = charts.performance_chart(
            histories[1],
            model.primary_metric,
            folder / "performance" / f"{model.primary_metric}.png",
            spec.name,
        )
        log_evaluation(run_id, champion, *rows, folder, verdict(evaluation), tracking)
    return run_id, len(written) + (chart is not None)


def _idle(reference: _Reference, pending: _Pending) -> dict[str, str]:
    """Why drift or performance has no window to judge in this evaluation."""
    idle = {}
    if not pending.windows:
        idle[DRIFT] = (
            f"no gold day after the champion's snapshot (its last day {reference.snapshot_end}; "
            f"gold's last day {pending.latest})"
        )
    if not pending.performance_windows:
        idle[PERFORMANCE] = (
            f"no labelled day after the champion's holdout yet (from "
            f"{reference.after_holdout}; gold's last labelled day {pending.latest_labelled})"
        )
    return idle


def _skip(champion: Champion | None) -> str | None:
    if champion is None:
        return "no champion yet: train the ML zone first"
    if not champion.snapshot.is_file():
        return f"the snapshot of champion v{champion.version} is gone: {champion.snapshot}"
    return None


def evaluate(
    spec: ProductSpec,
    connect: Connect,
    tracking: TrackingResource,
    *,
    run_id: str | None = None,
    log_to_mlflow: bool = True,
) -> Evaluation:
    """Evaluate the champion on every window not yet evaluated, oldest first (at most
    `max_catch_up_windows`; the next evaluation continues after them), append the history and
    log the statistics and charts to MLflow.

    Args:
        spec: the product; `model` names the gold table and columns, `monitoring` the rules.
        connect: opens a writable warehouse connection (a context manager).
        tracking: the MLflow store and snapshot folder.
        run_id: the Dagster run, recorded with each history row.
        log_to_mlflow: False to keep MLflow untouched (the history is written regardless).

    Returns:
        The evaluation; `skipped` is set when there is no champion or nothing new to judge,
        `idle` names the kind (drift, performance) that had nothing to judge, and why.
    """
    seconds: dict[str, float] = {}
    champion = find_champion(spec, tracking)
    skipped = _skip(champion)
    if skipped or champion is None:
        return Evaluation(champion, skipped=skipped)
    with timed(seconds, "read"):
        reference = _reference(champion, spec)
        pending = _read_pending(connect, spec, champion, reference)
    idle = _idle(reference, pending)
    if not pending.windows and not pending.performance_windows:
        return Evaluation(champion, skipped=idle[DRIFT], idle=idle, as_of=pending.latest)
    with timed(seconds, "scoring"):
        reference, pending = _scored(champion, spec, reference, pending)
    with timed(seconds, "statistics"):
        drift, performance = _judge(champion, spec, reference, pending)
    rows = history_frames(drift, performance, champion, spec, run_id)
    with timed(seconds, "history"):
        histories = _persist(connect, spec, *rows)
    evaluation = Evaluation(
        champion, drift, performance, idle=idle, backlog=pending.backlog, as_of=pending.latest
    )
    mlflow_run_id, chart_count = None, 0
    with timed(seconds, "mlflow"):
        if log_to_mlflow:
            mlflow_run_id, chart_count = _log(evaluation, spec, rows, histories, tracking)
    rounded = {phase: round(value, 3) for phase, value in seconds.items()}
    return replace(evaluation, mlflow_run_id=mlflow_run_id, charts=chart_count, seconds=rounded)
