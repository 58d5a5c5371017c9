"""Both shipped products through every zone asset and check under `local` and under `lake`
from the same landing files: the same silver, quarantine and gold tables, the same checks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from medallion.demo import materialize_all
from medallion.generate.product import run_generator
from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import LINEAGE_COLUMNS, load_specs
from medallion.zones.tables import zone_fingerprints

WORLD = {"churn": {"customers": 150}, "deliveries": {"shipments": 300}}


def profile_settings(home: Path, landing: Path, **lake) -> Settings:
    return Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=landing,
        products=(PACKAGE_PRODUCTS,),
        **lake,
    )


@pytest.mark.slow
def test_zone_assets_agree_across_profiles(tmp_path, lake_target, monkeypatch):
    monkeypatch.setenv("MEDALLION_PII_KEY", "profiles-test-key-0123456789abcdef")
    landing = tmp_path / "landing"
    specs = load_specs(sorted(PACKAGE_PRODUCTS.glob("*/product.yaml")))
    for spec in specs:
        run_generator(spec, landing, seed=3, days=6, **WORLD[spec.name])
    chosen = {
        "local": profile_settings(tmp_path / "local", landing),
        "lake": profile_settings(
            tmp_path / "lake", landing, profile="lake", lake_catalog=lake_target
        ),
    }
    prints, checks = {}, {}
    for name, settings in chosen.items():
        with dg.instance_for_test() as instance:
            result = materialize_all(specs, settings, instance)
        failures = [e.event_specific_data.error.message for e in result.get_step_failure_events()]
        assert result.success, (name, failures)
        checks[name] = sorted(
            (e.asset_key.to_user_string(), e.check_name, e.passed)
            for e in result.get_asset_check_evaluations()
        )
        schemas = [s.schema(z) for s in specs for z in ("silver", "quarantine", "gold")]
        with connect(settings.warehouse_target, read_only=True) as con:
            prints[name] = zone_fingerprints(con, schemas, exclude=LINEAGE_COLUMNS)
    assert not chosen["lake"].warehouse.exists()
    assert len(prints["local"]) == sum(len(s.sources) * 2 + len(s.gold) for s in specs)
    assert prints["lake"] == prints["local"]
    assert checks["lake"] == checks["local"]
    assert any(passed for *_, passed in checks["lake"])


def test_lake_profile_needs_a_catalog():
    settings = profile_settings(Path("/nowhere"), Path("/nowhere/landing"), profile="lake")
    with pytest.raises(ValueError, match="MEDALLION_LAKE_CATALOG"):
        _ = settings.warehouse_target


def test_profile_read_from_the_environment(tmp_path):
    env = {
        "MEDALLION_HOME": str(tmp_path),
        "MEDALLION_PROFILE": "lake",
        "MEDALLION_PG_URL": "postgresql://postgres@127.0.0.1:6543/postgres",
    }
    settings = Settings.from_env(env)
    assert settings.warehouse_target == (
        "ducklake:postgres:dbname=medallion_lake host=127.0.0.1 port=6543 user=postgres"
    )
    assert settings.lake_data_path == str(tmp_path / "data" / "lake")
    assert Settings.from_env({"MEDALLION_HOME": str(tmp_path)}).warehouse_target == str(
        tmp_path / "data" / "warehouse.duckdb"
    )
    with pytest.raises(ValueError, match="choose 'local' or 'lake'"):
        Settings.from_env(env | {"MEDALLION_PROFILE": "cloud"})
