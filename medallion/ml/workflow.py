"""The ML steps the Dagster assets run: baseline, one variant, promotion.

Each step reads the immutable snapshot, calls the pure modules (training, metrics, fairness,
gates, latency) and records the outcome in MLflow. They know nothing of Dagster, so tests
and scripts run them directly; medallion.assets.ml turns their results into metadata and
asset check results.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import polars as pl
from mlflow import MlflowClient
from threadpoolctl import threadpool_limits

from medallion.ml import registry
from medallion.ml.bias import BiasEvaluation, evaluate_bias
from medallion.ml.gates import (
    Candidate,
    GateOutcome,
    Promotion,
    accuracy_gate,
    choose_champion,
    latency_gate,
)
from medallion.ml.latency import LatencyReport, measure_latency
from medallion.ml.metrics import (
    GroupMetrics,
    group_metric_values,
    holdout_metrics,
    per_group_metrics,
)
from medallion.ml.snapshot import snapshot_columns
from medallion.ml.training import (
    Split,
    build_pipeline,
    feature_kinds,
    predict_scores,
    time_split,
    to_features,
    to_target,
)
from medallion.resources.tracking import TrackingResource
from medallion.spec import ModelSpec, ProductSpec

ROLE_BASELINE, ROLE_VARIANT = "baseline", "variant"
INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Prepared:
    """A snapshot split and turned into model inputs."""

    split: Split
    numeric: list[str]
    categorical: list[str]
    x_train: pd.DataFrame
    y_train: np.ndarray
    x_holdout: pd.DataFrame
    y_holdout: np.ndarray
    sensitive: dict[str, np.ndarray]


def prepare(spec: ProductSpec, snapshot: Path) -> Prepared:
    """Read a snapshot, split it by time and build the training and holdout inputs."""
    model = _model(spec)
    rows = pl.scan_parquet(snapshot).select(snapshot_columns(spec))
    split = time_split(rows, model)
    numeric, categorical = feature_kinds(split.train, model)
    return Prepared(
        split=split,
        numeric=numeric,
        categorical=categorical,
        x_train=to_features(split.train, model.features, categorical),
        y_train=to_target(split.train, model),
        x_holdout=to_features(split.holdout, model.features, categorical),
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
    return gold_version_tags(spec) | {
        "product": spec.name,
        "task": model.task,
        "role": role,
        "data_version": data_version,
        "code_version": registry.code_version(),
        "spec_hash": registry.spec_hash(spec),
        "seed": str(model.seed),
    }


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
        **({} if model.is_regression else {"decision_threshold": model.decision_threshold}),
        "train_end": split.train_end.isoformat(),
        "holdout_start": split.holdout_start.isoformat(),
        "holdout_end": split.holdout_end.isoformat(),
        "train_rows": split.train.height,
        "train_rows_available": split.train_rows_available,
        "holdout_rows": split.holdout.height,
        "holdout_rows_available": split.holdout_rows_available,
        "sampled": split.sampled,
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


@contextmanager
def _timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Record the seconds a block takes under `name`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = time.perf_counter() - started


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None and not math.isnan(v)}


@dataclass(frozen=True)
class BaselineResult:
    """What each variant must at least match on this holdout."""

    kind: str
    """'champion' (the current champion re-scored), 'dummy' (no champion yet) or
    'unavailable' (the champion cannot score this snapshot; nothing can be promoted)."""
    label: str
    data_version: str
    run_id: str
    metrics: dict[str, float]
    version: str | None = None


def run_baseline(
    spec: ProductSpec, snapshot: Path, data_version: str, tracking: TrackingResource
) -> BaselineResult:
    """Create the experiment and registered model once, then score the baseline on the holdout.

    The baseline is the current champion, loaded from the registry and scored on this
    snapshot's holdout; with no champion yet, a dummy model trained on the training rows (the
    class prior, or the mean of the target). Either is logged as a run with the same metric
    names as the variants.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    model = _model(spec)
    client = tracking.activate()
    experiment_id = registry.ensure_experiment(
        client, registry.experiment_name(spec), tracking.artifact_location(spec.name)
    )
    name = registry.registered_model_name(spec)
    registry.ensure_registered_model(client, name, spec.description)
    data = prepare(spec, snapshot)
    champion = registry.version_by_alias(client, name, registry.CHAMPION)
    version = None
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
            scores = _champion_scores(name, version, data)
            kind = "champion" if scores is not None else "unavailable"
            if scores is None:
                label += " cannot score this snapshot"
    if scores is None:
        metrics = dict.fromkeys(model.metrics, math.nan)
        groups: list[GroupMetrics] = []
    else:
        threshold = model.decision_threshold
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
    return BaselineResult(kind, label, data_version, run.info.run_id, metrics, version)


def _champion_scores(name: str, version: str, data: Prepared) -> np.ndarray | None:
    """The champion's scores on the holdout, or None if it needs columns the snapshot lacks."""
    import mlflow.sklearn

    champion = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    wanted = list(getattr(champion, "feature_names_in_", data.x_holdout.columns))
    if not set(wanted) <= set(data.x_holdout.columns):
        return None
    return predict_scores(champion, data.x_holdout[wanted])


@dataclass(frozen=True)
class VariantResult:
    """One trained, logged, registered and gated variant."""

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
    latency: LatencyReport
    gates: list[GateOutcome]
    params: dict[str, object]
    train_seconds: float
    phase_seconds: dict[str, float]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failures(self) -> list[str]:
        return [f"{g.gate}: {g.summary}" for g in self.gates if not g.passed]


def run_variant(
    spec: ProductSpec,
    variant: str,
    snapshot: Path,
    data_version: str,
    baseline: BaselineResult,
    tracking: TrackingResource,
) -> VariantResult:
    """Train one variant on the snapshot, log and register it, and pass it through the gates.

    Steps: fit on the training days; score the holdout (metrics overall and per group,
    fairness); log the run with params, tags, datasets, metrics and the fairness table and
    chart; log the model (signature, input example) as a new registered version; load that
    version back as pyfunc and time it; decide the three gates and record them on the run
    and on the model version.
    """
    model = _model(spec)
    client = tracking.activate()
    experiment_id = registry.ensure_experiment(
        client, registry.experiment_name(spec), tracking.artifact_location(spec.name)
    )
    phases: dict[str, float] = {}
    with _timed(phases, "prepare"):
        data = prepare(spec, snapshot)
    with threadpool_limits(limits=model.threads):
        return _train_log_and_gate(
            spec, variant, snapshot, data_version, baseline, client, experiment_id, data, phases
        )


def _train_log_and_gate(
    spec: ProductSpec,
    variant: str,
    snapshot: Path,
    data_version: str,
    baseline: BaselineResult,
    client: MlflowClient,
    experiment_id: str,
    data: Prepared,
    phases: dict[str, float],
) -> VariantResult:
    model = _model(spec)
    spec_variant = model.variants[variant]
    gates_spec = model.gates
    name = registry.registered_model_name(spec)
    pipeline = build_pipeline(spec_variant, data.numeric, data.categorical, model.seed)
    with _timed(phases, "fit"):
        pipeline.fit(data.x_train, data.y_train)
    with _timed(phases, "evaluate"):
        scores = predict_scores(pipeline, data.x_holdout)
        threshold = model.decision_threshold
        metrics = holdout_metrics(model.task, data.y_holdout, scores, threshold)
        groups = per_group_metrics(model.task, data.y_holdout, scores, data.sensitive, threshold)
        bias = evaluate_bias(model, data.y_holdout, scores, data.sensitive)
    params = (
        _split_params(spec, data)
        | {"variant": variant, "estimator": spec_variant.estimator}
        | {f"param.{k}": v for k, v in spec_variant.params.items()}
    )
    tags = _common_tags(spec, data_version, ROLE_VARIANT) | {
        "variant": variant,
        "estimator": spec_variant.estimator,
        "baseline": baseline.label,
    }
    with (
        mlflow.start_run(
            experiment_id=experiment_id, run_name=f"{variant}-{data_version[:8]}", tags=tags
        ) as run,
        _timed(phases, "mlflow_total"),
    ):
        with _timed(phases, "log_run"):
            mlflow.log_params(params)
            _log_inputs(spec, data, snapshot, data_version)
            mlflow.log_metrics(
                _finite(metrics)
                | group_metric_values(groups, gates_spec.bias_min_group_size)
                | bias.metric_values
                | {"train_seconds": phases["fit"]}
            )
            with tempfile.TemporaryDirectory() as scratch:
                bias.table.to_csv(Path(scratch) / "by_group.csv", index=False)
                bias.chart(
                    Path(scratch) / "by_group.png",
                    f"{spec.name} {variant}: {bias.what} per group on the holdout",
                )
                mlflow.log_artifacts(scratch, artifact_path="fairness")
        with _timed(phases, "log_model"):
            example = data.x_holdout.head(INPUT_EXAMPLE_ROWS)
            info = registry.log_sklearn_model(pipeline, spec_variant.estimator, example, name)
            version = str(info.registered_model_version)
            model_uri = f"models:/{name}/{version}"
        with _timed(phases, "load"):
            loaded = mlflow.pyfunc.load_model(model_uri)
        with _timed(phases, "latency"):
            latency = measure_latency(
                loaded.predict,
                data.x_holdout,
                samples=gates_spec.latency_samples,
                batch_rows=gates_spec.batch_rows,
                seed=model.seed,
                rounds=gates_spec.latency_rounds,
                p95_budget_ms=gates_spec.latency_p95_ms,
                batch_budget_s=gates_spec.batch_seconds,
            )
        gates = [
            accuracy_gate(
                model.primary_metric,
                metrics[model.primary_metric],
                baseline.metrics[model.primary_metric],
                baseline.label,
                gates_spec.accuracy_tolerance,
            ),
            bias.gate,
            latency_gate(latency, gates_spec),
        ]
        with _timed(phases, "record"):
            identity = {"variant": variant, "data_version": data_version}
            identity |= gold_version_tags(spec)
            _record_gates(client, name, version, identity, gates, latency)
    mlflow.log_metrics(
        {f"seconds/{phase}": value for phase, value in phases.items()}, run_id=run.info.run_id
    )
    return VariantResult(
        variant=variant,
        estimator=spec_variant.estimator,
        data_version=data_version,
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        model_version=version,
        model_uri=model_uri,
        primary_metric=model.primary_metric,
        metrics=metrics,
        groups=groups,
        bias=bias,
        latency=latency,
        gates=gates,
        params=params,
        train_seconds=phases["fit"],
        phase_seconds=dict(phases),
    )


def _record_gates(
    client: MlflowClient,
    name: str,
    version: str,
    identity: dict[str, str],
    gates: list[GateOutcome],
    latency: LatencyReport,
) -> None:
    """Gate outcomes as tags and metrics of the active run, and tags of the model version:
    the outcomes and its identity (variant, data version, gold version)."""
    passed = all(g.passed for g in gates)
    tags = {"gates": "passed" if passed else "failed"}
    for gate in gates:
        tags[f"gate.{gate.gate}"] = "passed" if gate.passed else "failed"
        tags[f"gate.{gate.gate}.reason"] = gate.summary
    mlflow.set_tags(tags)
    mlflow.log_metrics(latency.as_metrics() | {f"gate/{g.gate}": float(g.passed) for g in gates})
    mlflow.log_dict(
        {
            g.gate: {
                "passed": g.passed,
                "summary": g.summary,
                "observed": g.observed,
                "thresholds": g.thresholds,
            }
            for g in gates
        },
        "gates.json",
    )
    for key, value in (tags | identity).items():
        client.set_model_version_tag(name, version, key, value)


@dataclass(frozen=True)
class PromotionResult:
    """The decision and the aliases it left."""

    decision: Promotion
    champion_version: str | None
    previous_version: str | None
    changed: bool
    aliases: dict[str, str]
    """Alias -> version, as set by this promotion."""


def promote(
    spec: ProductSpec, candidates: list[Candidate], tracking: TrackingResource
) -> PromotionResult:
    """Give `champion` to the best candidate passing every gate, `previous` to the champion it
    replaces and `challenger-<variant>` to the others; with none passing, keep the champion."""
    model = _model(spec)
    client = tracking.activate()
    name = registry.registered_model_name(spec)
    decision = choose_champion(candidates, model.primary_metric)
    before = registry.version_by_alias(client, name, registry.CHAMPION)
    before_version = str(before.version) if before else None
    aliases: dict[str, str] = {}
    champion_version, previous_version = before_version, None
    if decision.champion is not None:
        champion_version = decision.champion.version
        if before_version and before_version != champion_version:
            registry.set_alias(client, name, registry.PREVIOUS, before_version)
            previous_version = aliases[registry.PREVIOUS] = before_version
        registry.set_alias(client, name, registry.CHAMPION, champion_version)
        aliases[registry.CHAMPION] = champion_version
        registry.delete_alias(client, name, registry.challenger_alias(decision.champion.variant))
    for challenger in decision.challengers:
        alias = registry.challenger_alias(challenger.variant)
        registry.set_alias(client, name, alias, challenger.version)
        aliases[alias] = challenger.version
    client.set_registered_model_tag(name, "last_promotion", decision.reason[:4000])
    return PromotionResult(
        decision=decision,
        champion_version=champion_version,
        previous_version=previous_version,
        changed=decision.champion is not None and champion_version != before_version,
        aliases=aliases,
    )
