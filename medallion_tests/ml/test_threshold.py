"""The decision threshold chosen on the validation days, by the spec's rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from medallion.ml.threshold import ThresholdChoice, choose_threshold


def test_max_f1_picks_the_score_with_the_best_f1_checked_by_brute_force():
    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.1).astype(int)
    scores = np.clip(0.05 + 0.3 * y + rng.normal(0, 0.15, 400), 0, 1)
    choice = choose_threshold("max_f1", y, scores, fixed=0.5, training_positive_rate=0.1)
    best = max(np.unique(scores), key=lambda t: (f1_score(y, scores >= t), t))
    assert choice.threshold == pytest.approx(best)
    assert choice.rule == "max_f1" and "400 validation rows" in choice.reason
    assert f"F1 {f1_score(y, scores >= choice.threshold):.4f}" in choice.reason
    assert choice.threshold < 0.5, "a rare class is decided below 0.5"


def test_positive_rate_selects_the_training_share():
    scores = np.linspace(0, 1, 101)
    y = np.r_[np.zeros(90, int), np.ones(11, int)]
    choice = choose_threshold("positive_rate", y, scores, fixed=0.5, training_positive_rate=0.2)
    assert (scores >= choice.threshold).sum() == 20
    assert "selects 19.80% of the validation rows" in choice.reason


def test_fixed_rule_and_one_class_fall_back_to_the_spec_threshold():
    scores = np.array([0.1, 0.7, 0.4])
    fixed = choose_threshold(
        "fixed", np.array([0, 1, 0]), scores, fixed=0.3, training_positive_rate=0
    )
    assert (fixed.threshold, fixed.rule) == (0.3, "fixed")
    one_class = choose_threshold(
        "max_f1", np.zeros(3, int), scores, fixed=0.3, training_positive_rate=0
    )
    assert (one_class.threshold, one_class.rule) == (0.3, "fixed")
    assert "needs both classes" in one_class.reason


def test_the_choice_round_trips_through_mlflow_params():
    choice = ThresholdChoice(0.1234, "max_f1", "maximises F1")
    params = {k: str(v) for k, v in choice.to_params().items()}
    assert ThresholdChoice.from_params(params, fallback=0.5) == choice
    legacy = ThresholdChoice.from_params({}, fallback=0.5)
    assert (legacy.threshold, legacy.rule) == (0.5, "fixed")
