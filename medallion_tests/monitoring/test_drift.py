"""Drift statistics on frames with known answers: exact values, the noise guard for small
windows, effect sizes for huge ones, the confirmation rule and weekly seasonality."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import ks_2samp

from medallion.monitoring import drift
from medallion.monitoring.windows import Window, reference_filter, window_filter
from medallion.spec import MonitoringSpec

SPEC = MonitoringSpec()


def _numbers(values: np.ndarray, name: str = "x") -> pl.DataFrame:
    return pl.DataFrame({name: values})


def test_identical_samples_do_not_drift():
    values = np.random.default_rng(0).lognormal(size=5000)
    stats = drift.compare(_numbers(values), _numbers(values), ["x"], [], SPEC)
    assert stats["value"].to_list() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert set(stats["status"]) == {"ok"}


def test_ks_statistic_matches_scipy_and_psi_grows_with_the_shift():
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, 50_000)
    values = []
    for shift in (0.1, 0.3, 0.6):
        current = rng.normal(shift, 1, 20_000)
        stats = drift.compare(_numbers(reference), _numbers(current), ["x"], [], SPEC)
        ks = stats.filter(pl.col("statistic") == "ks")["value"].item()
        assert ks == pytest.approx(ks_2samp(reference, current).statistic, abs=0.002)
        values.append(stats.filter(pl.col("statistic") == "psi")["value"].item())
    assert values == sorted(values)
    assert values[-1] > SPEC.psi_alert


def test_psi_and_js_by_hand():
    p, q = np.array([50.0, 30.0, 20.0]), np.array([20.0, 30.0, 50.0])
    expected = sum((b - a) * np.log(b / a) for a, b in zip(p / 100, q / 100, strict=True))
    assert drift.psi(p, q) == pytest.approx(expected)
    assert drift.js_distance(p, p) == pytest.approx(0.0)
    assert drift.js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)


def test_missing_values_have_their_own_bin():
    reference = np.arange(1000, dtype=float)
    current = reference.copy()
    current[:300] = np.nan
    stats = drift.compare(_numbers(reference), _numbers(current), ["x"], [], SPEC)
    psi = stats.filter(pl.col("statistic") == "psi")
    assert psi["value"].item() > SPEC.psi_alert
    assert psi["bins"].item() == 11  # ten deciles and the missing values


def test_categories_pool_rare_and_unseen_values_and_count_missing_ones():
    reference = pl.DataFrame({"device": ["tv"] * 500 + ["web"] * 490 + ["fax"] * 10})
    current = pl.DataFrame({"device": ["tv"] * 300 + ["web"] * 300 + ["vr"] * 300 + [None] * 100})
    monitoring = MonitoringSpec(max_categories=2)
    stats = drift.categorical_drift(reference, current, ["device"], monitoring.max_categories)
    assert stats["bins"].to_list() == [4, 4]  # tv, web, (other) for fax and vr, (missing)
    judged = drift.judge(stats, monitoring)
    assert set(judged["status"]) == {"alert"}


def test_small_windows_raise_the_thresholds_to_the_noise_level():
    rng = np.random.default_rng(2)
    reference = _numbers(rng.lognormal(size=400))
    small = _numbers(rng.lognormal(size=120))
    judged = drift.compare(reference, small, ["x"], [], SPEC)
    assert (judged["threshold"] > [SPEC.psi_alert, SPEC.ks_alert]).all()
    assert set(judged["status"]) <= {"ok", "warn"}
    tiny = drift.compare(reference, _numbers(rng.lognormal(size=50)), ["x"], [], SPEC)
    assert set(tiny["status"]) == {"insufficient"}


def test_huge_windows_are_judged_by_effect_size_not_significance():
    rng = np.random.default_rng(3)
    reference = _numbers(rng.normal(0, 1, 1_000_000))
    current = _numbers(rng.normal(0.03, 1, 1_000_000))
    ks = drift.compare(reference, current, ["x"], [], SPEC).filter(pl.col("statistic") == "ks")
    assert ks_2samp(reference["x"], current["x"]).pvalue < 1e-20
    assert ks["status"].item() == "ok"
    assert ks["threshold"].item() == SPEC.ks_alert


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["alert", "alert"], "alert"),
        (["alert", "warn"], "alert"),
        (["ok", "alert"], "warn"),
        (["warn", "ok"], "warn"),
        (["ok", "ok"], "ok"),
        (["alert", "insufficient"], "insufficient"),
    ],
)
def test_a_feature_drifts_when_its_second_statistic_confirms(statuses, expected):
    assert drift.combine(statuses) == expected


def test_dataset_drift_needs_the_declared_share_of_drifted_features():
    rng = np.random.default_rng(4)
    reference = pl.DataFrame({f"f{i}": rng.normal(size=3000) for i in range(10)})
    current = reference.with_columns(pl.col("f0") + 2.0, pl.col("f1") * 3.0)
    features = list(reference.columns)
    for share, expected in ((0.2, True), (0.3, False)):
        monitoring = MonitoringSpec(drift_share=share)
        stats = drift.compare(reference, current, features, [], monitoring)
        window = drift.summarize(stats, date(2026, 1, 1), date(2026, 1, 1), monitoring)
        assert sorted(f.feature for f in window.drifted) == ["f0", "f1"]
        assert window.drifted_share == pytest.approx(0.2)
        assert window.dataset_drift is expected
        assert window.status == ("alert" if expected else "warn")


def _seasonal_days(days: int, seed: int) -> pl.DataFrame:
    """A daily usage feature of 600 customers: weekends 60% higher, no drift at all."""
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(np.log(30), 0.6, 600)
    frames = []
    for offset in range(days):
        day = date(2026, 1, 5) + timedelta(days=offset)
        season = 1.6 if day.weekday() >= 5 else 1.0
        minutes = rng.gamma(4.0, rate * season / 4.0)
        frames.append(pl.DataFrame({"day": [day] * 600, "minutes_today": minutes}))
    return pl.concat(frames)


@pytest.mark.parametrize(("period", "alarms"), [(7, False), (None, True)])
def test_thirty_seasonal_days_raise_no_alarm_when_weekdays_are_compared_alike(period, alarms):
    data = _seasonal_days(28 + 30, seed=5)
    snapshot_end = date(2026, 1, 5) + timedelta(days=27)
    monitoring = MonitoringSpec(seasonal_period_days=period, drift_share=1.0)
    statuses = []
    for offset in range(1, 31):
        end = snapshot_end + timedelta(days=offset)
        window = Window(end, end)
        reference = data.filter(reference_filter("day", snapshot_end, window, monitoring))
        current = data.filter(window_filter("day", window))
        stats = drift.compare(reference, current, ["minutes_today"], [], monitoring)
        statuses.append(drift.summarize(stats, end, end, monitoring).features[0].status)
        assert reference["day"].n_unique() == (4 if period else 28)
    assert ("alert" in statuses) is alarms
    if period:
        assert statuses.count("ok") == 30
