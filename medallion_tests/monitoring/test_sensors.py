"""Sensors evaluated with build_sensor_context: their run requests and their cursors."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date

import dagster as dg
import pytest

from medallion.assets.landing_sensor import build_landing_sensor
from medallion.assets.monitoring import monitoring_key
from medallion.assets.retrain_sensor import build_retrain_sensor
from medallion.assets.schedules import build_monitoring_schedule
from medallion.monitoring import names
from medallion.monitoring.records import MonitoringRecord
from medallion.monitoring.retrain import RetrainCursor
from medallion.resources.landing import LandingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.arrivals import LandedFile, arrival_partition
from medallion.zones.bronze import file_sha256, ingest_source


@pytest.fixture(scope="module")
def churn():
    return load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _evaluation(instance, spec, asset: str, day: str | None, version: str = "3") -> None:
    """A monitoring materialization as the evaluation asset records it."""
    record = MonitoringRecord(
        status="alert" if day else "ok",
        window_end=day or "2026-06-01",
        model_version=version,
        drifted_features=("minutes_7d", "mobile_share_30d") if day else (),
        alert_day=day,
        alert_reason=f"drift on {day}: minutes_7d, mobile_share_30d" if day else "",
    )
    metadata = {k: dg.MetadataValue.json(v) for k, v in record.to_metadata().items()}
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=monitoring_key(spec, asset), metadata=metadata)
    )


def _tick(sensor, instance, cursor: str | None, **resources):
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))


def test_retrain_sensor_requests_one_run_per_alert_day_and_moves_its_cursor(churn, instance):
    sensor = build_retrain_sensor(churn)
    assert sensor.job_name == "churn_retrain"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    quiet = _tick(sensor, instance, None)
    assert not quiet.run_requests and RetrainCursor.parse(quiet.cursor) == RetrainCursor(0)

    _evaluation(instance, churn, names.DRIFT, None)
    calm = _tick(sensor, instance, quiet.cursor)
    assert not calm.run_requests
    assert RetrainCursor.parse(calm.cursor).after > 0

    _evaluation(instance, churn, names.DRIFT, "2026-06-08")
    alarmed = _tick(sensor, instance, calm.cursor)
    [request] = alarmed.run_requests
    assert request.run_key == "churn-retrain-2026-06-08"
    assert request.tags["medallion/champion_version"] == "3"
    assert "minutes_7d" in request.tags["medallion/reason"]
    cursor = RetrainCursor.parse(alarmed.cursor)
    assert cursor.last_request == date(2026, 6, 8)
    assert cursor.after > RetrainCursor.parse(calm.cursor).after

    again = _tick(sensor, instance, calm.cursor)  # a tick that failed to commit its cursor
    assert [r.run_key for r in again.run_requests] == [request.run_key]
    assert not _tick(sensor, instance, alarmed.cursor).run_requests


def test_retrain_sensor_waits_out_its_cooldown(churn, instance):
    sensor = build_retrain_sensor(churn)
    cursor = RetrainCursor(0, date(2026, 6, 8)).dump()
    _evaluation(instance, churn, names.DRIFT, "2026-06-10")
    waiting = _tick(sensor, instance, cursor)
    assert not waiting.run_requests
    assert RetrainCursor.parse(waiting.cursor).last_request == date(2026, 6, 8)
    _evaluation(instance, churn, names.PERFORMANCE, "2026-06-15")
    due = _tick(sensor, instance, waiting.cursor)
    assert [r.run_key for r in due.run_requests] == ["churn-retrain-2026-06-15"]
    assert due.run_requests[0].tags["medallion/trigger"] == "churn/monitoring/performance"


def test_retrain_sensor_only_reads_alerts_when_retraining_is_off(churn, instance):
    spec = churn.model_copy(
        update={"monitoring": churn.monitoring.model_copy(update={"retrain_on_alert": False})}
    )
    _evaluation(instance, spec, names.DRIFT, "2026-06-08")
    result = _tick(build_retrain_sensor(spec), instance, None)
    assert not result.run_requests
    assert RetrainCursor.parse(result.cursor).after > 0


def _landing_resources(landing, tmp_path) -> dict:
    warehouse = WarehouseResource(database=str(tmp_path / "data" / "warehouse.duckdb"))
    return {"landing": LandingResource(root=str(landing.parent)), "warehouse": warehouse}


def test_landing_sensor_requests_one_run_per_file_content(spec, landing, instance, tmp_path):
    sensor = build_landing_sensor(spec)
    assert sensor.job_name == "shop_ingest"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    resources = _landing_resources(landing, tmp_path)

    first = _tick(sensor, instance, None, **resources)
    by_source = {r.tags["medallion/source"]: r for r in first.run_requests}
    assert set(by_source) == {"customers", "orders", "refunds"}
    orders = landing / "orders" / "orders_2026-01-01.csv"
    assert by_source["orders"].run_key == f"shop-orders-{file_sha256(orders)}"
    assert {k.to_user_string() for k in by_source["orders"].asset_selection} == {
        "shop/bronze/orders",
        "shop/silver/orders",
        "shop/gold/revenue_by_country",
        "shop/gold/orders_per_customer",
    }
    assert {k.to_user_string() for k in by_source["refunds"].asset_selection} == {
        "shop/bronze/refunds",
        "shop/silver/refunds",
    }
    assert json.loads(first.cursor)["arrived_ns"] > 0

    assert not _tick(sensor, instance, first.cursor, **resources).run_requests
    shutil.copy(orders, orders.with_name("orders_2026-01-01_again.csv"))
    assert not _tick(sensor, instance, first.cursor, **resources).run_requests

    late = orders.with_name("orders_2026-01-02.csv")
    late.write_text(orders.read_text().replace("20.50", "21.50"), encoding="utf-8")
    os.utime(late, (0, 0))  # delivered with an old modification time: its ctime is new
    [request] = _tick(sensor, instance, first.cursor, **resources).run_requests
    assert request.run_key == f"shop-orders-{file_sha256(late)}"
    assert request.tags["medallion/file"] == "orders_2026-01-02.csv"


def test_a_first_landing_tick_passes_over_what_bronze_holds(spec, landing, instance, tmp_path):
    resources = _landing_resources(landing, tmp_path)
    with resources["warehouse"].get_connection() as con:
        report = ingest_source(con, spec, "orders", spec.landing(landing.parent))
    assert [name for name, _ in report.ingested] == ["orders_2026-01-01.csv"]
    first = _tick(build_landing_sensor(spec), instance, None, **resources)
    assert {r.tags["medallion/source"] for r in first.run_requests} == {"customers", "refunds"}
    orders = landing / "orders" / "orders_2026-01-01.csv"
    assert f"shop-orders-{file_sha256(orders)}" in json.loads(first.cursor)["recent"]


def test_daily_schedule_runs_the_monitoring_job(churn):
    schedule = build_monitoring_schedule(churn)
    assert schedule.job_name == "churn_monitoring"
    assert schedule.cron_schedule == churn.monitoring.schedule
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_landing_runs_of_a_partitioned_product_target_the_arrival_day(tmp_path, spec):
    deliveries = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    noon = 1_767_960_000 * 10**9  # 2026-01-09 12:00 UTC
    landed = LandedFile("shipments", tmp_path / "s.csv", noon, "0" * 64)
    assert arrival_partition(deliveries, landed) == "2026-01-09"
    early = LandedFile("shipments", tmp_path / "s.csv", noon - 30 * 86_400 * 10**9, "0" * 64)
    assert arrival_partition(deliveries, early) == "2026-01-01"
    assert arrival_partition(spec, landed) is None  # the tiny shop has no partitions
