"""`medallion demo --profile lake` on a machine with nothing but the package: it starts its
own PostgreSQL, builds both products on DuckLake with Dagster and MLflow on PostgreSQL, says
where the server's data lives, and stops the server at the end."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from medallion.generate.product import run_generator
from medallion.lake import postgres
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_specs

WORLD = {"churn": {"customers": 150}, "deliveries": {"shipments": 300}}


@pytest.mark.slow
def test_demo_on_the_lake_profile_starts_and_stops_its_server(tmp_path):
    for spec in load_specs(sorted(PACKAGE_PRODUCTS.glob("*/product.yaml"))):
        run_generator(spec, tmp_path / "data" / "landing", seed=3, days=6, **WORLD[spec.name])
    env = {
        "PATH": f"{sys.prefix}/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MEDALLION_HOME": str(tmp_path),
        "MEDALLION_PII_KEY": "lake-demo-key-0123456789abcdef",
    }
    server_folder = postgres.server_folder(tmp_path / "data" / "postgres")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "medallion.cli", "demo", "--profile", "lake"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        shutil.rmtree(server_folder, ignore_errors=True)
    out = done.stdout
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"its data in {server_folder / 'pgdata'}" in out
    assert "DuckLake catalog in database medallion_lake" in out
    assert "warehouse: the DuckLake catalog" in out
    assert "deliveries_gold.hub_daily" in out and "churn_gold.customer_features" in out
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
    assert list((tmp_path / "data" / "lake").rglob("*.parquet"))
    assert (tmp_path / "data" / "dagster-lake" / "dagster.yaml").is_file()
