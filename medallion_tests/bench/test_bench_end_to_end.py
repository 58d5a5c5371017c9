"""`medallion bench` once, at a tiny size: generate, floor and pipeline in child processes,
a table and the JSON report with sane numbers."""

from __future__ import annotations

import json

import pytest

from medallion.cli import main


@pytest.mark.slow
def test_bench_runs_end_to_end_at_a_tiny_size(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDALLION_HOME", str(tmp_path))
    monkeypatch.setenv("MEDALLION_PII_KEY", "bench-test-key-0123456789abcdef")
    out = tmp_path / "bench"
    code = main(
        ["bench", "--rows", "5k", "--days", "40", "--out", str(out), "--scratch", str(tmp_path)]
    )
    printed = capsys.readouterr().out
    report = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    (size,) = report["sizes"]
    assert code == 0, size["pipeline"]["failures"]
    assert "pipeline / floor" in printed and "5k" in printed
    assert size["label"] == "5k"
    landing = size["landing"]
    assert landing["largest_source"] == "usage_events"
    assert 2_000 < landing["rows_largest"] < 10_000 < landing["rows_total"] * 2
    assert size["floor"]["rows"] == landing["rows"]
    pipeline = size["pipeline"]
    assert list(pipeline["zones"]) == ["bronze", "silver", "gold"]
    for zone in pipeline["zones"].values():
        assert 0 < zone["transform_s"] <= zone["steps_s"] <= pipeline["seconds"]
    assert set(pipeline["boundaries"]) == {"landing→bronze", "bronze→silver", "silver→gold"}
    assert pipeline["boundaries"]["bronze→silver"]["checks"] > 0
    assert 0 < size["floor"]["seconds"] < pipeline["seconds"] < pipeline["process_s"]
    assert 50 * 2**20 < size["floor"]["peak_rss_bytes"] < pipeline["peak_rss_bytes"] < 4 * 2**30
    assert size["ratio"] > 1 and size["check_share"] >= 0
    assert size["peak_ratio_vs_smallest"] == 1.0
    assert set(size["targets"]) == set(report["targets"])
    assert size["stage3"]["status"] == "ok", size["stage3"]["reason"]
    assert size["stage3"]["drift_s"] > 0 and size["stage3"]["current_rows"] > 0
    assert not list(tmp_path.glob("medallion-bench-*")), "scratch data is removed"
