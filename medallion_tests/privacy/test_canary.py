"""Canary test: PII planted in the landing files of both products reaches bronze and
quarantine only; after a full run (zones, training of the classifier and the regressor,
promotion and drift evaluation) no table after silver, no MLflow param, tag, metric or
artifact, no Dagster event or log holds it."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from medallion.demo import materialize_all
from medallion.generate.defects import CANARY_PATTERN, DefectOptions
from medallion.privacy.scan import scan_files, scan_installation, scan_warehouse
from medallion.products.churn.generator import generate
from medallion.products.deliveries.generator import generate as generate_deliveries
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import load_spec
from medallion_tests.assets.ml_runs import (
    CHURN_LENIENT,
    REGRESSION_LENIENT,
    ml_spec,
    regression_spec,
)


@pytest.mark.slow
def test_planted_canaries_never_leave_bronze(tmp_path):
    landing = tmp_path / "landing"
    generate(
        landing / "churn",
        seed=13,
        customers=300,
        days=80,
        defects=DefectOptions(day=0, kinds=("canary",), rate=0.3),
    )
    generate_deliveries(
        landing / "deliveries",
        seed=13,
        shipments=3000,
        days=60,
        defects=DefectOptions(day=0, kinds=("canary",), rate=0.3),
    )
    settings = Settings(
        home=tmp_path,
        data=tmp_path / "data",
        warehouse=tmp_path / "data" / "warehouse.duckdb",
        landing=landing,
        products=(PACKAGE_PRODUCTS,),
        pii_key="canary-test-key-0123456789abcdef",
    )
    specs = [
        ml_spec(load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml"), **CHURN_LENIENT),
        regression_spec(
            load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml"), **REGRESSION_LENIENT
        ),
    ]
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        result = materialize_all(specs, settings, instance, models=True)
        materialized = {
            e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
        }
        succeeded = {e.step_key for e in result.get_step_success_events()}
    assert {"churn/ml/champion", "deliveries/ml/champion"} <= materialized
    assert any("monitoring" in step for step in succeeded), succeeded  # drift evaluation ran

    # the canaries are really there, where raw data is allowed
    assert scan_files(landing, CANARY_PATTERN)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        planted = {
            hit.location.split()[1].split(".")[0]
            for hit in scan_warehouse(con, CANARY_PATTERN, zones=("bronze",))
        }
    assert planted == {"churn_bronze", "deliveries_bronze"}

    hits = scan_installation(settings.warehouse, settings.data, CANARY_PATTERN, [dagster_home])
    assert hits == [], "\n".join(map(str, hits))
