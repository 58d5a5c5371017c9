"""Both shipped products through every zone asset and check under `local` (in process) and
under `lake` (`medallion demo --profile lake`, which starts its own PostgreSQL and stops it)
from the same landing files: the same silver, quarantine and gold tables."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from medallion.demo import materialize_all
from medallion.generate.product import run_generator
from medallion.lake import catalog, postgres
from medallion.lake.profile import CATALOG_DATABASE
from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import LINEAGE_COLUMNS, load_specs
from medallion.zones.tables import zone_fingerprints
from medallion_tests.worlds import memory_instance

WORLD = {"churn": {"customers": 150}, "deliveries": {"shipments": 300}}
KEY = "profiles-test-key-0123456789abcdef"


def local_settings(home: Path, landing: Path, **lake) -> Settings:
    return Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=landing,
        products=(PACKAGE_PRODUCTS,),
        **lake,
    )


def run_lake_demo(home: Path) -> str:
    """`medallion demo --profile lake` with nothing but the package; its output."""
    env = {
        "PATH": f"{sys.prefix}/bin:/usr/bin:/bin",
        "HOME": str(home),
        "MEDALLION_HOME": str(home),
        "MEDALLION_PII_KEY": KEY,
        "TMPDIR": tempfile.gettempdir(),  # where this test looks for the demo's server folder
    }
    command = [sys.executable, "-m", "medallion.cli", "demo", "--profile", "lake"]
    done = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_zone_tables_agree_across_profiles(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDALLION_PII_KEY", KEY)
    lake_home = tmp_path / "lake"
    landing = lake_home / "data" / "landing"
    specs = load_specs(sorted(PACKAGE_PRODUCTS.glob("*/product.yaml")))
    for spec in specs:
        run_generator(spec, landing, seed=3, days=6, **WORLD[spec.name])
    schemas = [s.schema(z) for s in specs for z in ("silver", "quarantine", "gold")]

    # settings carry the key the lake demo reads from MEDALLION_PII_KEY at its entry point
    local = local_settings(tmp_path / "local", landing, pii_key=KEY)
    with memory_instance() as instance:
        result = materialize_all(specs, local, instance)
    assert result.success, [
        e.event_specific_data.error.message for e in result.get_step_failure_events()
    ]
    with connect(local.warehouse, read_only=True) as con:
        expected = zone_fingerprints(con, schemas, exclude=LINEAGE_COLUMNS)

    server_folder = postgres.server_folder(lake_home / "data" / "postgres")
    try:
        out = run_lake_demo(lake_home)
        assert f"its data in {server_folder / 'pgdata'}, stopped at the end" in out
        assert "warehouse: the DuckLake catalog" in out
        assert "checks: " in out and " 0 failed" in out
        assert not (lake_home / "data" / "warehouse.duckdb").exists()
        assert (lake_home / "data" / "dagster-lake" / "dagster.yaml").is_file()
        assert list((lake_home / "data" / "lake").rglob("*.parquet"))
        server = postgres.start(server_folder)  # the demo stopped it; its data stayed
        try:
            target = catalog.postgres_target(server.conninfo(CATALOG_DATABASE))
            with connect(target, read_only=True) as con:
                found = zone_fingerprints(con, schemas, exclude=LINEAGE_COLUMNS)
        finally:
            postgres.stop(server)
    finally:
        shutil.rmtree(server_folder, ignore_errors=True)
    assert len(expected) == sum(len(s.sources) * 2 + len(s.gold) for s in specs)
    assert found == expected


def test_lake_profile_needs_a_catalog():
    settings = local_settings(Path("/nowhere"), Path("/nowhere/landing"), profile="lake")
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
