"""Dagster assets of the ML zone: a feature snapshot, a baseline, one asset per model variant
and the champion promotion.

Only the snapshot reads DuckDB (and carries the DuckDB op tag); the variants read its Parquet
file, so the multiprocess executor trains them side by side. The gates are asset checks
emitted with each variant's materialization; the champion asset promotes the best variant
that passed them all. scikit-learn and MLflow are imported inside the asset bodies, so
loading the Definitions stays fast.
"""

import math
import time
from pathlib import Path

import dagster as dg

from medallion import markdown
from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.keys import gold_key, ml_key
from medallion.resources.tracking import TrackingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec, SpecError, greater_is_better

GROUP = "ml"
TRACKING = "tracking"
"""Resource key of the MLflow tracking resource."""

GATE_CHECKS = {"accuracy": "accuracy_gate", "bias": "bias_gate"}
"""Checks on each variant asset; its latency gate is a check of the champion asset."""
LATENCY_CHECK_PREFIX = "latency_gate_"


def latency_check(variant: str) -> str:
    """The champion asset's check of one variant's responsiveness."""
    return f"{LATENCY_CHECK_PREFIX}{variant}"


PROMOTED_CHECK = "new_champion"
ML_KINDS = {"scikitlearn", "mlflow"}


def ml_assets(spec: ProductSpec) -> list[dg.AssetsDefinition]:
    """The ML zone of a product that declares model variants; none otherwise."""
    if spec.model is None or not spec.model.variants:
        return []
    if spec.model.table not in spec.gold:
        raise SpecError(
            f"{spec.path}: model.table: {spec.model.table!r} is not a gold table of "
            f"{spec.name} (known: {sorted(spec.gold)})"
        )
    return [
        build_snapshot_asset(spec),
        build_baseline_asset(spec),
        *[build_variant_asset(spec, name) for name in spec.model.variants],
        build_champion_asset(spec),
    ]


def _latest_metadata(
    context: dg.AssetExecutionContext, key: dg.AssetKey, required: bool = True
) -> dict | None:
    """The metadata values of an asset's latest materialization (records are read from it)."""
    event = context.instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        if not required:
            return None
        raise dg.Failure(
            description=f"{key.to_user_string()} has never been materialized; materialize it first"
        )
    return {name: value.value for name, value in materialization.metadata.items()}


def _records(record) -> dict[str, dg.MetadataValue]:
    """A hand-off record as the JSON metadata value its reader reads back whole."""
    return {k: dg.MetadataValue.json(v) for k, v in record.to_metadata().items()}


def _current_snapshot(context: dg.AssetExecutionContext, spec: ProductSpec) -> tuple[Path, str]:
    """Path and data version of the latest snapshot."""
    from medallion.ml.records import SnapshotRecord

    metadata = _latest_metadata(context, ml_key(spec, "snapshot"))
    assert metadata is not None
    snapshot = SnapshotRecord.from_metadata(metadata)
    if not snapshot.file.is_file():
        raise dg.Failure(
            description=f"snapshot {snapshot.path} is gone; re-materialize the snapshot"
        )
    return snapshot.file, snapshot.data_version


def _floats(values: dict[str, float], prefix: str = "") -> dict[str, dg.MetadataValue]:
    """Metric values for the UI (the readers read the records, not these)."""
    return {
        f"{prefix}{name}": dg.MetadataValue.float(float(value))
        for name, value in values.items()
        if not math.isnan(value)
    }


def build_snapshot_asset(spec: ProductSpec) -> dg.AssetsDefinition:
    """Export the gold feature table once per content to a Parquet file named by its hash."""
    assert spec.model is not None
    table = spec.table("gold", spec.model.table)

    @dg.asset(
        key=ml_key(spec, "snapshot"),
        deps=[gold_key(spec, spec.model.table)],
        group_name=GROUP,
        kinds={"duckdb", "parquet"},
        op_tags=DUCKDB_TAG,
        tags={"medallion/product": spec.name},
        output_required=False,
        description=(
            f"The model's columns of `{table}` exported to an immutable Parquet file named by "
            "its content hash, the data version every model run records. Variants read this "
            "file, never the warehouse, so they train in parallel and can be re-trained "
            "exactly. While fewer labelled days exist than the holdout needs, nothing is "
            "exported and the rest of the ML zone is skipped."
        ),
    )
    def _snapshot(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        tracking: TrackingResource,
    ):
        from medallion.ml.records import SnapshotRecord
        from medallion.ml.snapshot import (
            days_needed,
            export_snapshot,
            labelled_days,
            snapshot_columns,
        )

        started = time.perf_counter()
        with warehouse.get_connection(read_only=True) as con:
            days = labelled_days(con, spec)
            if days < days_needed(spec):
                context.log.warning(
                    f"{table} has {days} labelled day(s); training needs {days_needed(spec)} "
                    f"(holdout_days + gap_days + 1): no snapshot, the ML zone is skipped"
                )
                return
            snapshot = export_snapshot(con, spec, tracking.snapshots())
        record = SnapshotRecord(str(snapshot.path), snapshot.data_version, snapshot.rows)
        yield dg.MaterializeResult(
            metadata=_records(record)
            | {
                "path": dg.MetadataValue.path(str(snapshot.path)),
                "data_version": dg.MetadataValue.text(snapshot.data_version),
                "dagster/row_count": dg.MetadataValue.int(snapshot.rows),
                "labelled_days": dg.MetadataValue.int(days),
                "columns": dg.MetadataValue.text(", ".join(snapshot_columns(spec))),
                "reused": dg.MetadataValue.bool(not snapshot.created),
                "duration_s": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
            },
            data_version=dg.DataVersion(snapshot.data_version),
        )

    return _snapshot


def build_baseline_asset(spec: ProductSpec) -> dg.AssetsDefinition:
    """The bar each variant must clear: the current champion, or a trivial classifier."""
    assert spec.model is not None
    metric = spec.model.primary_metric
    dummy = "DummyRegressor (mean)" if spec.model.is_regression else "DummyClassifier (prior)"

    @dg.asset(
        key=ml_key(spec, "baseline"),
        deps=[ml_key(spec, "snapshot")],
        group_name=GROUP,
        kinds=ML_KINDS,
        tags={"medallion/product": spec.name},
        description=(
            f"The current champion re-scored on this snapshot's holdout (with no champion yet, "
            f"a {dummy}), logged to MLflow like a variant. A variant whose {metric} "
            "is worse fails its accuracy gate. Also creates the product's MLflow "
            "experiment and registered model once, before variants log in parallel."
        ),
    )
    def _baseline(
        context: dg.AssetExecutionContext, tracking: TrackingResource
    ) -> dg.MaterializeResult:
        from medallion.ml.workflow import run_baseline

        started = time.perf_counter()
        path, data_version = _current_snapshot(context, spec)
        baseline = run_baseline(spec, path, data_version, tracking)
        metadata = _records(baseline) | {
            "baseline": dg.MetadataValue.text(baseline.kind),
            "label": dg.MetadataValue.text(baseline.label),
            "data_version": dg.MetadataValue.text(data_version),
            "mlflow_run_id": dg.MetadataValue.text(baseline.run_id),
            **_floats(baseline.metrics),
            "duration_s": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
        }
        if baseline.version:
            metadata["champion_version"] = dg.MetadataValue.text(baseline.version)
        return dg.MaterializeResult(metadata=metadata)

    return _baseline


def _baseline_result(context: dg.AssetExecutionContext, spec: ProductSpec, data_version: str):
    from medallion.ml.records import BaselineResult

    metadata = _latest_metadata(context, ml_key(spec, "baseline"))
    assert metadata is not None
    baseline = BaselineResult.from_metadata(metadata)
    if baseline.data_version != data_version:
        raise dg.Failure(
            description=(
                f"the baseline was scored on data version {baseline.data_version}, the "
                f"snapshot is {data_version}; materialize {spec.name}/ml/baseline first"
            )
        )
    return baseline


def _cell(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _markdown(header: list[str], rows: list[list[object]]) -> str:
    return markdown.table(header, rows, _cell)


def _variant_metadata(result, spec: ProductSpec) -> dict[str, dg.MetadataValue]:
    """What the Dagster UI shows for one trained variant (no row values, so no PII)."""
    assert spec.model is not None
    params = result.params
    sampled = bool(params["sampled"])
    header = list(result.bias.table.columns)
    fairness_rows = [
        ["yes" if value is True else "no" if value is False else value for value in row]
        for row in result.bias.table.itertuples(index=False)
    ]
    threshold = {}
    if result.threshold is not None:
        threshold = {
            "decision_threshold": dg.MetadataValue.float(result.threshold.threshold),
            "threshold_rule": dg.MetadataValue.text(
                f"{result.threshold.rule}: {result.threshold.reason}"
            ),
        }
    return (
        _records(result.record())
        | threshold
        | {
            "model_version": dg.MetadataValue.text(result.model_version),
            "model_uri": dg.MetadataValue.text(result.model_uri),
            "estimator": dg.MetadataValue.text(result.estimator),
            "mlflow_run_id": dg.MetadataValue.text(result.run_id),
            "mlflow_experiment_id": dg.MetadataValue.text(result.experiment_id),
            "data_version": dg.MetadataValue.text(result.data_version),
            "primary_metric": dg.MetadataValue.text(result.primary_metric),
            **_floats(result.metrics),
            "reused": dg.MetadataValue.bool(result.reused),
            "fingerprint": dg.MetadataValue.text(result.fingerprint),
            "gates_passed": dg.MetadataValue.bool(result.passed),
            "gates": dg.MetadataValue.md(
                _markdown(
                    ["gate", "passed", "reason"],
                    [[g.gate, "yes" if g.passed else "NO", g.summary] for g in result.gates],
                )
            ),
            "fairness": dg.MetadataValue.md(_markdown(header, fairness_rows)),
            "train_seconds": dg.MetadataValue.float(round(result.train_seconds, 3)),
            "phase_seconds": dg.MetadataValue.json(
                {phase: round(value, 3) for phase, value in result.phase_seconds.items()}
            ),
            "train_rows": dg.MetadataValue.int(int(params["train_rows"])),
            "holdout_rows": dg.MetadataValue.int(int(params["holdout_rows"])),
            "holdout": dg.MetadataValue.text(
                f"{params['holdout_start']} .. {params['holdout_end']}"
            ),
            "seed": dg.MetadataValue.int(spec.model.seed),
            "sampling": dg.MetadataValue.text(
                f"seeded sample of {params['train_rows']:,} of {params['train_rows_available']:,} "
                f"training rows and {params['holdout_rows']:,} of "
                f"{params['holdout_rows_available']:,} holdout rows (max_train_rows / "
                "max_holdout_rows in the spec)"
                if sampled
                else "all labelled rows (no sampling)"
            ),
        }
    )


def _bias_description(spec: ProductSpec) -> str:
    """What the bias gate demands, in the spec's numbers."""
    assert spec.model is not None
    model, gates = spec.model, spec.model.gates
    groups = ", ".join(model.sensitive) or "no"
    if not model.is_regression:
        return (
            "At the decision threshold chosen on the validation days: demographic parity and "
            f"equalized odds differences at most {gates.bias_max_difference:g} for {groups} "
            f"sensitive attributes (Fairlearn), recall at least {gates.min_recall:g} and lift "
            f"at least {gates.min_lift:g}, so that selecting almost nobody cannot pass."
        )
    limits = [
        f"{label} at most {bound:g}"
        for label, bound in (
            (f"MAE gap ({model.target})", gates.bias_max_mae_difference),
            (f"mean signed error gap ({model.target})", gates.bias_max_mean_error_difference),
            ("worst group's MAE over the best's", gates.bias_max_mae_ratio),
        )
        if bound is not None
    ]
    return f"Between the groups of {groups} sensitive attributes: " + "; ".join(limits) + "."


def _gate_specs(spec: ProductSpec, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The accuracy and bias gates of one variant asset."""
    assert spec.model is not None
    model = spec.model
    better = "at least" if greater_is_better(model.primary_metric) else "at most"
    bound = "minus" if better == "at least" else "plus"
    return [
        dg.AssetCheckSpec(
            GATE_CHECKS["accuracy"],
            asset=key,
            description=(
                f"{model.primary_metric} on the holdout {better} the baseline's (current "
                f"champion, or a dummy model) {bound} {model.gates.accuracy_tolerance:g}."
            ),
        ),
        dg.AssetCheckSpec(GATE_CHECKS["bias"], asset=key, description=_bias_description(spec)),
    ]


def _gate_results(result) -> list[dg.AssetCheckResult]:
    """Each gate of a trained variant as the result of its asset check."""
    return [
        dg.AssetCheckResult(
            check_name=GATE_CHECKS[gate.gate],
            passed=gate.passed,
            description=gate.summary,
            metadata={
                "reason": dg.MetadataValue.text(gate.summary),
                "model_version": dg.MetadataValue.text(result.model_version),
                **_floats(gate.observed),
                **_floats(gate.thresholds, prefix="threshold "),
            },
        )
        for gate in result.gates
    ]


def build_variant_asset(spec: ProductSpec, variant: str) -> dg.AssetsDefinition:
    """One model variant: trained, logged and registered in MLflow, gated by asset checks."""
    assert spec.model is not None
    declared = spec.model.variants[variant]
    key = ml_key(spec, variant)
    check_specs = _gate_specs(spec, key)

    @dg.asset(
        key=key,
        deps=[ml_key(spec, "baseline")],
        group_name=GROUP,
        kinds=ML_KINDS,
        check_specs=check_specs,
        tags={"medallion/product": spec.name, "medallion/estimator": declared.estimator},
        description=(
            f"{declared.description or variant}\n\n"
            f"`{declared.estimator}` with {declared.params or 'default parameters'}, trained on "
            f"the snapshot with the last {spec.model.holdout_days} labelled days held out "
            f"(seed {spec.model.seed}); one MLflow run and one new version of the registered "
            f"model `{spec.name}` (an identical earlier training is reused), gated on "
            "accuracy and bias; responsiveness is timed by the champion step."
        ),
    )
    def _variant(
        context: dg.AssetExecutionContext, tracking: TrackingResource
    ) -> dg.MaterializeResult:
        from medallion.ml.training import make_estimator
        from medallion.ml.workflow import run_variant

        started = time.perf_counter()
        try:
            make_estimator(declared, spec.model.seed)
        except ValueError as error:
            raise dg.Failure(
                description=f"{spec.path}: model.variants.{variant}.params: {error}"
            ) from error
        path, data_version = _current_snapshot(context, spec)
        baseline = _baseline_result(context, spec, data_version)
        result = run_variant(spec, variant, path, data_version, baseline, tracking)
        context.log.info(
            f"{variant}: {result.primary_metric} {result.metrics[result.primary_metric]:.4f}, "
            f"model version {result.model_version}, gates "
            + ("passed" if result.passed else "failed: " + "; ".join(result.failures))
        )
        metadata = _variant_metadata(result, spec)
        metadata["duration_s"] = dg.MetadataValue.float(round(time.perf_counter() - started, 3))
        return dg.MaterializeResult(metadata=metadata, check_results=_gate_results(result))

    return _variant


def _candidate_records(context: dg.AssetExecutionContext, spec: ProductSpec, data_version: str):
    """The records of the variants trained on the current snapshot, and the stale ones."""
    from medallion.ml.records import CandidateRecord

    assert spec.model is not None
    records, stale = [], []
    for name in spec.model.variants:
        metadata = _latest_metadata(context, ml_key(spec, name), required=False)
        record = CandidateRecord.from_metadata(metadata) if metadata else None
        if record is None or record.data_version != data_version:
            stale.append(name)
        else:
            records.append(record)
    return records, stale


def _latency_checks(spec: ProductSpec, outcome) -> list[dg.AssetCheckResult]:
    assert spec.model is not None
    results = []
    for variant in spec.model.variants:
        timing = outcome.timings.get(variant)
        if timing is None:
            continue
        gate = timing.gate
        results.append(
            dg.AssetCheckResult(
                check_name=latency_check(variant),
                passed=gate.passed,
                description=gate.summary,
                metadata={
                    "reason": dg.MetadataValue.text(gate.summary),
                    "model_version": dg.MetadataValue.text(timing.version),
                    **_floats(gate.observed),
                    **_floats(gate.thresholds, prefix="threshold "),
                    **(
                        {"cpu_p95_vs_champion": dg.MetadataValue.float(timing.vs_champion)}
                        if timing.vs_champion is not None
                        else {}
                    ),
                },
            )
        )
    return results


def _promotion_metadata(spec: ProductSpec, outcome, data_version: str, stale: list[str]) -> dict:
    assert spec.model is not None
    result = outcome.result
    decision = result.decision
    rows = [
        [
            c.variant,
            c.version,
            c.score,
            outcome.timings[c.variant].report.cpu_p95_ms,
            outcome.timings[c.variant].report.p95_ms,
            "yes" if c.passed else "no",
            "champion" if c.version == result.champion_version else "challenger",
            "; ".join(c.failures),
        ]
        for c in sorted(outcome.candidates, key=lambda c: c.variant)
    ]
    header = ["variant", "version", spec.model.primary_metric, "CPU p95 ms", "wall p95 ms"]
    metadata = {
        "decision": dg.MetadataValue.text(decision.reason),
        "promoted": dg.MetadataValue.bool(result.changed),
        "champion_version": dg.MetadataValue.text(result.champion_version or "none"),
        "previous_version": dg.MetadataValue.text(result.previous_version or "unchanged"),
        "data_version": dg.MetadataValue.text(data_version),
        "candidates": dg.MetadataValue.md(
            _markdown([*header, "passed", "alias", "failures"], rows)
        ),
        "aliases": dg.MetadataValue.json(result.aliases),
        "model_cards": dg.MetadataValue.md(
            _markdown(
                ["variant", "card (HTML)", "card (Markdown)"],
                [[v, links.html, links.markdown] for v, links in sorted(outcome.cards.items())],
            )
        ),
    }
    for variant, links in outcome.cards.items():
        metadata[f"model_card/{variant}"] = dg.MetadataValue.url(links.html)
    if stale:
        metadata["not_considered"] = dg.MetadataValue.text(
            f"not trained on data version {data_version}: {', '.join(stale)}"
        )
    return metadata


def _latency_specs(spec: ProductSpec, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """One latency check per variant, on the champion asset that times them all."""
    assert spec.model is not None
    gates = spec.model.gates
    return [
        dg.AssetCheckSpec(
            latency_check(variant),
            asset=key,
            description=(
                f"{variant}, loaded back from MLflow and timed after training, one candidate "
                f"after another: p95 CPU time of single-row scoring at most "
                f"{gates.latency_p95_ms:g} ms, {gates.batch_rows:,} rows at most "
                f"{gates.batch_seconds:g} CPU s (wall time reported beside it)."
            ),
        )
        for variant in spec.model.variants
    ]


def build_champion_asset(spec: ProductSpec) -> dg.AssetsDefinition:
    """Promotion: every candidate timed in this one step, then the best variant passing every
    gate becomes the `champion` alias, and every candidate gets its model card."""
    assert spec.model is not None
    model = spec.model
    key = ml_key(spec, "champion")
    latency_specs = _latency_specs(spec, key)

    @dg.asset(
        key=key,
        deps=[ml_key(spec, name) for name in model.variants],
        group_name=GROUP,
        kinds={"mlflow"},
        tags={"medallion/product": spec.name},
        check_specs=[
            dg.AssetCheckSpec(
                PROMOTED_CHECK,
                asset=key,
                description="A variant trained on the current snapshot passed every gate.",
            ),
            *latency_specs,
        ],
        description=(
            f"Promotion in the MLflow registry. First every candidate trained on the current "
            f"snapshot is timed, one after another in this step (the latency gates, judged on "
            f"CPU time so machine load does not decide). Among those passing all gates, the "
            f"best by {model.primary_metric} gets alias `champion`, the champion it replaces "
            "`previous`, the others `challenger-<variant>`; the champion itself, or a model "
            "scoring exactly as it does, leaves the aliases as they are. Every candidate's "
            "model card is logged to its MLflow run and linked here."
        ),
    )
    def _champion(
        context: dg.AssetExecutionContext, tracking: TrackingResource
    ) -> dg.MaterializeResult:
        from medallion.ml.promotion import run_promotion

        path, data_version = _current_snapshot(context, spec)
        records, stale = _candidate_records(context, spec, data_version)
        outcome = run_promotion(spec, path, records, tracking)
        decision = outcome.result.decision
        context.log.info(decision.reason)
        return dg.MaterializeResult(
            metadata=_promotion_metadata(spec, outcome, data_version, stale),
            check_results=[
                dg.AssetCheckResult(
                    check_name=PROMOTED_CHECK,
                    passed=any(c.passed for c in outcome.candidates),
                    severity=dg.AssetCheckSeverity.WARN,
                    description=decision.reason,
                    metadata={"decision": dg.MetadataValue.text(decision.reason)},
                ),
                *_latency_checks(spec, outcome),
            ],
        )

    return _champion
