"""The command line: `medallion generate`, and `dagster asset materialize` on the definitions,
through the multiprocess executor with DuckDB writes serialized."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from medallion.cli import main
from medallion.products.churn.generator import generate
from medallion.settings import PACKAGE_PRODUCTS

BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict[str, str]:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_"))}
    env.update(
        MEDALLION_HOME=str(tmp_path),
        MEDALLION_PII_KEY="cli-test-key-0123456789abcdef",
        DAGSTER_HOME=str(dagster_home),
    )
    return env


def test_generate_command_writes_landing_files(tmp_path, capsys):
    assert (
        main(
            [
                *("generate", "--landing", str(tmp_path / "landing"), "--product", "churn"),
                *("--rows", "20k", "--days", "14"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("churn: ")
    files = sorted(
        p.relative_to(tmp_path / "landing").parts[:2] for p in (tmp_path / "landing").rglob("*.*")
    )
    assert {product for product, _ in files} == {"churn"}  # landing/<product>/<source>/
    assert {source for _, source in files} == {
        "customers",
        "subscriptions",
        "usage_events",
        "payments",
        "support_tickets",
    }
    events = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/landing/churn/usage_events/*.parquet')"
    ).fetchone()[0]
    assert 10_000 < events < 40_000


def test_unknown_product_is_refused(tmp_path):
    with pytest.raises(SystemExit, match=r"unknown product\(s\) \['nope'\]"):
        main(["generate", "--landing", str(tmp_path), "--product", "nope"])


def _light_service_products(tmp_path: Path) -> Path:
    """A products folder holding the shipped churn product with a light service load (10
    requests per level): its responsiveness asset is one of every asset, but its timings
    are the service tests' business, not this test's."""
    folder = tmp_path / "products" / "churn"
    shutil.copytree(PACKAGE_PRODUCTS / "churn", folder)
    with (folder / "product.yaml").open("a", encoding="utf-8") as spec:
        spec.write("\nservice: {load_requests: 10, load_seconds: 1.0}\n")
    return folder.parent


@pytest.mark.slow
def test_dagster_cli_materializes_every_asset_with_multiprocess_executor(tmp_path):
    env = _env(tmp_path) | {"MEDALLION_PRODUCTS": str(_light_service_products(tmp_path))}
    rows = generate(tmp_path / "data" / "landing" / "churn", seed=3, customers=80, days=32)
    result = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "medallion.definitions",
            "--select",
            "key:churn/*",  # every asset of the product that has landing data
            # customer_features is daily-partitioned: the CLI wants a day, here the last
            # delivered one (a first build recomputes every day anyway)
            "--partition",
            "2026-02-05",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Could not set lock" not in result.stderr
    assert "multiprocess" in result.stderr
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert (
            con.execute("SELECT count(*) FROM churn_bronze.usage_events").fetchone()[0]
            == rows["usage_events"]
        )
        assert con.execute("SELECT count(*) FROM churn_gold.customer_features").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM churn_gold.daily_revenue").fetchone()[0] > 0


def test_snapshots_command_on_a_fresh_home_lists_nothing_and_creates_nothing(
    tmp_path, monkeypatch, capsys
):
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MEDALLION_PRODUCTS", raising=False)
    assert main(["snapshots", "--prune"]) == 0
    out = capsys.readouterr().out
    assert "churn: no snapshots" in out and "deliveries: no snapshots" in out
    assert "freed 0.0 MB" in out
    assert not (tmp_path / "data" / "mlflow").exists()
