"""The report's arithmetic: per-zone sums from run events, ratios, targets and the table."""

from __future__ import annotations

import json

import pytest

from medallion.bench.pipeline import RunEvent, summarize
from medallion.bench.report import GB, build_report, format_table, size_label, write_report
from medallion.cli import _sizes

ZONE_OF = {"p/bronze/a": "bronze", "p/silver/a": "silver", "p/gold/g": "gold"}


def _step(step: str, start: float, end: float, *events: RunEvent) -> list[RunEvent]:
    return [
        RunEvent(step=step, kind="start", timestamp=start),
        *events,
        RunEvent(step=step, kind="end", timestamp=end),
    ]


def _events() -> list[RunEvent]:
    def materialized(step: str, asset: str, duration: float, rows: int) -> RunEvent:
        return RunEvent(step, "materialization", 0, asset=asset, duration_s=duration, rows=rows)

    def check(step: str, asset: str, name: str, duration: float | None, passed=True) -> RunEvent:
        return RunEvent(
            step, "check", 0, asset=asset, name=name, duration_s=duration, passed=passed
        )

    return [
        *_step(
            "bronze_a",
            0.0,
            2.0,
            materialized("bronze_a", "p/bronze/a", 1.5, 100),
            check("bronze_a", "p/bronze/a", "file_ledger", 0.1),
        ),
        *_step(
            "silver_a",
            2.0,
            5.0,
            materialized("silver_a", "p/silver/a", 2.0, 90),
            check("silver_a", "p/silver/a", "completeness", 0.2, passed=False),
        ),
        *_step("silver_a_refs", 5.0, 5.5, check("silver_a_refs", "p/silver/a", "refs", None)),
        *_step("gold_g", 5.5, 6.0, materialized("gold_g", "p/gold/g", 0.3, 10)),
        *_step("ml_m", 6.0, 9.0, materialized("ml_m", "p/ml/m", 3.0, 1)),
    ]


def test_summarize_adds_up_steps_transforms_and_checks_per_zone():
    zones = summarize(_events(), ZONE_OF)
    assert list(zones) == ["bronze", "silver", "gold"]
    bronze, silver, gold = zones.values()
    assert (bronze.steps_s, bronze.transform_s, bronze.checks_s) == (2.0, 1.5, 0.1)
    assert bronze.overhead_s == pytest.approx(0.4)
    assert silver.steps_s == pytest.approx(3.5)  # a separate check step counts for its zone
    assert (silver.checks, silver.checks_s) == (2, 0.2)
    assert silver.untimed == ["p/silver/a:refs"]
    assert silver.failed_checks == ["p/silver/a:completeness"]
    assert (gold.assets, gold.rows, gold.checks) == (1, 10, 0)
    assert silver.checks_by_name == {"p/silver/a:completeness": 0.2, "p/silver/a:refs": 0.0}
    assert bronze.transform_by_asset == {"p/bronze/a": 1.5}


def _entry(rows: int, floor_s: float, pipeline_s: float, peak: int) -> dict:
    zones = {
        name: {
            "steps_s": z.steps_s,
            "transform_s": z.transform_s,
            "checks_s": z.checks_s,
            "overhead_s": z.overhead_s,
            "checks": z.checks,
            "untimed": z.untimed,
            "failed_checks": z.failed_checks,
        }
        for name, z in summarize(_events(), ZONE_OF).items()
    }
    return {
        "label": size_label(rows),
        "rows_requested": rows,
        "landing": {
            "rows": {"a": rows},
            "rows_total": rows,
            "largest_source": "a",
            "rows_largest": rows,
            "files": 3,
            "bytes": 1000,
        },
        "floor": {
            "seconds": floor_s,
            "cpu_s": floor_s,
            "peak_rss_bytes": GB // 10,
            "rows": {"a": rows},
        },
        "pipeline": {
            "seconds": pipeline_s,
            "peak_rss_bytes": peak,
            "cpu_s": pipeline_s,
            "load_1min": [0.5, 0.7],
            "success": True,
            "failures": [],
            "zones": zones,
        },
    }


def _report() -> dict:
    entries = [_entry(10_000_000, 4.0, 12.0, 2 * GB), _entry(1_000_000, 1.0, 1.5, GB)]
    machine = {"cpus": 2, "memory_gb": 24.0, "duckdb": "1.5.5", "dagster": "1.13.27"}
    return build_report(entries, {"product": "p", "days": 10, "seed": 1}, machine)


def test_report_derives_rates_ratios_and_judges_targets():
    big, small = _report()["sizes"]
    assert big["floor"]["rows_per_s"] == 2_500_000
    assert big["ratio"] == 3.0
    assert big["pipeline"]["transform_s"] == pytest.approx(3.8)
    assert big["pipeline"]["checks_s"] == pytest.approx(0.3)
    assert big["check_share"] == pytest.approx(0.3 / 3.8)
    assert big["pipeline"]["boundaries"]["bronze→silver"]["checks"] == 2
    assert big["peak_ratio_vs_smallest"] == 2.0
    assert small["peak_ratio_vs_smallest"] == 1.0
    verdicts = {name: t["pass"] for name, t in big["targets"].items()}
    assert verdicts == {
        "pipeline_vs_floor": False,
        "peak_memory_gb": False,
        "peak_growth": False,
        "check_share": True,
    }
    assert all(t["pass"] for t in small["targets"].values())


def test_table_has_a_column_per_size_and_json_is_written_twice(tmp_path):
    report = _report()
    table = format_table(report)
    assert "10M" in table and "1M" in table
    assert "checks bronze→silver s" in table
    assert "MISS" in table
    report["sizes"][0]["stage3"] = {
        "status": "ok",
        "read_s": 0.5,
        "drift_s": 0.2,
        "reference_rows": 10,
        "current_rows": 5,
        "peak_rss_bytes": GB // 4,
        "scoring": {"status": "skipped", "reason": "no champion", "p50_ms": None},
    }
    report["sizes"][1]["stage3"] = {"status": "skipped", "reason": "too few days"}
    lines = format_table(report).splitlines()
    assert any(line.startswith("drift: statistics s") and "0.20" in line for line in lines)
    assert len({len(line) for line in lines if line.startswith(("drift", "landing"))}) == 1
    path = write_report(report, tmp_path)
    assert path.name.startswith("bench-") and path.suffix == ".json"
    assert json.loads(path.read_text()) == json.loads((tmp_path / "latest.json").read_text())


@pytest.mark.parametrize(
    ("text", "sizes"),
    [("1M,10M", [1_000_000, 10_000_000]), ("100k, 2.5M", [100_000, 2_500_000]), ("500", [500])],
)
def test_sizes_parse_like_the_generate_command(text, sizes):
    assert _sizes(text) == sizes
    assert [size_label(n) for n in sizes] == [p.strip() for p in text.split(",")]
