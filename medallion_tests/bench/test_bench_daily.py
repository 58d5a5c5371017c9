"""`medallion bench --daily` once, tiny: history built, one day's increment and a full build
timed in child processes, the increment a zone run without MLflow or scikit-learn; and the
report over several histories, from given figures."""

from __future__ import annotations

import json

import pytest

from medallion.bench.daily import daily_report, format_daily
from medallion.cli import main


@pytest.mark.slow
def test_daily_scenario_times_an_increment_against_a_full_build(tmp_path, monkeypatch, capsys):
    """One history: each history length runs the same five processes (two deliveries, the
    history, the increment, the full build); the report over several is tested below."""
    monkeypatch.setenv("MEDALLION_HOME", str(tmp_path))
    monkeypatch.setenv("MEDALLION_PII_KEY", "bench-test-key-0123456789abcdef")
    out = tmp_path / "bench"
    arguments = ["bench", "--daily", "--product", "deliveries", "--rows", "3k"]
    code = main([*arguments, "--histories", "6", "--out", str(out), "--scratch", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0
    (path,) = out.glob("daily-*.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    [entry] = report["histories"]
    assert entry["days"] == 6 and entry["rows_per_day"] == 500
    increment, full = entry["increment"], entry["full"]
    assert 0 < increment["in_process_s"] < increment["wall_s"]
    assert 0 < increment["first_step_s"] < increment["wall_s"]
    assert increment["heavy_modules"] == []
    assert set(increment["zones_s"]) == {"bronze", "silver", "gold"}
    assert entry["increment_over_full"] == increment["wall_s"] / full["wall_s"]
    assert report["targets"]["growth"]["observed"] == 1.0  # one history: its own growth
    assert set(report["targets"]) == {
        "increment_over_full",
        "growth",
        "increment_peak_rss_bytes",
        "first_sql_s",
    }
    assert "daily scenario" in printed and "incr/full" in printed
    assert not list(tmp_path.glob("medallion-daily-*")), "scratch data is removed"


def _history(days: int, increment_s: float, full_s: float, rss_mb: int, first_s: float) -> dict:
    increment = {
        "wall_s": increment_s,
        "in_process_s": increment_s - 1,
        "first_step_s": first_s,
        "peak_rss_bytes": rss_mb * 1024**2,
        "checks_s": 0.5,
        "zones_s": {"bronze": 0.2, "silver": 0.4, "gold": 0.3},
        "heavy_modules": [],
    }
    return {
        "days": days,
        "rows_per_day": 500,
        "increment": increment,
        "full": {**increment, "wall_s": full_s},
        "increment_over_full": increment_s / full_s,
    }


def test_the_report_over_histories_judges_the_first_and_the_growth_to_the_last():
    histories = [
        _history(120, 3.0, 30.0, 400, 1.5),
        _history(240, 3.3, 55.0, 450, 1.6),
        _history(360, 3.6, 80.0, 420, 1.7),
    ]
    report = daily_report(60_000, histories)
    observed = {name: target["observed"] for name, target in report["targets"].items()}
    assert observed == {
        "increment_over_full": 0.1,  # the first history's
        "growth": pytest.approx(1.2),  # the last increment over the first
        "increment_peak_rss_bytes": 450 * 1024**2,  # the largest
        "first_sql_s": 1.5,  # the first history's
    }
    assert report["histories"] == histories
    table = format_daily(report).splitlines()
    assert table[0] == "daily scenario at 60k rows over the first history"
    assert [line.split()[0] for line in table[2:5]] == ["120", "240", "360"]
    assert "target growth: observed 1.2" in table[-3]
