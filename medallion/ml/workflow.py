"""The ML steps the Dagster assets run: the baseline and one variant (promotion, with the
responsiveness timing of every candidate, is in medallion.ml.promotion).

Each step reads the immutable snapshot, calls the pure modules (training, threshold, metrics,
fairness, gates) and records the outcome in MLflow. They know nothing of Dagster, so tests
and scripts run them directly; medallion.assets.ml turns their results into metadata and
asset check results.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import polars as pl
from mlflow import MlflowClient
from threadpoolctl import threadpool_limits

from medallion.ml import links, registry
from medallion.ml.bias import BiasEvaluation, evaluate_bias
from medallion.ml.card import write_card
from medallion.ml.decision import DecisionModel
from medallion.ml.gates import GateOutcome, accuracy_gate, verdict
from medallion.ml.loading import load_sklearn
from medallion.ml.metrics import (
    GroupMetrics,
    bootstrap_intervals,
    group_metric_values,
    holdout_metrics,
    interval_metric_values,
    per_group_metrics,
)
from medallion.ml.records import BaselineResult, CandidateRecord
from medallion.ml.snapshot import snapshot_columns
from medallion.ml.threshold import ThresholdChoice, choose_threshold
from medallion.ml.training import (
    Split,
    Validation,
    build_pipeline,
    carve_validation,
    feature_kinds,
    predict_scores,
    time_split,
    to_features,
    to_target,
)
from medallion.resources.tracking import TrackingResource
from medallion.spec import ModelSpec, ProductSpec
from medallion.timing import timed

ROLE_BASELINE, ROLE_VARIANT = "baseline", "variant"
INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Prepared:
    """A snapshot split and turned into model inputs.

    `x_train` are the rows the model learns from: for a classifier, the training window
    before its validation days (`x_validation`, where the decision threshold is chosen).
    """

    split: Split
    validation: Validation
    numeric: list[str]
    categorical: list[str]
    x_train: pd.DataFrame
    y_train: np.ndarray
    x_validation: pd.DataFrame
    y_validation: np.ndarray
    x_holdout: pd.DataFrame
    y_holdout: np.ndarray
    sensitive: dict[str, np.ndarray]


def prepare(spec: ProductSpec, snapshot: Path) -> Prepared:
    """Read a snapshot, split it by time and build the training, validation and holdout
    inputs."""
    model = _model(spec)
    rows = pl.scan_parquet(snapshot).select(snapshot_columns(spec))
    split = time_split(rows, model)
    validation = carve_validation(split.train, model)
    numeric, categorical = feature_kinds(split.train, model)

    def features(frame: pl.DataFrame) -> pd.DataFrame:
        return to_features(frame, model.features, categorical)

    return Prepared(
        split=split,
        validation=validation,
        numeric=numeric,
        categorical=categorical,
        x_train=features(validation.fit),
        y_train=to_target(validation.fit, model),
        x_validation=features(validation.validation),
        y_validation=to_target(validation.validation, model),
        x_holdout=features(split.holdout),
        y_holdout=to_target(split.holdout, model),
        sensitive={name: split.holdout[name].to_numpy() for name in model.sensitive},
    )


def retrain(spec: ProductSpec, variant: str, snapshot: Path):
    """Fit one variant on a snapshot, as its asset does: same split, same seed, same model."""
    model = _model(spec)
    data = prepare(spec, snapshot)
    pipeline = build_pipeline(model.variants[variant], data.numeric, data.categorical, model.seed)
    with threadpool_limits(limits=model.threads):
        pipeline.fit(data.x_train, data.y_train)
    return pipeline, data


def _model(spec: ProductSpec) -> ModelSpec:
    if spec.model is None:
        raise ValueError(f"product {spec.name!r} declares no model")
    return spec.model


def gold_version_tags(spec: ProductSpec) -> dict[str, str]:
    """Which gold table, and which version of which gold product, a run learned from; the
    MLflow UI groups and compares runs by these across data product versions."""
    model = _model(spec)
    gold = spec.gold[model.table]
    return {
        "gold_table": spec.table("gold", model.table),
        "gold_product": gold.version_of or model.table,
        "gold_version": model.table,
    }


def _common_tags(spec: ProductSpec, data_version: str, role: str) -> dict[str, str]:
    model = _model(spec)
    return (
        gold_version_tags(spec)
        | {
            "product": spec.name,
            "task": model.task,
            "role": role,
            "data_version": data_version,
            "code_version": registry.code_version(),
            "spec_hash": registry.spec_hash(spec),
            "seed": str(model.seed),
        }
        | registry.git_tags()
    )


def _split_params(spec: ProductSpec, data: Prepared) -> dict[str, object]:
    model = _model(spec)
    split = data.split
    return {
        "table": spec.table("gold", model.table),
        "task": model.task,
        "target": model.target,
        "features": ",".join(model.features),
        "sensitive": ",".join(model.sensitive),
        "seed": model.seed,
        "threads": model.threads,
        "holdout_days": model.holdout_days,
        "gap_days": model.gap_days,
        "train_start": _first_day(split.train, model.time_column),
        "train_end": split.train_end.isoformat(),
        **_validation_params(model, data.validation),
        "holdout_start": split.holdout_start.isoformat(),
        "holdout_end": split.holdout_end.isoformat(),
        "train_rows": split.train.height,
        "train_rows_available": split.train_rows_available,
        "holdout_rows": split.holdout.height,
        "holdout_rows_available": split.holdout_rows_available,
        "sampled": split.sampled,
    }


def _first_day(frame: pl.DataFrame, column: str) -> str:
    return "" if frame.is_empty() else str(frame[column].cast(pl.Date).min())


def _validation_params(model: ModelSpec, validation: Validation) -> dict[str, object]:
    """Where a classifier's threshold was chosen; nothing for regression."""
    if model.is_regression:
        return {}
    return {
        "threshold_rule_declared": model.threshold_rule,
        "validation_days": model.validation_days,
        "validation_start": validation.start.isoformat() if validation.start else "",
        "validation_end": validation.end.isoformat() if validation.end else "",
        "validation_rows": validation.validation.height,
        "fit_rows": validation.fit.height,
    }


def _log_inputs(spec: ProductSpec, data: Prepared, snapshot: Path, data_version: str) -> None:
    """The snapshot's training and holdout rows as the run's datasets (schema and counts only).

    Dates are shown as datetimes (MLflow's schema has no date type) and MLflow's warning that
    a local path matches two identical source types is silenced.
    """
    from mlflow.data import from_polars

    model = _model(spec)
    for context, frame in (("training", data.split.train), ("evaluation", data.split.holdout)):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The specified dataset source")
            dataset = from_polars(
                frame.with_columns(pl.col(pl.Date).cast(pl.Datetime("us"))),
                source=str(snapshot),
                targets=model.target,
                name=f"{spec.name}.{model.table}.{context}",
                digest=data_version,
            )
        mlflow.log_input(dataset, context=context)


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None and not math.isnan(v)}


def scores_digest(scores: np.ndarray) -> str:
    """A digest of holdout scores, rounded past float noise: two models with the same digest
    decide every holdout row alike."""
    rounded = np.round(np.asarray(scores, dtype=np.float64), 9) + 0.0
    return hashlib.sha256(rounded.tobytes()).hexdigest()[:16]


def _threshold_of(client: MlflowClient, run_id: str, model: ModelSpec) -> ThresholdChoice | None:
    """The decision threshold a run recorded (None for regression)."""
    if model.is_regression:
        return None
    assert model.decision_threshold is not None
    return ThresholdChoice.from_params(client.get_run(run_id).data.params, model.decision_threshold)


def run_baseline(
    spec: ProductSpec, snapshot: Path, data_version: str, tracking: TrackingResource
) -> BaselineResult:
    """Create the experiment and registered model once, then score the baseline on the holdout.

    The baseline is the current champion, loaded from the registry and scored on this
    snapshot's holdout at its recorded threshold; with no champion yet, a dummy model trained
    on the training rows (the class prior, or the mean of the target). Either is logged as a
    run with the same metric names.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    model = _model(spec)
    client = tracking.activate()
    experiment_id = registry.product_experiment(client, spec, tracking.artifact_location(spec.name))
    name = registry.registered_model_name(spec)
    registry.ensure_registered_model(client, name, spec.description)
    data = prepare(spec, snapshot)
    champion = registry.version_by_alias(client, name, registry.CHAMPION)
    version, threshold = None, model.decision_threshold
    with threadpool_limits(limits=model.threads):
        if champion is None:
            kind = "dummy"
            if model.is_regression:
                label, dummy = "DummyRegressor(mean)", DummyRegressor(strategy="mean")
            else:
                label, dummy = "DummyClassifier(prior)", DummyClassifier(strategy="prior")
            dummy.fit(data.x_train, data.y_train)
            scores = predict_scores(dummy, data.x_holdout)
        else:
            version = str(champion.version)
            label = f"champion v{version} ({champion.tags.get('variant', '?')})"
            choice = _threshold_of(client, champion.run_id, model)
            threshold = choice.threshold if choice else None
            scores = _champion_scores(name, version, data)
            kind = "champion" if scores is not None else "unavailable"
            if scores is None:
                label += " cannot score this snapshot"
    if scores is None:
        metrics = dict.fromkeys(model.metrics, math.nan)
        groups: list[GroupMetrics] = []
    else:
        metrics = holdout_metrics(model.task, data.y_holdout, scores, threshold)
        groups = per_group_metrics(model.task, data.y_holdout, scores, data.sensitive, threshold)
    tags = _common_tags(spec, data_version, ROLE_BASELINE) | {"baseline": kind, "label": label}
    if version:
        tags["champion_version"] = version
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"baseline-{data_version[:8]}", tags=tags
    ) as run:
        mlflow.log_params(_split_params(spec, data) | {"estimator": kind})
        _log_inputs(spec, data, snapshot, data_version)
        mlflow.log_metrics(
            _finite(metrics) | group_metric_values(groups, model.gates.bias_min_group_size)
        )
    digest = scores_digest(scores) if kind == "champion" and scores is not None else None
    return BaselineResult(kind, label, data_version, run.info.run_id, metrics, version, digest)


def _champion_scores(name: str, version: str, data: Prepared) -> np.ndarray | None:
    """The champion's scores on the holdout, or None if it needs columns the snapshot lacks."""
    champion = load_sklearn(f"models:/{name}/{version}")
    wanted = list(getattr(champion, "feature_names_in_", data.x_holdout.columns))
    if not set(wanted) <= set(data.x_holdout.columns):
        return None
    return predict_scores(champion, data.x_holdout[wanted])


def training_fingerprint(spec: ProductSpec, variant: str, data_version: str) -> str:
    """What decides the fitted model: the data version, the code version, the model spec
    (columns, split, seed, threshold rule) and this variant's estimator and parameters.
    Gates, descriptions and the other variants are left out: changing a gate re-judges the
    same model rather than training a copy of it."""
    model = _model(spec)
    document = {
        "data_version": data_version,
        "code_version": registry.code_version(),
        "model": model.model_dump(mode="json", exclude={"gates", "variants", "intended_use"}),
        "variant": variant,
        "estimator": model.variants[variant].model_dump(mode="json", exclude={"description"}),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class VariantResult:
    """One trained (or reused), logged, registered and gated variant."""

    variant: str
    estimator: str
    data_version: str
    run_id: str
    experiment_id: str
    model_version: str
    model_uri: str
    primary_metric: str
    metrics: dict[str, float]
    groups: list[GroupMetrics]
    bias: BiasEvaluation
    """Per-group rates (classification) or errors (regression) behind the bias gate."""
    gates: list[GateOutcome]
    params: dict[str, object]
    train_seconds: float
    phase_seconds: dict[str, float]
    threshold: ThresholdChoice | None = None
    fingerprint: str = ""
    reused: bool = False
    """True when a version with the same fingerprint existed: nothing was trained or added."""
    identical_to_champion: bool = False
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failures(self) -> list[str]:
        return [f"{g.gate}: {g.summary}" for g in self.gates if not g.passed]

    def record(self) -> CandidateRecord:
        """What the promotion step needs of this variant."""
        return CandidateRecord(
            variant=self.variant,
            version=self.model_version,
            run_id=self.run_id,
            data_version=self.data_version,
            score=float(self.metrics.get(self.primary_metric, math.nan)),
            gates=tuple(self.gates),
            reused=self.reused,
            identical_to_champion=self.identical_to_champion,
            decision_threshold=self.threshold.threshold if self.threshold else None,
            fingerprint=self.fingerprint,
        )


@dataclass(frozen=True)
class _Evaluation:
    metrics: dict[str, float]
    groups: list[GroupMetrics]
    bias: BiasEvaluation
    gates: list[GateOutcome]
    identical_to_champion: bool


def _evaluate(
    spec: ProductSpec,
    data: Prepared,
    scores: np.ndarray,
    threshold: ThresholdChoice | None,
    baseline: BaselineResult,
) -> _Evaluation:
    """Holdout metrics, per group and overall, at the model's threshold, and the accuracy and
    bias gates."""
    model = _model(spec)
    cut = threshold.threshold if threshold else None
    metrics = holdout_metrics(model.task, data.y_holdout, scores, cut)
    groups = per_group_metrics(model.task, data.y_holdout, scores, data.sensitive, cut)
    bias = evaluate_bias(model, data.y_holdout, scores, data.sensitive, cut)
    accuracy = accuracy_gate(
        model.primary_metric,
        metrics[model.primary_metric],
        baseline.metrics[model.primary_metric],
        baseline.label,
        model.gates.accuracy_tolerance,
    )
    identical = baseline.scores_digest is not None and baseline.scores_digest == scores_digest(
        scores
    )
    return _Evaluation(metrics, groups, bias, [accuracy, bias.gate], identical)


def run_variant(
    spec: ProductSpec,
    variant: str,
    snapshot: Path,
    data_version: str,
    baseline: BaselineResult,
    tracking: TrackingResource,
) -> VariantResult:
    """Train one variant on the snapshot, log and register it, and pass it through the
    accuracy and bias gates (responsiveness is timed later, all candidates in one step).

    When a version with the same training fingerprint exists, that version is reused: loaded,
    re-scored and re-gated against this baseline, nothing trained or registered.
    """
    model = _model(spec)
    client = tracking.activate()
    experiment_id = registry.product_experiment(client, spec, tracking.artifact_location(spec.name))
    phases: dict[str, float] = {}
    with timed(phases, "prepare"):
        data = prepare(spec, snapshot)
    fingerprint = training_fingerprint(spec, variant, data_version)
    name = registry.registered_model_name(spec)
    existing = registry.version_by_fingerprint(client, name, fingerprint)
    context = _VariantContext(
        spec, variant, snapshot, data_version, baseline, client, experiment_id, data, fingerprint
    )
    with threadpool_limits(limits=model.threads):
        if existing is not None:
            result = _reuse(context, existing, phases)
        else:
            result = _train_log_and_gate(context, phases)
    # Every registered version carries its card from the start; the champion step rewrites
    # it with the latency verdict and the promotion's outcome.
    pending = "pending: the champion step times every candidate and decides the promotion"
    write_card(client, spec, result.record(), result.gates, "none yet", pending)
    return result


@dataclass(frozen=True)
class _VariantContext:
    spec: ProductSpec
    variant: str
    snapshot: Path
    data_version: str
    baseline: BaselineResult
    client: MlflowClient
    experiment_id: str
    data: Prepared
    fingerprint: str


def _choose(context: _VariantContext, pipeline) -> ThresholdChoice | None:
    model = _model(context.spec)
    if model.is_regression:
        return None
    assert model.threshold_rule is not None and model.decision_threshold is not None
    data = context.data
    validation_scores = (
        predict_scores(pipeline, data.x_validation) if len(data.x_validation) else np.empty(0)
    )
    return choose_threshold(
        model.threshold_rule,
        data.y_validation,
        validation_scores,
        fixed=model.decision_threshold,
        training_positive_rate=float(np.mean(data.y_train)) if len(data.y_train) else 0.0,
    )


def _train_log_and_gate(context: _VariantContext, phases: dict[str, float]) -> VariantResult:
    spec, data, variant = context.spec, context.data, context.variant
    model = _model(spec)
    spec_variant = model.variants[variant]
    pipeline = build_pipeline(spec_variant, data.numeric, data.categorical, model.seed)
    with timed(phases, "fit"):
        pipeline.fit(data.x_train, data.y_train)
    with timed(phases, "evaluate"):
        threshold = _choose(context, pipeline)
        scores = predict_scores(pipeline, data.x_holdout)
        evaluation = _evaluate(spec, data, scores, threshold, context.baseline)
        intervals = bootstrap_intervals(
            model.task,
            data.y_holdout,
            scores,
            threshold.threshold if threshold else None,
            resamples=model.bootstrap_resamples,
            seed=model.seed,
        )
    params = (
        _split_params(spec, data)
        | {"variant": variant, "estimator": spec_variant.estimator}
        | {f"param.{k}": v for k, v in spec_variant.params.items()}
        | (threshold.to_params() if threshold else {})
    )
    logged = DecisionModel(pipeline, threshold.threshold) if threshold else pipeline
    run_id, version = _log_run(context, params, evaluation, intervals, logged, phases)
    return VariantResult(
        variant=variant,
        estimator=spec_variant.estimator,
        data_version=context.data_version,
        run_id=run_id,
        experiment_id=context.experiment_id,
        model_version=version,
        model_uri=f"models:/{registry.registered_model_name(spec)}/{version}",
        primary_metric=model.primary_metric,
        metrics=evaluation.metrics,
        groups=evaluation.groups,
        bias=evaluation.bias,
        gates=evaluation.gates,
        params=params,
        train_seconds=phases["fit"],
        phase_seconds=dict(phases),
        threshold=threshold,
        fingerprint=context.fingerprint,
        identical_to_champion=evaluation.identical_to_champion,
        intervals=intervals,
    )


def _log_run(
    context: _VariantContext,
    params: dict[str, object],
    evaluation: _Evaluation,
    intervals: dict[str, tuple[float, float]],
    logged,
    phases: dict[str, float],
) -> tuple[str, str]:
    """One MLflow run: params and tags in one batched write, the datasets, the fairness
    table and chart, the model as a new registered version, then the metrics in one write,
    as the run's and the logged model's (logged before the model, MLflow would read each
    metric's history back to link it). Returns the run id and the version."""
    spec, data, variant = context.spec, context.data, context.variant
    model = _model(spec)
    name = registry.registered_model_name(spec)
    tags = _common_tags(spec, context.data_version, ROLE_VARIANT) | {
        "variant": variant,
        "estimator": model.variants[variant].estimator,
        "baseline": context.baseline.label,
        registry.FINGERPRINT: context.fingerprint,
    }
    metrics = (
        _finite(evaluation.metrics)
        | group_metric_values(evaluation.groups, model.gates.bias_min_group_size)
        | evaluation.bias.metric_values
        | interval_metric_values(intervals)
        | {"train_seconds": phases["fit"]}
    )
    with (
        mlflow.start_run(
            experiment_id=context.experiment_id,
            run_name=f"{variant}-{context.data_version[:8]}",
            tags=tags,
        ) as run,
        timed(phases, "mlflow_total"),
    ):
        run_id = run.info.run_id
        gates = _gate_tags(evaluation.gates)
        with timed(phases, "log_run"):
            registry.log_batch(context.client, run_id, {}, params, gates)
            _log_inputs(spec, data, context.snapshot, context.data_version)
            _log_artifacts(spec, variant, evaluation)
        model_id = None
        try:
            with timed(phases, "log_model"):
                identity = {"variant": variant, "data_version": context.data_version}
                identity |= gold_version_tags(spec) | {registry.FINGERPRINT: context.fingerprint}
                example = data.x_holdout.head(INPUT_EXAMPLE_ROWS)
                version, model_id = registry.log_and_register(
                    logged, model.variants[variant].estimator, example, name, gates | identity
                )
        finally:  # a run whose model failed to log keeps its metrics
            gate_metrics = {f"gate/{g.gate}": float(g.passed) for g in evaluation.gates}
            registry.log_batch(context.client, run_id, metrics | gate_metrics, {}, {}, model_id)
    context.client.log_batch(
        run_id,
        metrics=_metric_entities({f"seconds/{phase}": v for phase, v in phases.items()}),
    )
    return run_id, version


def _log_artifacts(spec: ProductSpec, variant: str, evaluation: _Evaluation) -> None:
    """The fairness table and chart, and the gate outcomes so far, in one artifact write."""
    bias = evaluation.bias
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "fairness").mkdir()
        (folder / "gates").mkdir()
        bias.table.to_csv(folder / "fairness" / "by_group.csv", index=False)
        bias.chart(
            folder / "fairness" / "by_group.png",
            f"{spec.name} {variant}: {bias.what} per group on the holdout",
        )
        names = "-".join(g.gate for g in evaluation.gates)
        (folder / "gates" / f"{names}.json").write_text(
            json.dumps(_gates_document(evaluation.gates), default=float), encoding="utf-8"
        )
        mlflow.log_artifacts(scratch)


def _gate_tags(gates: list[GateOutcome]) -> dict[str, str]:
    """Each gate's outcome and reason, and the verdict shown in the runs table (latency is
    judged by the champion step)."""
    tags = {links.GATES_TAG: verdict(gates, pending=("latency",))}
    for gate in gates:
        tags[f"gate.{gate.gate}"] = "passed" if gate.passed else "failed"
        tags[f"gate.{gate.gate}.reason"] = gate.summary[:5000]
    return tags


def _metric_entities(values: dict[str, float]):
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(key, float(value), now, 0) for key, value in _finite(values).items()]


def _reuse(context: _VariantContext, existing, phases: dict[str, float]) -> VariantResult:
    """The version trained earlier from the same fingerprint, re-scored (deterministic) and
    re-gated against this baseline; its gate tags are updated, nothing is registered."""
    spec, data, client = context.spec, context.data, context.client
    model = _model(spec)
    name = registry.registered_model_name(spec)
    version = str(existing.version)
    with timed(phases, "load"):
        loaded = load_sklearn(f"models:/{name}/{version}")
    run = client.get_run(existing.run_id)
    with timed(phases, "evaluate"):
        threshold = _threshold_of(client, existing.run_id, model)
        scores = predict_scores(loaded, data.x_holdout)
        evaluation = _evaluate(spec, data, scores, threshold, context.baseline)
    identity = {"variant": context.variant, "data_version": context.data_version}
    _record_gates(client, name, version, existing.run_id, identity, evaluation.gates)
    return VariantResult(
        variant=context.variant,
        estimator=model.variants[context.variant].estimator,
        data_version=context.data_version,
        run_id=existing.run_id,
        experiment_id=run.info.experiment_id,
        model_version=version,
        model_uri=f"models:/{name}/{version}",
        primary_metric=model.primary_metric,
        metrics=evaluation.metrics,
        groups=evaluation.groups,
        bias=evaluation.bias,
        gates=evaluation.gates,
        params=_split_params(spec, data)
        | {"variant": context.variant, "estimator": model.variants[context.variant].estimator}
        | {f"param.{k}": v for k, v in model.variants[context.variant].params.items()}
        | (threshold.to_params() if threshold else {}),
        train_seconds=0.0,
        phase_seconds=dict(phases),
        threshold=threshold,
        fingerprint=context.fingerprint,
        reused=True,
        identical_to_champion=evaluation.identical_to_champion,
    )


def _record_gates(
    client: MlflowClient,
    name: str,
    version: str,
    run_id: str,
    identity: dict[str, str],
    gates: list[GateOutcome],
) -> None:
    """Gate outcomes as tags and metrics of the run (one batched write) and as tags of the
    model version, with its identity (variant, data version, gold version, fingerprint)."""
    tags = _gate_tags(gates)
    registry.log_batch(client, run_id, {f"gate/{g.gate}": float(g.passed) for g in gates}, {}, tags)
    client.log_dict(run_id, _gates_document(gates), f"gates/{'-'.join(g.gate for g in gates)}.json")
    for key, value in (tags | identity).items():
        client.set_model_version_tag(name, version, key, value)


def _gates_document(gates: list[GateOutcome]) -> dict[str, dict]:
    return {
        g.gate: {
            "passed": g.passed,
            "summary": g.summary,
            "observed": g.observed,
            "thresholds": g.thresholds,
        }
        for g in gates
    }
