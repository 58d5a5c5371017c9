"""Gate decisions and promotion, pure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medallion.ml.fairness import attribute_fairness
from medallion.ml.gates import (
    Candidate,
    accuracy_gate,
    bias_gate,
    choose_champion,
    error_bias_gate,
    latency_gate,
)
from medallion.ml.group_error import attribute_errors
from medallion.ml.latency import LatencyReport
from medallion.spec import GatesSpec


@pytest.mark.parametrize(
    ("candidate", "baseline", "tolerance", "passed"),
    [(0.80, 0.80, 0.0, True), (0.79, 0.80, 0.0, False), (0.79, 0.80, 0.02, True)],
)
def test_accuracy_gate_higher_is_better(candidate, baseline, tolerance, passed):
    gate = accuracy_gate("roc_auc", candidate, baseline, "champion v1", tolerance)
    assert gate.passed is passed
    assert "champion v1" in gate.summary
    assert gate.observed == {"roc_auc": candidate, "baseline_roc_auc": baseline}


def test_accuracy_gate_lower_is_better_for_log_loss():
    assert accuracy_gate("log_loss", 0.20, 0.25, "dummy", 0.0).passed
    assert not accuracy_gate("log_loss", 0.30, 0.25, "dummy", 0.0).passed
    assert accuracy_gate("log_loss", 0.26, 0.25, "dummy", 0.02).passed


def test_accuracy_gate_lower_is_better_for_regression_errors():
    assert accuracy_gate("rmse", 9.4, 12.5, "DummyRegressor(mean)", 0.0).passed
    gate = accuracy_gate("rmse", 9.6, 9.4, "champion v1", 0.1)
    assert not gate.passed and gate.summary.startswith("rmse 9.6000 > 9.5000")
    assert accuracy_gate("r2", 0.42, 0.40, "champion v1", 0.0).passed
    assert not accuracy_gate("r2", 0.38, 0.40, "champion v1", 0.0).passed


def test_accuracy_gate_fails_when_not_comparable():
    gate = accuracy_gate("roc_auc", 0.9, math.nan, "champion v3 cannot score", 0.0)
    assert not gate.passed and "not comparable" in gate.summary


def _fairness(pred: np.ndarray):
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    group = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    return attribute_fairness(y, pred, group, "segment", min_group_size=1)


def test_bias_gate_bounds_both_differences():
    fair = _fairness(np.array([1, 0, 0, 0, 1, 0, 0, 0]))
    unfair = _fairness(np.array([1, 1, 1, 0, 0, 0, 0, 0]))
    assert bias_gate([fair], 0.1).passed
    gate = bias_gate([unfair], 0.1)
    assert not gate.passed
    assert "segment demographic parity difference 0.750 > 0.1" in gate.summary
    assert "segment equalized odds difference 1.000 > 0.1" in gate.summary
    assert gate.observed["segment.demographic_parity_ratio"] == 0.0
    no_attributes = bias_gate([], 0.1)
    assert no_attributes.passed and "no sensitive attributes" in no_attributes.summary


def test_regression_bias_gate_bounds_error_gaps_in_units_and_as_a_ratio():
    truth = np.array([10.0, 12.0, 8.0, 10.0, 5.0, 5.0, 6.0, 4.0])
    group = np.array(["rural"] * 4 + ["urban"] * 4, dtype=object)
    # rural: always 2 h too low (MAE 2, mean error -2); urban: +-1 h (MAE 1, mean error 0)
    predicted = truth + np.array([-2, -2, -2, -2, 1, -1, 1, -1.0])
    report = attribute_errors(truth, predicted, group, "area_type", min_group_size=1)
    loose = GatesSpec(bias_max_mae_ratio=2.5, bias_max_mean_error_difference=2.5)
    gate = error_bias_gate([report], loose, "delay_hours")
    assert gate.passed and gate.summary.endswith("(gaps in units of delay_hours)")
    assert gate.thresholds == {"max_mean_error_difference": 2.5, "max_mae_ratio": 2.5}
    strict = GatesSpec(
        bias_max_mae_difference=0.5, bias_max_mean_error_difference=1.0, bias_max_mae_ratio=1.5
    )
    gate = error_bias_gate([report], strict, "delay_hours")
    assert not gate.passed
    assert gate.summary.startswith(
        "area_type MAE gap 1.000 > 0.5; area_type mean error gap 2.000 > 1; "
        "area_type MAE ratio 2.000 > 1.5"
    )
    assert gate.observed == {
        "area_type.mae_difference": 1.0,
        "area_type.mean_error_difference": 2.0,
        "area_type.mae_ratio": 2.0,
    }
    assert error_bias_gate([], strict, "delay_hours").passed


def test_latency_gate_judges_cpu_time_and_reports_wall_time():
    gates = GatesSpec()
    fast = LatencyReport(2.0, 80.0, 90.0, 300, 100_000, 3.0, cpu_p95_ms=5.0, batch_cpu_seconds=0.4)
    assert latency_gate(fast, gates).passed, "a slow wall clock (a loaded machine) is not judged"
    slow = LatencyReport(8.0, 12.5, 20.0, 300, 100_000, 1.5, cpu_p95_ms=30.0, batch_cpu_seconds=2.5)
    gate = latency_gate(slow, gates)
    assert not gate.passed
    assert gate.summary == (
        "CPU p95 30.00 ms > 25 ms; 100,000 rows in 2.500 CPU s > 2 s "
        "(wall p95 12.50 ms, batch 1.500 s)"
    )
    assert gate.thresholds == {"cpu_p95_ms": 25.0, "batch_cpu_seconds": 2.0}
    assert gate.observed["p95_ms"] == 12.5 and gate.observed["cpu_p95_ms"] == 30.0


def test_champion_is_the_best_passing_variant():
    candidates = [
        Candidate("hgb", "3", 0.85, ("bias: too unfair",)),
        Candidate("rf", "2", 0.80),
        Candidate("lr", "1", 0.74),
    ]
    decision = choose_champion(candidates, "roc_auc")
    assert decision.champion is candidates[1]
    assert "rf (v2) has the best roc_auc (0.8000) of 2 variant(s)" in decision.reason
    assert [c.variant for c in decision.challengers] == ["hgb", "lr"]


def test_ties_go_to_the_first_variant_name_and_lower_log_loss_wins():
    tied = [Candidate("zeta", "2", 0.8), Candidate("alpha", "1", 0.8)]
    assert choose_champion(tied, "roc_auc").champion.variant == "alpha"
    losses = [Candidate("a", "1", 0.30), Candidate("b", "2", 0.20)]
    assert choose_champion(losses, "log_loss").champion.variant == "b"


def test_no_passing_variant_keeps_the_champion_and_says_why():
    candidates = [
        Candidate("lr", "4", 0.7, ("latency: p95 12 ms > 10 ms",)),
        Candidate("rf", "5", math.nan),
    ]
    decision = choose_champion(candidates, "roc_auc")
    assert decision.champion is None
    assert decision.reason.startswith("no variant passed all gates; the champion is unchanged.")
    assert "lr (v4): latency: p95 12 ms > 10 ms" in decision.reason
    assert "rf (v5): roc_auc undefined" in decision.reason
    assert choose_champion([], "roc_auc").champion is None


def test_accuracy_gate_treats_float_noise_as_equal():
    assert accuracy_gate("rmse", 10.368400000001, 10.3684, "champion v3", 0.0).passed
    assert accuracy_gate("roc_auc", 0.7849999999999, 0.785, "champion v3", 0.0).passed
    assert not accuracy_gate("rmse", 10.3685, 10.3684, "champion v3", 0.0).passed


def test_the_champion_itself_or_an_identical_copy_is_not_promoted_again():
    champion = Candidate("hgb", "3", 0.85)
    rival = Candidate("lr", "4", 0.80)
    again = choose_champion([champion, rival], "roc_auc", champion_version="3")
    assert again.champion is None and "champion already" in again.reason
    assert again.challengers == (rival,)
    copy = Candidate("hgb", "5", 0.85, identical_to_champion=True)
    same = choose_champion([copy, rival], "roc_auc", champion_version="3")
    assert same.champion is None and "scores exactly as champion v3" in same.reason
    assert same.challengers == (copy, rival), "the copy stays a challenger, a version of its own"
    better = choose_champion([Candidate("rf", "6", 0.9), rival], "roc_auc", champion_version="3")
    assert better.champion is not None and better.champion.version == "6"
