"""A failing blocking check stops everything downstream: in process and through the CLI.
A WARN check reports and lets the pipeline go on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from medallion.demo import materialize_all
from medallion_tests.conftest import write
from medallion_tests.worlds import memory_instance

ROOT = Path(__file__).resolve().parents[2]
GIANT_ORDER = """
order_id,customer_id,ordered_at,amount,coupon
7,11,2026-01-02 12:00:00,250000.00,
8,11,2026-01-02 13:00:00,3.00,lower
"""


def _gold_exists(settings) -> bool:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return bool(
            con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'shop_gold' "
                "AND table_name = 'revenue_by_country'"
            ).fetchone()[0]
        )


def test_clean_data_passes_every_check_and_builds_gold(spec, settings):
    with memory_instance() as instance:
        result = materialize_all([spec], settings, instance)
    assert result.success
    failed = [
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    assert failed == []
    assert _gold_exists(settings)


def test_fail_rule_stops_gold_in_process(spec, settings, landing):
    write(landing / "orders" / "orders_2026-01-02.csv", GIANT_ORDER)
    with memory_instance() as instance:
        result = materialize_all([spec], settings, instance)
    assert not result.success
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    fail_rules = evaluations[("shop/silver/orders", "fail_rules")]
    assert not fail_rules.passed and fail_rules.severity == dg.AssetCheckSeverity.ERROR
    assert not evaluations[("shop/silver/orders", "warn_rules")].passed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "shop/silver/orders" in materialized
    assert "shop/gold/revenue_by_country" not in materialized
    assert "shop/gold/orders_per_customer" not in materialized
    assert not _gold_exists(settings)


@pytest.mark.slow
def test_fail_rule_stops_gold_in_a_cli_run(tmp_path, spec_path, landing):
    write(landing / "orders" / "orders_2026-01-02.csv", GIANT_ORDER)
    (tmp_path / "dagster_home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_"))}
    env.update(
        MEDALLION_HOME=str(tmp_path),
        MEDALLION_LANDING=str(landing.parent),
        MEDALLION_PRODUCTS=str(spec_path.parent.parent),
        MEDALLION_PII_KEY="blocking-test-key-0123456789",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        PYTHONPATH=str(ROOT),
    )
    keys = [
        "shop/bronze/orders",
        "shop/bronze/customers",
        "shop/silver/orders",
        "shop/silver/customers",
        "shop/gold/revenue_by_country",
    ]
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "medallion.definitions",
            "--select",
            ",".join(keys),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "DagsterAssetCheckFailedError" in result.stderr
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            ).fetchall()
        }
    assert "shop_silver.orders" in tables
    assert "shop_gold.revenue_by_country" not in tables
