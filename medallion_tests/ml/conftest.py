"""Tiny model specs and frames for the pure ML tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from medallion.spec import ModelSpec


@pytest.fixture
def model_spec() -> ModelSpec:
    return ModelSpec(
        table="features",
        target="label",
        entity_key="id",
        time_column="day",
        features=["amount", "visits", "plan"],
        sensitive=["group"],
        holdout_days=3,
        variants={
            "lr": {"estimator": "logistic_regression", "params": {"max_iter": 200}},
            "rf": {"estimator": "random_forest", "params": {"n_estimators": 5}},
            "hgb": {"estimator": "hist_gradient_boosting", "params": {"max_iter": 10}},
        },
    )


@pytest.fixture
def regression_spec() -> ModelSpec:
    """The same features; the target is `hours`, a number."""
    return ModelSpec(
        table="features",
        task="regression",
        target="hours",
        entity_key="id",
        time_column="day",
        features=["amount", "visits", "plan"],
        sensitive=["group"],
        holdout_days=3,
        variants={
            "ridge": {"estimator": "ridge", "params": {"alpha": 1.0}},
            "rf": {"estimator": "random_forest_regressor", "params": {"n_estimators": 5}},
            "hgb": {"estimator": "hist_gradient_boosting_regressor", "params": {"max_iter": 10}},
        },
    )


@pytest.fixture
def frame() -> pl.DataFrame:
    """10 days x 40 entities; the label and hours are NULL on the last 2 days; a learnable
    signal for both."""
    rng = np.random.default_rng(0)
    rows = []
    for d in range(10):
        for i in range(40):
            amount = float(rng.normal(50, 10)) if (i + d) % 17 else None
            visits = int(rng.integers(0, 20))
            plan = ["basic", "plus", "pro"][i % 3]
            churn_p = 0.6 if visits < 5 else 0.1
            label = None if d >= 8 else int(rng.random() < churn_p)
            hours = None if d >= 8 else 2 + 0.5 * visits + 3 * (plan == "pro") + rng.normal()
            rows.append(
                {
                    "id": i,
                    "day": date(2026, 1, 1) + timedelta(days=d),
                    "amount": amount,
                    "visits": visits,
                    "plan": plan,
                    "group": "a" if i % 2 else "b",
                    "label": label,
                    "hours": hours,
                }
            )
    return pl.DataFrame(rows)
