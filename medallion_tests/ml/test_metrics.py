"""Classification and regression metrics overall and per group, against hand-computed
numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medallion.ml.metrics import (
    classification_metrics,
    group_metric_values,
    holdout_metrics,
    metric_key,
    per_group_metrics,
    regression_metrics,
)
from medallion.spec import CLASSIFICATION_METRICS, REGRESSION_METRICS, greater_is_better

Y = np.array([1, 1, 0, 0, 1, 0])
SCORES = np.array([0.9, 0.4, 0.6, 0.1, 0.8, 0.3])


def test_metrics_match_hand_computed_values():
    metrics = classification_metrics(Y, SCORES, threshold=0.5)
    assert tuple(metrics) == CLASSIFICATION_METRICS
    # predicted 1: rows 0, 2, 4 -> TP 2, FP 1, FN 1, TN 2
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    # pairs (positive, negative) ranked right: 0.9>all 3, 0.4>0.1,0.3 (2 of 3), 0.8>all 3 -> 8/9
    assert metrics["roc_auc"] == pytest.approx(8 / 9)
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.4, 0.9, 0.8, 0.7]))
    assert metrics["log_loss"] == pytest.approx(expected_loss)


def test_threshold_moves_the_predicted_labels_not_the_ranking():
    strict = classification_metrics(Y, SCORES, threshold=0.85)
    assert strict["precision"] == 1.0 and strict["recall"] == pytest.approx(1 / 3)
    assert strict["roc_auc"] == classification_metrics(Y, SCORES, 0.5)["roc_auc"]


def test_one_class_gives_undefined_auc_and_zero_not_errors():
    metrics = classification_metrics(np.zeros(3, dtype=int), np.array([0.1, 0.2, 0.7]), 0.5)
    assert math.isnan(metrics["roc_auc"])
    assert metrics["precision"] == 0.0 and metrics["recall"] == 0.0


def test_per_group_metrics_and_flat_names():
    groups = np.array(["a", "a", "a", "b", "b", None], dtype=object)
    rows = per_group_metrics("classification", Y, SCORES, {"segment": groups}, threshold=0.5)
    assert [(r.group, r.rows, r.positives) for r in rows] == [
        ("a", 3, 2),
        ("b", 2, 1),
        ("missing", 1, 0),
    ]
    # group a: y 1 1 0, scores .9 .4 .6 -> predicted 1 0 1 -> one right of three
    assert rows[0].metrics["accuracy"] == pytest.approx(1 / 3)
    values = group_metric_values(rows, min_rows=2)
    assert values["group/segment/a/accuracy"] == pytest.approx(1 / 3)
    assert not any("missing" in name for name in values)
    assert metric_key("group", "age_band", "65+", "f1") == "group/age_band/65plus/f1"
    assert metric_key("group", "x", "a/b=c", "f1") == "group/x/a_b_c/f1"


HOURS = np.array([2.0, 4.0, 6.0, 8.0])
PREDICTED = np.array([3.0, 3.0, 6.0, 12.0])


def test_regression_metrics_match_hand_computed_values():
    metrics = regression_metrics(HOURS, PREDICTED)
    assert set(REGRESSION_METRICS) <= set(metrics)
    # errors (predicted - true): +1, -1, 0, +4
    assert metrics["mae"] == pytest.approx(6 / 4)
    assert metrics["rmse"] == pytest.approx(math.sqrt(18 / 4))
    assert metrics["median_ae"] == pytest.approx(1.0)
    assert metrics["mean_error"] == pytest.approx(1.0)
    # r2 = 1 - SSE / SST = 1 - 18 / 20
    assert metrics["r2"] == pytest.approx(0.1)
    assert holdout_metrics("regression", HOURS, PREDICTED, None) == metrics


def test_regression_metrics_are_undefined_not_errors_on_degenerate_input():
    assert math.isnan(regression_metrics(np.array([5.0]), np.array([4.0]))["r2"])
    assert math.isnan(regression_metrics(np.array([3.0, 3.0]), np.array([3.0, 4.0]))["r2"])
    assert all(math.isnan(v) for v in regression_metrics(np.array([]), np.array([])).values())


def test_error_metrics_are_lower_is_better():
    assert [greater_is_better(m) for m in REGRESSION_METRICS] == [False, False, True, False]


def test_per_group_regression_metrics_have_no_positives():
    groups = np.array(["rural", "rural", "urban", "urban"], dtype=object)
    rows = per_group_metrics("regression", HOURS, PREDICTED, {"area": groups}, None)
    assert [(r.group, r.rows, r.positives) for r in rows] == [
        ("rural", 2, None),
        ("urban", 2, None),
    ]
    assert rows[0].metrics["mae"] == pytest.approx(1.0)
    assert rows[1].metrics["mean_error"] == pytest.approx(2.0)
