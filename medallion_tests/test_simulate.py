"""`medallion simulate` at a small size: daily deliveries through sensors, jobs and the
schedule; strong drift is detected, retraining is requested once and registers new versions."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from medallion.cli import parser
from medallion.settings import PACKAGE_PRODUCTS
from medallion.simulate import SimulationOptions, format_report, simulate
from medallion.spec import load_spec

DAYS = 3
"""Days delivered after the history: in this seeded world, drift from day 1 is alerted on
day 2 and retrained once."""


def test_simulate_command_line():
    args = parser().parse_args(["simulate", "--days", "60", "--drift-from", "30"])
    assert (args.days, args.drift_from, args.history, args.product) == (60, 30, 120, "churn")
    assert parser().parse_args(["simulate", "--no-drift"]).drift_from is None


@pytest.mark.slow
def test_daily_deliveries_detect_drift_and_retrain(tmp_path):
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    options = SimulationOptions(
        home=tmp_path / "sim",
        days=DAYS,
        drift_from=1,
        drift_strength=5.0,
        customers=250,
        lenient_gates=True,
    )
    lines: list[str] = []
    report = simulate(spec, options, echo=lines.append)

    assert report.initial_champion is not None
    assert [d.day for d in report.days] == list(range(DAYS))
    assert not report.false_alarms
    first = report.first_alert
    assert first is not None and 1 <= first.day <= 2, lines
    assert {"mobile_share_30d", "minutes_7d"} & set(first.drifted)
    [retraining] = report.retrainings
    assert retraining.success and retraining.day == first.day
    assert retraining.run_key == f"churn-retrain-{first.date}"
    assert min(int(v) for v in retraining.versions) > int(report.initial_champion)
    assert "drift detected: day" in format_report(report)

    instance = dg.DagsterInstance.local_temp(str(options.home / "data" / "dagster"))
    jobs = [run.job_name for run in instance.get_runs()]
    assert jobs.count("churn_monitoring") == DAYS and jobs.count("churn_retrain") == 2
    with duckdb.connect(str(options.home / "data" / "warehouse.duckdb"), read_only=True) as con:
        windows = con.execute(
            "SELECT count(DISTINCT window_end) FROM churn_monitoring.drift_history"
        ).fetchone()[0]
    assert windows == DAYS
