"""`medallion demo`'s timeline on a small world: a history, a first champion, then days
delivered one by one through the daily operation; drift is alerted, the retrain sensor's
request retrains, and all of it is in the instance, the warehouse and the summary."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from medallion.demo import run_demo
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import load_spec
from medallion.timeline import TimelineOptions

DAYS = 3


@pytest.mark.slow
def test_the_demo_timeline_monitors_every_day_alerts_and_retrains(tmp_path, capsys):
    home = tmp_path / "demo"
    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "data" / "landing",
        products=(PACKAGE_PRODUCTS,),
        pii_key="timeline-test-key-0123456789abcdef",
    )
    churn = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    options = TimelineOptions(days=DAYS, drift_from=1, drift_strength=5.0, rows={"churn": 60_000})
    settings.dagster_home.mkdir(parents=True)
    with dg.DagsterInstance.local_temp(str(settings.dagster_home)) as instance:
        assert run_demo([churn], settings, instance, timeline=options) == 0
        runs = instance.get_runs()
        retrains = [r for r in runs if "medallion/alert_day" in r.tags]
    out = capsys.readouterr().out

    assert {r.job_name for r in runs} == {"churn_ingest", "churn_monitoring", "churn_retrain"}
    assert all(r.tags.get("medallion/product") == "churn" for r in runs)
    assert [r.job_name for r in runs].count("churn_monitoring") == DAYS
    [retrain] = retrains  # the sensor's request for the alert day, then the cooldown
    assert retrain.job_name == "churn_retrain"
    assert retrain.tags["dagster/run_key"] == f"churn-retrain-{retrain.tags['medallion/alert_day']}"
    assert retrain.tags["dagster/sensor_name"] == "churn_retrain_on_alert"  # the daemon skips it

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        drift_days = con.execute(
            "SELECT DISTINCT window_end FROM churn_monitoring.drift_history ORDER BY 1"
        ).fetchall()
        alert_days = con.execute(
            "SELECT DISTINCT window_end FROM churn_monitoring.drift_history "
            "WHERE feature = '*' AND status = 'alert'"
        ).fetchall()
        performance_days = con.execute(
            "SELECT count(DISTINCT window_end) FROM churn_monitoring.performance_history"
        ).fetchone()[0]
    assert len(drift_days) == DAYS and performance_days == DAYS
    assert str(alert_days[0][0]) == retrain.tags["medallion/alert_day"]

    assert f"churn: monitored {DAYS} day(s)" in out
    assert "retrainings triggered by the retrain sensor: 1" in out
    assert f"retraining for the alert of {alert_days[0][0]}: champion " in out
    assert "bias and latency gates relaxed" in out
    assert "churn: http://127.0.0.1:5000/#/experiments/" in out  # the runs table link
