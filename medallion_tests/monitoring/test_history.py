"""The monitoring history: appended atomically, one set of rows per window and version."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl
import pytest

from medallion.monitoring import history


def _rows(window: date, version: str, value: float, status: str = "ok") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "window_start": [window, window],
            "window_end": [window, window],
            "kind": ["numeric", "numeric"],
            "feature": ["amount", "amount"],
            "statistic": ["psi", "ks"],
            "value": [value, value / 2],
            "threshold": [0.25, 0.2],
            "status": [status, status],
            "model_version": [version, version],
            "data_version": ["abc", "abc"],
            "evaluated_at": [datetime(2026, 1, 1), datetime(2026, 1, 1)],
        }
    )


def test_tables_live_in_the_products_monitoring_schema(con, spec):
    history.ensure_history(con, spec)
    tables = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop_monitoring'"
        ).fetchall()
    }
    assert tables == {"drift_history", "performance_history"}
    assert history.history_table(spec, history.DRIFT_HISTORY) == "shop_monitoring.drift_history"


def test_re_evaluating_a_window_replaces_its_rows_and_keeps_the_others(con, spec):
    first, second = date(2026, 1, 1), date(2026, 1, 2)
    assert history.append(con, spec, history.DRIFT_HISTORY, _rows(first, "1", 0.1)) == 2
    history.append(con, spec, history.DRIFT_HISTORY, _rows(second, "1", 0.2))
    history.append(con, spec, history.DRIFT_HISTORY, _rows(second, "1", 0.3, "alert"))
    history.append(con, spec, history.DRIFT_HISTORY, _rows(second, "2", 0.05))
    kept = history.read(con, spec, history.DRIFT_HISTORY)
    assert kept.height == 6
    latest = kept.filter((pl.col("window_end") == second) & (pl.col("model_version") == "1"))
    assert latest["value"].to_list() == [0.3, 0.15] and set(latest["status"]) == {"alert"}
    assert history.last_window_end(con, spec, history.DRIFT_HISTORY, "1") == second
    assert history.last_window_end(con, spec, history.DRIFT_HISTORY, "3") is None
    assert history.read(con, spec, history.DRIFT_HISTORY, since=second).height == 4


def test_a_failed_append_leaves_the_history_as_it_was(con, spec):
    window = date(2026, 1, 1)
    history.append(con, spec, history.DRIFT_HISTORY, _rows(window, "1", 0.1))
    broken = _rows(window, "1", 0.9).with_columns(status=pl.lit(None, dtype=pl.String))
    with pytest.raises(duckdb.ConstraintException):
        history.append(con, spec, history.DRIFT_HISTORY, broken)
    assert history.read(con, spec, history.DRIFT_HISTORY)["value"].to_list() == [0.1, 0.05]


def test_reading_before_any_evaluation_gives_an_empty_history(con, spec):
    assert history.read(con, spec, history.PERFORMANCE_HISTORY).is_empty()
    assert history.last_window_end(con, spec, history.PERFORMANCE_HISTORY, "1") is None
