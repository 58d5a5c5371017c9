"""`medallion demo`'s timeline on a small world, both products side by side in processes of
their own: a history, a first champion, then days delivered one by one through the daily
operation; drift is alerted, the retrain sensor's request retrains, and all of it is in the
one instance, warehouse and MLflow store, and in the summary."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from medallion.demo import run_demo
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import load_spec
from medallion.timeline import TimelineOptions

DAYS = 3


PRODUCTS = ("churn", "deliveries")


@pytest.mark.slow
def test_the_demo_timeline_monitors_every_day_alerts_and_retrains(tmp_path, capfd):
    home = tmp_path / "demo"
    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "data" / "landing",
        products=(PACKAGE_PRODUCTS,),
        pii_key="timeline-test-key-0123456789abcdef",
    )
    specs = [load_spec(PACKAGE_PRODUCTS / name / "product.yaml") for name in PRODUCTS]
    options = TimelineOptions(
        days=DAYS,
        drift_from=1,
        drift_strength=5.0,
        rows={"churn": 60_000, "deliveries": 60_000},
    )
    settings.dagster_home.mkdir(parents=True)
    with dg.DagsterInstance.local_temp(str(settings.dagster_home)) as instance:
        assert run_demo(specs, settings, instance, timeline=options) == 0
        runs = instance.get_runs()
    out = capfd.readouterr().out  # the products' processes write to the same stdout
    (tmp_path / "demo.log").write_text(out)  # kept for a reader of a failure

    assert f"{len(PRODUCTS)} products side by side in 2 processes" in out
    assert "bias and latency gates relaxed" in out
    for product in PRODUCTS:
        _assert_monitored_alerted_and_retrained(product, runs, settings, out)


def _assert_monitored_alerted_and_retrained(product: str, runs, settings, out: str) -> None:
    own = [r for r in runs if r.tags.get("medallion/product") == product]
    jobs = {f"{product}_ingest", f"{product}_monitoring", f"{product}_retrain"}
    assert {r.job_name for r in own} == jobs
    assert [r.job_name for r in own].count(f"{product}_monitoring") == DAYS
    [retrain] = [r for r in own if "medallion/alert_day" in r.tags]  # then the cooldown
    assert retrain.job_name == f"{product}_retrain"
    alert_day = retrain.tags["medallion/alert_day"]
    assert retrain.tags["dagster/run_key"] == f"{product}-retrain-{alert_day}"
    assert retrain.tags["dagster/sensor_name"] == f"{product}_retrain_on_alert"

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        drift_days = con.execute(
            f"SELECT DISTINCT window_end FROM {product}_monitoring.drift_history ORDER BY 1"
        ).fetchall()
        alert_days = con.execute(
            f"SELECT DISTINCT window_end FROM {product}_monitoring.drift_history "
            "WHERE feature = '*' AND status = 'alert'"
        ).fetchall()
        performance_days = con.execute(
            f"SELECT count(DISTINCT window_end) FROM {product}_monitoring.performance_history"
        ).fetchone()[0]
    assert len(drift_days) == DAYS and performance_days == DAYS
    assert str(alert_days[0][0]) == alert_day

    assert f"{product}: monitored {DAYS} day(s)" in out
    assert f"{product} timeline: " in out
    story = out[out.index(f"{product}: monitored") :]
    assert "retrainings triggered by the retrain sensor: 1" in story
    assert f"retraining for the alert of {alert_day}: champion " in story
    assert f"{product}: http://127.0.0.1:5000/#/experiments/" in out  # the runs table link
