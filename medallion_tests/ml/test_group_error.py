"""Per-group errors of a regressor and their gaps, against hand-computed numbers."""

from __future__ import annotations

import numpy as np
import pytest

from medallion.ml.group_error import (
    attribute_errors,
    error_chart,
    error_metric_values,
    error_report,
)

TRUE = np.array([10.0, 12.0, 8.0, 10.0, 5.0, 5.0, 6.0, 4.0])
GROUP = np.array(["rural"] * 4 + ["urban"] * 4, dtype=object)


def test_gaps_match_hand_computed_values():
    # rural errors: -2, -2, -2, -2 (MAE 2, mean error -2); urban: +1, -1, +1, -1 (MAE 1, 0)
    predicted = np.array([8.0, 10.0, 6.0, 8.0, 6.0, 4.0, 7.0, 3.0])
    report = attribute_errors(TRUE, predicted, GROUP, "area_type", min_group_size=1)
    table = report.by_group.set_index("group")
    assert table.loc["rural", "mae"] == pytest.approx(2.0)
    assert table.loc["rural", "mean_error"] == pytest.approx(-2.0)
    assert table.loc["urban", "rmse"] == pytest.approx(1.0)
    assert report.mae_difference == pytest.approx(1.0)
    assert report.mae_ratio == pytest.approx(2.0)
    assert report.mean_error_difference == pytest.approx(2.0)
    assert list(report.by_group.columns) == [
        "attribute",
        "group",
        "rows",
        "mae",
        "rmse",
        "mean_error",
        "compared",
    ]


def test_small_groups_are_reported_but_not_compared():
    values = np.array(["rural"] * 4 + ["urban"] * 3 + [None], dtype=object)
    predicted = TRUE + np.array([0, 0, 0, 0, 1, 1, 1, 30.0])
    report = attribute_errors(TRUE, predicted, values, "area_type", min_group_size=2)
    compared = dict(zip(report.by_group["group"], report.by_group["compared"], strict=True))
    assert compared == {"missing": False, "rural": True, "urban": True}
    # the one 'missing' row's 30 h error is shown, not compared; rural MAE 0 vs urban 1
    assert report.mae_difference == pytest.approx(1.0)
    assert report.mae_ratio == float("inf")
    single = attribute_errors(TRUE, predicted, values, "area_type", min_group_size=4)
    assert (single.mae_difference, single.mae_ratio, single.mean_error_difference) == (0, 1, 0)


def test_metric_values_and_chart(tmp_path):
    predicted = TRUE + np.array([1, -1, 1, -1, 2, 2, -2, -2.0])
    reports = error_report(TRUE, predicted, {"area_type": GROUP}, min_group_size=1)
    values = error_metric_values(reports)
    assert values == {
        "bias/area_type/mae_difference": pytest.approx(1.0),
        "bias/area_type/mae_ratio": pytest.approx(2.0),
        "bias/area_type/mean_error_difference": pytest.approx(0.0),
    }
    chart = error_chart(reports, tmp_path / "errors.png", "errors per group")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
