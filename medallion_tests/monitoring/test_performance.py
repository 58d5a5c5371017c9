"""The champion's performance per labelled window against its holdout, with the noise guard."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from medallion.monitoring.performance import (
    auc_standard_error,
    history_rows,
    thresholds,
    window_performance,
)
from medallion.monitoring.windows import Window
from medallion.spec import MonitoringSpec

WINDOW = Window(date(2026, 4, 1), date(2026, 4, 14))


def _window(entities: int, days: int, signal: float, seed: int) -> pl.DataFrame:
    """Rows of `entities` customers over `days` days; scores separate churners by `signal`."""
    rng = np.random.default_rng(seed)
    churner = rng.random(entities) < 0.15
    ids = np.tile(np.arange(entities), days)
    label = np.tile(churner, days).astype(int)
    score = 1 / (1 + np.exp(-(signal * label + rng.normal(0, 1, ids.size) - 2)))
    return pl.DataFrame({"customer_id": ids, "churned": label, "score": score})


def _judge(frame: pl.DataFrame, holdout: float, **spec) -> object:
    return window_performance(
        frame,
        WINDOW,
        entity_key="customer_id",
        target="churned",
        score="score",
        primary="roc_auc",
        decision_threshold=0.5,
        holdout={"roc_auc": holdout, "accuracy": 0.9},
        monitoring=MonitoringSpec(**spec),
    )


def test_hanley_mcneil_standard_error():
    assert auc_standard_error(0.5, 100, 100) == pytest.approx(0.0408, abs=1e-3)
    assert auc_standard_error(0.8, 50, 500) < auc_standard_error(0.8, 10, 500)
    assert auc_standard_error(0.8, 0, 10) == math.inf


def test_thresholds_follow_the_metric_direction():
    spec = MonitoringSpec()
    warn, alert = thresholds("log_loss", 0.3, 0.25, 100, 100, spec)
    assert (warn, alert) == pytest.approx((0.27, 0.30))
    warn, alert = thresholds("accuracy", 0.8, 0.9, 100, 100, spec)
    assert (warn, alert) == pytest.approx((0.88, 0.85))


def test_a_degraded_window_alerts_and_a_healthy_one_does_not():
    healthy = _judge(_window(2000, 14, 2.0, seed=1), holdout=0.86)
    assert healthy.status == "ok", healthy.describe()
    degraded = _judge(_window(2000, 14, 0.6, seed=2), holdout=0.86)
    assert degraded.status == "alert", degraded.describe()
    assert degraded.positive_entities > 200 and degraded.rows == 28_000


def test_few_churners_are_insufficient_and_noise_widens_the_tolerance():
    few = _judge(_window(60, 14, 0.6, seed=3), holdout=0.86)
    assert few.status == "insufficient"
    some = _judge(_window(400, 14, 1.2, seed=4), holdout=0.86, min_positives=20)
    assert some.holdout["roc_auc"] - some.threshold > 0.05  # the standard error dominates


def test_history_rows_judge_only_the_primary_metric():
    rows = history_rows([_judge(_window(2000, 14, 2.0, seed=1), holdout=0.86)])
    primary = rows.filter(pl.col("metric") == "roc_auc")
    assert primary["status"].item() == "ok"
    others = rows.filter(pl.col("metric") != "roc_auc")
    assert set(others["status"]) == {"info"} and others.height == 5
    assert others.filter(pl.col("metric") == "accuracy")["holdout_value"].item() == 0.9


def _delays(shipments: int, noise_hours: float, seed: int) -> pl.DataFrame:
    """One row per shipment; the champion's prediction is off by `noise_hours` on average."""
    rng = np.random.default_rng(seed)
    truth = rng.gamma(2.0, 3.0, shipments)
    return pl.DataFrame(
        {
            "shipment_id": np.arange(shipments),
            "delay_hours": truth,
            "score": truth + rng.normal(0, noise_hours, shipments),
        }
    )


def _judge_regression(frame: pl.DataFrame, **spec) -> object:
    return window_performance(
        frame,
        WINDOW,
        entity_key="shipment_id",
        target="delay_hours",
        score="score",
        primary="rmse",
        decision_threshold=None,
        holdout={"rmse": 2.0, "mae": 1.6},
        monitoring=MonitoringSpec(**spec),
        task="regression",
    )


def test_a_regression_window_is_judged_on_its_error_in_units():
    drops = {"performance_warn_drop": 0.25, "performance_alert_drop": 0.5}
    healthy = _judge_regression(_delays(3000, 2.0, seed=5), **drops)
    assert healthy.status == "ok", healthy.describe()
    assert healthy.positive_entities is None and healthy.entities == 3000
    assert (healthy.warn_threshold, healthy.threshold) == pytest.approx((2.25, 2.5))
    worse = _judge_regression(_delays(3000, 2.4, seed=6), **drops)
    assert worse.status == "warn", worse.describe()
    degraded = _judge_regression(_delays(3000, 3.5, seed=7), **drops)
    assert degraded.status == "alert"
    assert degraded.describe().startswith("rmse 3.4") and "alert above 2.500; 3000 entities" in (
        degraded.describe()
    )
    few = _judge_regression(_delays(40, 3.5, seed=8), **drops)
    assert few.status == "insufficient"
    rows = history_rows([degraded])
    assert rows.filter(pl.col("metric") == "rmse")["status"].item() == "alert"
    assert set(rows["metric"]) == {"rmse", "mae", "r2", "median_ae", "mean_error"}
    assert rows["positives"].null_count() == rows.height
