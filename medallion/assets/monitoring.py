"""Dagster assets of the monitoring zone: the champion's drift and performance over time.

One evaluation materializes both assets: the champion is loaded from MLflow once, judges
every new window of gold against the data it was trained on and every newly labelled window
against its holdout, appends the history in DuckDB and logs metrics and charts to MLflow.
Asset checks report the latest window, naming the drifted features; they never block, since
nothing runs downstream of monitoring: the retrain sensor reads the alert from the metadata.
Without a champion, or with no gold day after its snapshot (or no newly labelled day), the
asset is still materialized, with a `skipped` record saying why and no check result: the UI,
the sensor and the demo see that monitoring could not evaluate, never a silent gap.
"""

import math
from typing import TYPE_CHECKING

import dagster as dg

from medallion import markdown
from medallion.assets.checks import to_result
from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.jobs import has_model
from medallion.assets.keys import gold_key, ml_key, monitoring_key
from medallion.checks.outcome import CheckOutcome
from medallion.monitoring import names
from medallion.resources.tracking import TrackingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec

if TYPE_CHECKING:  # the evaluation imports MLflow; load it only when an evaluation runs
    from medallion.monitoring.drift import WindowDrift
    from medallion.monitoring.evaluate import Evaluation
    from medallion.monitoring.performance import WindowPerformance
    from medallion.monitoring.records import MonitoringRecord

KINDS = {"duckdb", "polars", "mlflow"}


def monitoring_assets(spec: ProductSpec) -> list[dg.AssetsDefinition]:
    """The monitoring zone of a product that trains models; none otherwise."""
    return [build_evaluation_asset(spec)] if has_model(spec) else []


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _markdown(header: list[str], rows: list[list[object]]) -> str:
    return markdown.table(header, rows, _cell)


def drift_outcomes(window: "WindowDrift", spec: ProductSpec) -> list[CheckOutcome]:
    """The data and prediction drift checks of the latest window."""
    monitoring = spec.monitoring
    drifted, watched = window.drifted, window.watched
    when = f"{window.window_start}..{window.window_end}"
    if window.evaluated == 0:
        data = CheckOutcome(
            names.DATA_DRIFT_CHECK,
            True,
            "WARN",
            f"{when}: too few rows to judge (min_rows {monitoring.min_rows})",
        )
    else:
        share = f"{len(drifted)} of {window.evaluated} features drifted"
        if window.dataset_drift:
            rule = f"share {window.drifted_share:.3f} >= {monitoring.drift_share:g}: dataset drift"
        else:
            rule = f"dataset drift from a share of {monitoring.drift_share:g}"
        listed = "; ".join(f.describe() for f in drifted)
        data = CheckOutcome(
            names.DATA_DRIFT_CHECK,
            not drifted,
            "ERROR" if window.dataset_drift else "WARN",
            f"{when}: {share} ({rule}){': ' + listed if listed else ''}",
        )
    data.metadata = {
        "window": str(window.window_end),
        "drifted_features": [f.feature for f in drifted],
        "watched_features": [f.feature for f in watched],
        "drifted_share": round(window.drifted_share, 4),
        "threshold": monitoring.drift_share,
        "dataset_drift": window.dataset_drift,
    }
    prediction = window.prediction
    status = prediction.status if prediction else "off"
    scores = CheckOutcome(
        names.PREDICTION_DRIFT_CHECK,
        status not in ("warn", "alert"),
        "ERROR" if status == "alert" else "WARN",
        f"{when}: champion scores {status}"
        + (f": {prediction.describe()}" if prediction else " (prediction_drift: false)"),
        {"window": str(window.window_end), "status": status},
    )
    if prediction:
        scores.metadata |= {k: round(v, 4) for k, v in prediction.values.items()}
    return [data, scores]


def performance_outcome(window: "WindowPerformance") -> CheckOutcome:
    """The performance check of the latest labelled window."""
    passed = window.status not in ("warn", "alert")
    text = window.describe() if window.status != "insufficient" else "too few labelled rows"
    return CheckOutcome(
        names.PERFORMANCE_CHECK,
        passed,
        "ERROR" if window.status == "alert" else "WARN",
        f"{window.window.start}..{window.window.end}: {window.status}: {text}",
        {
            "window": str(window.window.end),
            "status": window.status,
            "value": window.value,
            "holdout": window.holdout.get(window.primary, math.nan),
            "threshold": window.threshold,
            "entities": window.entities,
        }
        | (
            {}
            if window.positive_entities is None
            else {"positive_entities": window.positive_entities}
        ),
    )


def _drift_table(window: "WindowDrift") -> str:
    rows = [
        [f.feature, f.status, f.values.get("psi", math.nan), f.values.get("ks", f.values.get("js"))]
        for f in sorted(window.features, key=lambda f: -f.values.get("psi", 0.0))
    ]
    return _markdown(["feature", "status", "psi", "ks / js"], rows)


def _common(evaluation: "Evaluation") -> dict[str, dg.MetadataValue]:
    champion = evaluation.champion
    metadata = {
        names.MODEL_VERSION: dg.MetadataValue.text(champion.version),
        "data_version": dg.MetadataValue.text(champion.data_version),
        "variant": dg.MetadataValue.text(champion.variant),
        names.AS_OF: dg.MetadataValue.text(str(evaluation.as_of)),
        "seconds": dg.MetadataValue.json(evaluation.seconds),
    }
    if evaluation.mlflow_run_id:
        metadata["mlflow_run_id"] = dg.MetadataValue.text(evaluation.mlflow_run_id)
    return metadata


def _record(record: "MonitoringRecord") -> dict[str, dg.MetadataValue]:
    return {k: dg.MetadataValue.json(v) for k, v in record.to_metadata().items()}


def drift_record(evaluation: "Evaluation") -> "MonitoringRecord":
    """What the drift asset hands the retrain sensor and the simulator."""
    from medallion.monitoring.records import MonitoringRecord

    latest, alerts = evaluation.latest_drift, evaluation.drift_alerts
    assert latest is not None and evaluation.champion is not None
    last = alerts[-1] if alerts else None
    return MonitoringRecord(
        status=latest.status,
        window_end=str(latest.window_end),
        model_version=evaluation.champion.version,
        drifted_features=tuple(f.feature for f in latest.drifted),
        alert_day=str(last.window_end) if last else None,
        alert_reason=(
            f"drift on {last.window_end}: "
            + (", ".join(f.feature for f in last.drifted) or "champion scores")
            if last
            else ""
        ),
        windows_evaluated=len(evaluation.drift),
        pending_windows=evaluation.backlog.get(names.DRIFT, 0),
    )


def performance_record(evaluation: "Evaluation") -> "MonitoringRecord":
    """What the performance asset hands the retrain sensor and the simulator."""
    from medallion.monitoring.records import MonitoringRecord

    latest, alerts = evaluation.latest_performance, evaluation.performance_alerts
    assert latest is not None and evaluation.champion is not None
    return MonitoringRecord(
        status=latest.status,
        window_end=str(latest.window.end),
        model_version=evaluation.champion.version,
        alert_day=str(evaluation.as_of) if alerts else None,
        alert_reason=alerts[-1].describe() if alerts else "",
        windows_evaluated=len(evaluation.performance),
        pending_windows=evaluation.backlog.get(names.PERFORMANCE, 0),
    )


def drift_metadata(evaluation: "Evaluation", spec: ProductSpec) -> dict[str, dg.MetadataValue]:
    """What the drift asset shows, with the record the retrain sensor reads."""
    from medallion.monitoring.history import DRIFT_HISTORY, history_table

    latest = evaluation.latest_drift
    return (
        _record(drift_record(evaluation))
        | _common(evaluation)
        | {
            "window": dg.MetadataValue.text(f"{latest.window_start}..{latest.window_end}"),
            "status": dg.MetadataValue.text(latest.status),
            "windows_evaluated": dg.MetadataValue.int(len(evaluation.drift)),
            "drifted_features": dg.MetadataValue.text(
                ", ".join(f.feature for f in latest.drifted) or "none"
            ),
            "drifted_share": dg.MetadataValue.float(round(latest.drifted_share, 4)),
            "dataset_drift": dg.MetadataValue.bool(latest.dataset_drift),
            "statistics": dg.MetadataValue.md(_drift_table(latest)),
            "charts": dg.MetadataValue.int(evaluation.charts),
            "dagster/table_name": dg.MetadataValue.text(history_table(spec, DRIFT_HISTORY)),
        }
    )


def performance_metadata(
    evaluation: "Evaluation", spec: ProductSpec
) -> dict[str, dg.MetadataValue]:
    """What the performance asset shows, with the record the retrain sensor reads."""
    from medallion.monitoring.history import PERFORMANCE_HISTORY, history_table

    latest = evaluation.latest_performance
    metadata = (
        _record(performance_record(evaluation))
        | _common(evaluation)
        | {
            "window": dg.MetadataValue.text(f"{latest.window.start}..{latest.window.end}"),
            "status": dg.MetadataValue.text(latest.status),
            "windows_evaluated": dg.MetadataValue.int(len(evaluation.performance)),
            "entities": dg.MetadataValue.int(latest.entities),
            "dagster/table_name": dg.MetadataValue.text(history_table(spec, PERFORMANCE_HISTORY)),
        }
    )
    if latest.positive_entities is not None:
        metadata["positive_entities"] = dg.MetadataValue.int(latest.positive_entities)
    for name, value in (("value", latest.value), ("threshold", latest.threshold)):
        if not math.isnan(value):
            metadata[f"{latest.primary} {name}"] = dg.MetadataValue.float(round(value, 4))
    return metadata


def _asset_specs(spec: ProductSpec) -> list[dg.AssetSpec]:
    """The drift and performance assets one evaluation materializes."""
    assert spec.model is not None
    monitoring = spec.monitoring
    gold = gold_key(spec, spec.model.table)
    common = {
        "deps": [gold, ml_key(spec, "champion")],
        "group_name": names.GROUP,
        "kinds": KINDS,
        "tags": {"medallion/product": spec.name},
        "skippable": True,
    }
    window = f"{monitoring.window_days}-day" if monitoring.window_days > 1 else "daily"
    season = (
        f"; reference days in the same phase of a {monitoring.seasonal_period_days}-day season"
        if monitoring.seasonal_period_days
        else ""
    )
    return [
        dg.AssetSpec(
            monitoring_key(spec, names.DRIFT),
            **common,
            description=(
                f"Drift of each {window} window of `{spec.table('gold', spec.model.table)}` "
                f"against the last {monitoring.reference_days} days of the snapshot the "
                f"champion was trained on{season}. Numbers: PSI over {monitoring.bins} "
                "reference-quantile bins and the KS statistic; categories: PSI and "
                "Jensen-Shannon distance; the champion's scores like a number. History in "
                f"`{spec.name}_monitoring.drift_history`, charts in MLflow."
            ),
        ),
        dg.AssetSpec(
            monitoring_key(spec, names.PERFORMANCE),
            **common,
            description=(
                f"The champion's {spec.model.primary_metric} on each trailing "
                f"{monitoring.performance_window_days}-day window whose labels have "
                "arrived since its holdout, against its holdout value. History in "
                f"`{spec.name}_monitoring.performance_history`."
            ),
        ),
    ]


def _check_specs(spec: ProductSpec) -> list[dg.AssetCheckSpec]:
    """The data drift, prediction drift and performance checks of the latest window."""
    assert spec.model is not None
    monitoring = spec.monitoring
    drift_key = monitoring_key(spec, names.DRIFT)
    return [
        dg.AssetCheckSpec(
            names.DATA_DRIFT_CHECK,
            asset=drift_key,
            description=(
                f"No feature drifted in the latest window (WARN); ERROR when at least a "
                f"share of {monitoring.drift_share:g} of the features did (dataset drift)."
            ),
        ),
        dg.AssetCheckSpec(
            names.PREDICTION_DRIFT_CHECK,
            asset=drift_key,
            description="The champion's scores in the latest window are like the reference's.",
        ),
        dg.AssetCheckSpec(
            names.PERFORMANCE_CHECK,
            asset=monitoring_key(spec, names.PERFORMANCE),
            description=(
                f"{spec.model.primary_metric} of the latest labelled window within "
                f"{monitoring.performance_warn_drop:g} (WARN) / "
                f"{monitoring.performance_alert_drop:g} (ERROR) of the holdout's."
            ),
        ),
    ]


def skipped_metadata(reason: str, evaluation: "Evaluation") -> dict[str, dg.MetadataValue]:
    """What an asset that evaluated nothing shows: the `skipped` record and the reason."""
    from medallion.monitoring.records import SKIPPED, MonitoringRecord

    champion = evaluation.champion
    record = MonitoringRecord.skip(reason, champion.version if champion else "")
    metadata = _record(record) | {
        "status": dg.MetadataValue.text(SKIPPED),
        "skipped": dg.MetadataValue.text(reason),
    }
    if evaluation.as_of is not None:
        metadata[names.AS_OF] = dg.MetadataValue.text(str(evaluation.as_of))
    if champion is not None:
        metadata[names.MODEL_VERSION] = dg.MetadataValue.text(champion.version)
    return metadata


def _skipped(evaluation: "Evaluation", key: dg.AssetKey, kind: str, log) -> dg.MaterializeResult:
    """The materialization of an asset with nothing to judge, saying why (no check result:
    its checks show as not executed)."""
    reason = evaluation.skipped or evaluation.idle.get(kind, "nothing to evaluate")
    log.warning(f"{key.to_user_string()} skipped: {reason}")
    return dg.MaterializeResult(asset_key=key, metadata=skipped_metadata(reason, evaluation))


def _results(
    evaluation: "Evaluation", spec: ProductSpec, selected: set[dg.AssetKey], log
) -> list[dg.MaterializeResult]:
    """The materializations (with their checks) of the selected assets; those without a
    window say why they were skipped."""
    drift_key = monitoring_key(spec, names.DRIFT)
    performance_key = monitoring_key(spec, names.PERFORMANCE)
    results = [
        _skipped(evaluation, key, kind, log)
        for key, kind, window in (
            (drift_key, names.DRIFT, evaluation.latest_drift),
            (performance_key, names.PERFORMANCE, evaluation.latest_performance),
        )
        if window is None and key in selected
    ]
    latest = evaluation.latest_drift
    if latest is not None and drift_key in selected:
        log.info(
            f"drift {latest.window_end}: {latest.status}; drifted: "
            + (", ".join(f.describe() for f in latest.drifted) or "none")
        )
        results.append(
            dg.MaterializeResult(
                asset_key=drift_key,
                metadata=drift_metadata(evaluation, spec),
                check_results=[to_result(o, drift_key) for o in drift_outcomes(latest, spec)],
            )
        )
    performance = evaluation.latest_performance
    if performance is not None and performance_key in selected:
        results.append(
            dg.MaterializeResult(
                asset_key=performance_key,
                metadata=performance_metadata(evaluation, spec),
                check_results=[to_result(performance_outcome(performance), performance_key)],
            )
        )
    return results


def build_evaluation_asset(spec: ProductSpec) -> dg.AssetsDefinition:
    """Drift and performance of the champion, evaluated together (one model load)."""

    @dg.multi_asset(
        name=f"{spec.name}__monitoring__evaluate",
        specs=_asset_specs(spec),
        check_specs=_check_specs(spec),
        op_tags=DUCKDB_TAG,
        can_subset=True,
    )
    def _evaluate(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        tracking: TrackingResource,
    ):
        from medallion.monitoring.evaluate import evaluate

        evaluation = evaluate(spec, warehouse.get_connection, tracking, run_id=context.run_id)
        yield from _results(evaluation, spec, set(context.selected_asset_keys), context.log)

    return _evaluate
