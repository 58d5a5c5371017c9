"""Incremental gold in Dagster: daily partitions, a backfill of a range as one run, a
backfill of every day equal to a full rebuild, and the latest day after a new delivery."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from medallion.assets.constants import FULL_REFRESH_TAG, ZONE_TAG
from medallion.build import build_definitions
from medallion.generate.product import run_generator
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.tables import zone_fingerprints
from medallion_tests.conftest import home_settings
from medallion_tests.worlds import memory_instance

DAYS = 8
START = date(2026, 1, 5)
GOLD = ("delivery_features", "hub_daily")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@pytest.fixture
def deliveries(tmp_path):
    """The deliveries product with its first DAYS - 1 days delivered, its Definitions and a
    test instance."""
    spec = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    settings = home_settings(tmp_path)
    options = {"seed": 5, "days": DAYS, "shipments": 300}
    run_generator(spec, settings.landing, deliver_days=range(DAYS - 1), **options)
    defs = build_definitions([spec], settings)
    with memory_instance() as instance:
        yield spec, settings, defs, instance, options


def _run(defs, instance, selection, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        resources=defs.resources,
        instance=instance,
        selection=selection,
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        **kwargs,
    )


def _gold(spec, settings):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return zone_fingerprints(con, [spec.schema("gold")])


def _zones() -> dg.AssetSelection:
    return (
        dg.AssetSelection.tag(ZONE_TAG, "bronze")
        | dg.AssetSelection.tag(ZONE_TAG, "silver")
        | dg.AssetSelection.tag(ZONE_TAG, "gold")
    )


def test_incremental_gold_is_daily_partitioned_with_single_run_backfills(deliveries):
    spec, _, defs, _, _ = deliveries
    graph = defs.resolve_asset_graph()
    for name in GOLD:
        node = graph.get(dg.AssetKey([spec.name, "gold", name]))
        assert node.partitions_def == dg.DailyPartitionsDefinition(
            start_date="2026-01-01", end_offset=1
        )
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    silver = graph.get(dg.AssetKey([spec.name, "silver", "shipments"]))
    assert silver.partitions_def is None


def test_latest_day_then_a_single_run_backfill_of_every_day_equal_a_full_rebuild(deliveries):
    spec, settings, defs, instance, options = deliveries
    assert _run(defs, instance, _zones()).success
    run_generator(spec, settings.landing, deliver_days=[DAYS - 1], **options)
    newest = (START + timedelta(days=DAYS - 1)).isoformat()
    assert _run(defs, instance, _zones(), partition_key=newest).success
    table = spec.table("gold", "hub_daily")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute(f"SELECT max(day) FROM {table}").fetchone()[0].isoformat() == newest

    gold = dg.AssetSelection.tag(ZONE_TAG, "gold")
    before = len(instance.get_runs())
    backfill = _run(defs, instance, gold, tags={RANGE_START: "2026-01-01", RANGE_END: newest})
    assert backfill.success and len(instance.get_runs()) == before + 1
    days = {
        event.partition
        for event in backfill.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey([spec.name, "gold", "hub_daily"])
    }
    assert len(days) == (date.fromisoformat(newest) - date(2026, 1, 1)).days + 1
    backfilled = _gold(spec, settings)
    assert _run(defs, instance, _zones(), tags={FULL_REFRESH_TAG: "true"}).success
    assert _gold(spec, settings) == backfilled
