"""Fairlearn-based bias metrics against a case computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)

from medallion.ml.fairness import (
    attribute_fairness,
    fairness_chart,
    fairness_metric_values,
    fairness_report,
    fairness_table,
)

# group a: y 1 1 0 0 0 | pred 1 0 1 0 0 -> selection 2/5, TPR 1/2, FPR 1/3
# group b: y 1 1 1 0 0 | pred 1 1 1 1 0 -> selection 4/5, TPR 3/3, FPR 1/2
Y = np.array([1, 1, 0, 0, 0, 1, 1, 1, 0, 0])
PRED = np.array([1, 0, 1, 0, 0, 1, 1, 1, 1, 0])
GROUP = np.array(["a"] * 5 + ["b"] * 5, dtype=object)


def test_rates_differences_and_ratios_match_hand_computed_values():
    report = attribute_fairness(Y, PRED, GROUP, "segment", min_group_size=1)
    table = report.by_group.set_index("group")
    assert table.loc["a", "selection_rate"] == pytest.approx(2 / 5)
    assert table.loc["b", "selection_rate"] == pytest.approx(4 / 5)
    assert table.loc["a", "true_positive_rate"] == pytest.approx(1 / 2)
    assert table.loc["b", "true_positive_rate"] == pytest.approx(1.0)
    assert table.loc["a", "false_positive_rate"] == pytest.approx(1 / 3)
    assert table.loc["b", "false_positive_rate"] == pytest.approx(1 / 2)
    assert table.loc["a", "positives"] == 2 and table.loc["b", "negatives"] == 2
    assert report.demographic_parity_difference == pytest.approx(0.4)
    assert report.demographic_parity_ratio == pytest.approx(0.5)
    # equalized odds: the larger of TPR diff 0.5 and FPR diff 1/6; the smaller ratio
    assert report.equalized_odds_difference == pytest.approx(0.5)
    assert report.equalized_odds_ratio == pytest.approx(0.5)
    assert report.worst_difference == pytest.approx(0.5)


def test_agrees_with_fairlearns_own_functions_when_every_group_is_compared():
    report = attribute_fairness(Y, PRED, GROUP, "segment", min_group_size=1)
    kwargs = {"sensitive_features": GROUP}
    assert report.demographic_parity_difference == pytest.approx(
        demographic_parity_difference(Y, PRED, **kwargs)
    )
    assert report.demographic_parity_ratio == pytest.approx(
        demographic_parity_ratio(Y, PRED, **kwargs)
    )
    assert report.equalized_odds_difference == pytest.approx(
        equalized_odds_difference(Y, PRED, **kwargs)
    )
    assert report.equalized_odds_ratio == pytest.approx(equalized_odds_ratio(Y, PRED, **kwargs))


def test_small_groups_are_reported_but_not_compared():
    # tiny: y 1 0, pred 0 1 -> TPR 0 and FPR 1: compared, it would make equalized odds 1.0
    y = np.concatenate([Y, [1, 0]])
    pred = np.concatenate([PRED, [0, 1]])
    group = np.concatenate([GROUP, ["tiny", "tiny"]])
    everyone = attribute_fairness(y, pred, group, "segment", min_group_size=1)
    assert everyone.equalized_odds_difference == pytest.approx(1.0)
    report = attribute_fairness(y, pred, group, "segment", min_group_size=2)
    table = report.by_group.set_index("group")
    assert table.loc["tiny", "selection_compared"]
    assert not table.loc["tiny", "tpr_compared"] and not table.loc["tiny", "fpr_compared"]
    assert report.demographic_parity_difference == pytest.approx(0.4)
    assert report.equalized_odds_difference == pytest.approx(0.5)
    # 3 positives (negatives) needed: only b has 3 positives, only a has 3 negatives
    strict = attribute_fairness(y, pred, group, "segment", min_group_size=3)
    assert not strict.by_group.set_index("group").loc["tiny", "selection_compared"]
    assert strict.demographic_parity_difference == pytest.approx(0.4)
    assert strict.equalized_odds_difference == 0.0


def test_report_table_metrics_and_chart(tmp_path):
    reports = fairness_report(
        Y, PRED, {"segment": GROUP, "other": np.array(["x"] * 10)}, min_group_size=1
    )
    table = fairness_table(reports)
    assert list(table["attribute"]) == ["segment", "segment", "other"]
    values = fairness_metric_values(reports)
    assert values["bias/segment/demographic_parity_difference"] == pytest.approx(0.4)
    assert values["bias/other/equalized_odds_difference"] == 0.0
    chart = fairness_chart(reports, tmp_path / "chart.png", "test")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
