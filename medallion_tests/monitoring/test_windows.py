"""Which windows are evaluated and which reference days each is compared with."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from medallion.monitoring.windows import (
    Window,
    pending_ends,
    phases,
    reference_filter,
    trailing_window,
)
from medallion.spec import MonitoringSpec

D = date(2026, 3, 2)  # a Monday


def test_pending_ends_catch_up_every_missed_day_oldest_first():
    assert pending_ends(D, None, D) == [D]
    assert pending_ends(D + timedelta(days=2), D, D) == [
        D + timedelta(days=1),
        D + timedelta(days=2),
    ]
    forty_later = D + timedelta(days=40)
    assert pending_ends(forty_later, D, D) == [D + timedelta(days=i) for i in range(1, 41)]
    assert pending_ends(D, D, D) == []
    assert pending_ends(D - timedelta(days=1), None, D) == []


def test_a_bounded_run_takes_the_oldest_and_the_next_run_continues_after_them():
    ten_later = D + timedelta(days=10)
    first = pending_ends(ten_later, D, D, 3)
    assert first == [D + timedelta(days=i) for i in (1, 2, 3)]
    second = pending_ends(ten_later, first[-1], D, 3)
    assert second == [D + timedelta(days=i) for i in (4, 5, 6)]
    evaluated, after = [*first, *second], second[-1]
    while ends := pending_ends(ten_later, after, D, 3):
        evaluated += ends
        after = ends[-1]
    assert evaluated == [D + timedelta(days=i) for i in range(1, 11)]  # no day skipped


def test_trailing_windows_start_no_earlier_than_allowed():
    assert trailing_window(D, 7) == Window(D - timedelta(days=6), D)
    assert trailing_window(D, 7, not_before=D - timedelta(days=2)).days == 3


def test_reference_keeps_the_same_weekday_unless_the_window_is_whole_weeks():
    days = pl.DataFrame({"day": [D - timedelta(days=i) for i in range(60)]})
    end = D - timedelta(days=1)
    monday = Window(D + timedelta(days=7), D + timedelta(days=7))
    daily = days.filter(reference_filter("day", end, monday, MonitoringSpec()))
    assert daily["day"].to_list() == [D - timedelta(days=7 * k) for k in (1, 2, 3, 4)]
    week = Window(D, D + timedelta(days=6))
    weekly = days.filter(reference_filter("day", end, week, MonitoringSpec(window_days=7)))
    assert weekly.height == 28
    unseasonal = MonitoringSpec(seasonal_period_days=None, reference_days=10)
    assert days.filter(reference_filter("day", end, monday, unseasonal)).height == 10
    assert len(phases(Window(D, D + timedelta(days=2)), 7)) == 3
