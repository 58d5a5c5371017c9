"""`medallion bench --daily` once, tiny: history built, one day's increment and a full build
timed in child processes, the increment a zone run without MLflow or scikit-learn."""

from __future__ import annotations

import json

import pytest

from medallion.cli import main


@pytest.mark.slow
def test_daily_scenario_times_an_increment_against_a_full_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDALLION_HOME", str(tmp_path))
    monkeypatch.setenv("MEDALLION_PII_KEY", "bench-test-key-0123456789abcdef")
    out = tmp_path / "bench"
    arguments = ["bench", "--daily", "--product", "deliveries", "--rows", "3k"]
    code = main([*arguments, "--histories", "6,12", "--out", str(out), "--scratch", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0
    (path,) = out.glob("daily-*.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert [entry["days"] for entry in report["histories"]] == [6, 12]
    assert report["histories"][0]["rows_per_day"] == report["histories"][1]["rows_per_day"] == 500
    for entry in report["histories"]:
        increment, full = entry["increment"], entry["full"]
        assert 0 < increment["in_process_s"] < increment["wall_s"]
        assert 0 < increment["first_step_s"] < increment["wall_s"]
        assert increment["heavy_modules"] == []
        assert set(increment["zones_s"]) == {"bronze", "silver", "gold"}
        assert entry["increment_over_full"] == increment["wall_s"] / full["wall_s"]
    assert set(report["targets"]) == {
        "increment_over_full",
        "growth",
        "increment_peak_rss_bytes",
        "first_sql_s",
    }
    assert "daily scenario" in printed and "incr/full" in printed
    assert not list(tmp_path.glob("medallion-daily-*")), "scratch data is removed"
