"""The bias evaluation picks rates for a classifier and errors for a regressor."""

from __future__ import annotations

import numpy as np

from medallion.ml.bias import evaluate_bias

GROUPS = {"group": np.array(["a"] * 50 + ["b"] * 50, dtype=object)}


def test_a_classifier_is_judged_on_rates(model_spec, tmp_path):
    y = np.tile([0, 1], 50)
    scores = np.where(GROUPS["group"] == "a", 0.9, 0.1)  # group a always predicted positive
    bias = evaluate_bias(model_spec, y, scores, GROUPS)
    assert bias.what == "rates" and not bias.gate.passed
    assert "demographic parity difference 1.000 > 0.1" in bias.gate.summary
    assert {"selection_rate", "true_positive_rate"} <= set(bias.table.columns)
    assert bias.metric_values["bias/group/demographic_parity_difference"] == 1.0
    assert bias.chart(tmp_path / "rates.png", "t").stat().st_size > 0


def test_a_regressor_is_judged_on_errors(regression_spec, tmp_path):
    y = np.linspace(1, 10, 100)
    predicted = y + np.where(GROUPS["group"] == "a", -3.0, 0.5)  # group a under-predicted
    bias = evaluate_bias(regression_spec, y, predicted, GROUPS)
    assert bias.what == "errors" and not bias.gate.passed
    assert bias.gate.summary.startswith("group MAE ratio 6.000 > 1.25")  # the default bound
    assert list(bias.table["mae"]) == [3.0, 0.5]
    assert bias.metric_values["bias/group/mean_error_difference"] == 3.5
    assert bias.chart(tmp_path / "errors.png", "t").stat().st_size > 0
