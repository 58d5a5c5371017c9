"""Which rows are compared: the current windows to evaluate and the reference for each.

Windows are trailing: the window of day E holds the `window_days` days up to E. When days
were missed (a schedule that did not run), a run evaluates every one of them, oldest first;
with a `max_catch_up_windows` bound, the oldest that many, and the next run continues after
the last one evaluated, so no day is ever skipped. The reference is the end of the champion's training snapshot: its last `reference_days` days,
restricted to the same phase of the season as the window when the window is not whole
seasons, so that a Saturday is compared with Saturdays and weekly seasonality alone never
looks like drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from medallion.spec import MonitoringSpec

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Window:
    """Days `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def day_number(day: date) -> int:
    """Days since 1970-01-01 (a Thursday)."""
    return (day - EPOCH).days


def trailing_window(end: date, days: int, not_before: date | None = None) -> Window:
    """The `days` days up to `end`, starting no earlier than `not_before`."""
    start = end - timedelta(days=days - 1)
    if not_before is not None and start < not_before:
        start = not_before
    return Window(start, end)


def pending_ends(
    latest: date, after: date | None, first_allowed: date, max_windows: int | None = None
) -> list[date]:
    """Window ends still to evaluate, oldest first: each day after `after` (and from
    `first_allowed`) up to `latest`; with `max_windows`, the oldest that many (the rest wait
    for the next run); none when `latest` is before `first_allowed`."""
    start = first_allowed if after is None else max(first_allowed, after + timedelta(days=1))
    count = (latest - start).days + 1
    if count <= 0:
        return []
    if max_windows is not None:
        count = min(count, max_windows)
    return [start + timedelta(days=offset) for offset in range(count)]


def phases(window: Window, period: int) -> list[int]:
    """Positions in the season (day number modulo period) of the window's days."""
    return sorted(
        {day_number(window.start + timedelta(days=i)) % period for i in range(window.days)}
    )


def seasonal(window: Window, monitoring: MonitoringSpec) -> bool:
    """True when the reference must be restricted to the window's phases of the season."""
    period = monitoring.seasonal_period_days
    return period is not None and window.days % period != 0


def reference_filter(
    time_column: str, snapshot_end: date, window: Window, monitoring: MonitoringSpec
) -> pl.Expr:
    """Rows of the snapshot that make the reference of `window`.

    The last `reference_days` days of the snapshot; when the window is not whole seasons,
    only the days in the same phases of the season as the window's.
    """
    first = snapshot_end - timedelta(days=monitoring.reference_days - 1)
    day = pl.col(time_column).cast(pl.Date)
    keep = day.is_between(first, snapshot_end)
    if seasonal(window, monitoring):
        period = monitoring.seasonal_period_days
        assert period is not None
        offset = (day - pl.lit(EPOCH)).dt.total_days() % period
        keep = keep & offset.is_in(phases(window, period))
    return keep


def window_filter(time_column: str, window: Window) -> pl.Expr:
    """Rows of the current window."""
    return pl.col(time_column).cast(pl.Date).is_between(window.start, window.end)
