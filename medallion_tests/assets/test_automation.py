"""Declarative automation on the deliveries product (eight days of 300 shipments): the landing
sensor's ingest run builds a delivered day through the zones and automation adds nothing;
bronze loaded by hand (a late, older day) reaches gold through automation, today's partition
recomputing that day; a failing blocking check holds automation back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from medallion.assets.automation import follows_inputs
from medallion.build import build_definitions
from medallion.generate.product import run_generator
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion_tests.assets.daemon import QUIET, Daemon
from medallion_tests.conftest import home_settings, write

DAYS, LATE = 8, 4
START = date(2026, 1, 5)
AUTOMATION, LANDING = "deliveries_automation", "deliveries_landing"


def _keys(*names: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["deliveries", *name.split("/")]) for name in names]


@pytest.fixture
def operated(tmp_path):
    """deliveries with every day but LATE and the last delivered and built (as `medallion
    demo` builds, without partitions), the daemon's first ticks done."""
    spec = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    settings = home_settings(tmp_path)
    options = {"seed": 5, "days": DAYS, "shipments": 300}
    history = [day for day in range(DAYS - 1) if day != LATE]
    run_generator(spec, settings.landing, deliver_days=history, **options)
    defs = build_definitions([spec], settings)
    with dg.instance_for_test() as instance:
        zones = dg.AssetSelection.key_prefixes(
            *[["deliveries", z] for z in ("bronze", "silver", "gold")]
        )
        built = _materialize(defs, instance, zones)
        assert built.success
        daemon = Daemon(defs, instance)
        assert daemon.automation(AUTOMATION) == ({}, [])  # the first tick only starts the cursor
        assert daemon.tick(LANDING) == []  # every file already in bronze's ledger
        yield spec, settings, daemon, options


def _materialize(defs, instance, selection) -> dg.ExecuteInProcessResult:
    """What a user's Materialize (UI or `dagster asset materialize`) of `selection` runs."""
    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        resources=defs.resources,
        instance=instance,
        selection=selection,
        run_config=QUIET,
        raise_on_error=False,
    )


def _days(settings, table: str) -> dict[date, int]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return dict(con.execute(f"SELECT day, sum(shipments) FROM {table} GROUP BY day").fetchall())


def test_silver_and_gold_follow_their_inputs_never_past_a_failing_check(tmp_path):
    condition = follows_inputs()
    assert condition.get_label() == "follows its inputs"
    labels = {c.get_label() or c.name for c in condition.children}
    assert {"all_deps_blocking_checks_passed", "in_latest_time_window"} <= labels
    assert "newly_missing" in str(dg.AutomationCondition.eager())
    assert "newly_missing" not in str(condition)  # no run at midnight for a new empty day

    spec = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    defs = build_definitions([spec], home_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    automated = {
        key.to_user_string().split("/")[1]
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    assert automated == {"silver", "gold"}  # bronze: the landing sensor; ML: the retrain sensor
    sensor = defs.resolve_sensor_def(AUTOMATION)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.run_tags["medallion/product"] == "deliveries"


def test_a_day_through_the_sensor_a_late_day_by_hand_and_a_failing_check(operated):
    spec, settings, daemon, options = operated
    hub_daily = spec.table("gold", "hub_daily")
    today = datetime.now(UTC).date().isoformat()

    # The landing sensor's ingest runs build the delivered day through the zones, once.
    run_generator(spec, settings.landing, deliver_days=[DAYS - 1], **options)
    requests = daemon.tick(LANDING)
    sources = {r.tags["medallion/source"] for r in requests}
    assert sources == {"shipments", "tracking_events", "weather"}
    assert {r.partition_key for r in requests} == {today}
    assert all(daemon.launch("deliveries_ingest", r).success for r in requests)
    assert daemon.tick(LANDING) == []
    assert daemon.automation(AUTOMATION) == ({}, [])  # nothing built twice
    days = _days(settings, hub_daily)
    assert max(days) == START + timedelta(days=DAYS - 1)

    # A late, older day loaded into bronze by hand reaches gold through automation.
    late = START + timedelta(days=LATE)
    run_generator(spec, settings.landing, deliver_days=[LATE], **options)
    bronze = dg.AssetSelection.key_prefixes(["deliveries", "bronze"])
    assert _materialize(daemon.defs, daemon.instance, bronze).success
    requested, runs = daemon.automation(AUTOMATION)
    silver = _keys("silver/hubs", "silver/shipments", "silver/tracking_events", "silver/weather")
    assert requested == {None: silver} and all(run.success for run in runs)
    requested, runs = daemon.automation(AUTOMATION)  # gold once silver is built
    assert requested == {today: _keys("gold/delivery_features", "gold/hub_daily")}
    assert all(run.success for run in runs)
    assert all(run.dagster_run.tags["medallion/trigger"] == "automation" for run in runs)
    assert daemon.automation(AUTOMATION) == ({}, [])
    assert _days(settings, hub_daily)[late] > days.get(late, 0)  # recomputed via today's partition

    # A file bronze refuses fails a blocking check: automation leaves silver alone.
    landing = spec.landing(settings.landing)
    write(landing / "shipments" / "shipments_broken.csv", "shipment_id;sender_id\n1;2\n")
    shipments = dg.AssetSelection.assets(*_keys("bronze/shipments"))
    result = _materialize(daemon.defs, daemon.instance, shipments)
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["files_readable"] is False
    assert daemon.automation(AUTOMATION) == ({}, [])
