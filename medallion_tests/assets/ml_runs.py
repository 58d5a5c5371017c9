"""What the ML asset tests share: small model specs for churn and deliveries, in-process
materializations of the ML or monitoring assets, and reading their check evaluations and
metadata back."""

from __future__ import annotations

import dagster as dg

from medallion.assets.ml import TRACKING
from medallion.build import build_resources
from medallion.settings import Settings
from medallion.spec import ProductSpec

REGRESSION_VARIANTS = {
    "ridge": {"estimator": "ridge", "params": {"alpha": 1.0}},
    "random_forest": {
        "estimator": "random_forest_regressor",
        "params": {"n_estimators": 8, "max_depth": 8, "min_samples_leaf": 10},
    },
    "hist_gradient_boosting": {
        "estimator": "hist_gradient_boosting_regressor",
        "params": {"max_iter": 40},
    },
}
REGRESSION_LENIENT = {
    "bias_max_mae_ratio": 10.0,
    "bias_max_mean_error_difference": 100.0,
    "latency_p95_ms": 1000.0,
    "batch_seconds": 60.0,
}
FAST_LATENCY = {"latency_samples": 20, "latency_rounds": 1, "batch_rows": 2_000}


def regression_spec(spec: ProductSpec, variants: dict | None = None, **gates) -> ProductSpec:
    """deliveries with small variants, a one-week holdout and fast latency timing."""
    model = spec.model
    updated = model.model_validate(
        model.model_dump()
        | {
            "holdout_days": 7,
            "variants": variants or REGRESSION_VARIANTS,
            "gates": model.gates.model_dump() | FAST_LATENCY | gates,
        }
    )
    monitoring = spec.monitoring.model_validate(
        spec.monitoring.model_dump() | {"window_days": 7, "performance_window_days": 7}
    )
    return spec.model_copy(update={"model": updated, "monitoring": monitoring})


CHURN_LENIENT = {
    "bias_max_difference": 1.0,
    "min_recall": 0.05,
    "latency_p95_ms": 1000.0,
    "batch_seconds": 60.0,
}


def ml_spec(spec: ProductSpec, **gates) -> ProductSpec:
    """The churn spec with small variants, a one-week holdout and fast latency timing."""
    model = spec.model
    variants = {
        "logistic_regression": {"estimator": "logistic_regression", "params": {"max_iter": 200}},
        "random_forest": {
            "estimator": "random_forest",
            "params": {"n_estimators": 8, "max_depth": 6},
        },
        "hist_gradient_boosting": {
            "estimator": "hist_gradient_boosting",
            "params": {"max_iter": 15},
        },
    }
    updated = model.model_validate(
        model.model_dump()
        | {
            "holdout_days": 7,
            "validation_days": 5,
            "variants": variants,
            "gates": model.gates.model_dump() | FAST_LATENCY | gates,
        }
    )
    return spec.model_copy(update={"model": updated})


def materialize(
    settings: Settings, instance: dg.DagsterInstance, assets: list
) -> dg.ExecuteInProcessResult:
    """Materialize `assets` in process with the warehouse and tracking resources."""
    resources = build_resources(settings)
    return dg.materialize(
        assets,
        resources={"warehouse": resources["warehouse"], TRACKING: resources[TRACKING]},
        instance=instance,
        raise_on_error=False,
    )


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], object]:
    """(asset name, check name) -> the check's evaluation, for every check of the run."""
    return {
        (e.asset_key.path[-1], e.check_name): e
        for e in (
            event.asset_check_evaluation_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
    }


def ml_metadata(result: dg.ExecuteInProcessResult, product: str, name: str) -> dict:
    """The metadata values of one ML asset's materialization in the run."""
    materialization = result.asset_materializations_for_node(f"{product}__ml__{name}")[0]
    return {k: v.value for k, v in materialization.metadata.items()}
