"""The drift statistics benchmark runs every code path and finds the features made to drift."""

from __future__ import annotations

from medallion.bench.drift import main, run


def test_benchmark_runs_every_path_and_finds_the_drifted_features():
    result = run(rows=20_000, features=8, repeat=1)
    assert result.drifted == ["c1", "n1", "n3", "n5"]
    assert result.seconds[0] > 0


def test_benchmark_command_prints_the_timings(capsys):
    assert main(["--rows", "5000", "--features", "4", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("drift of 5,000 rows x 4 features") and "1 drifted" in out
