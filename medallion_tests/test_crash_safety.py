"""Nothing lost: a materialization killed with SIGKILL at random moments leaves every table
a complete version, and re-running converges to exactly what an uninterrupted run builds."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import duckdb
import pytest

from medallion.checks.landing import file_ledger
from medallion.checks.silver import row_accounting
from medallion.products.churn.generator import generate
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.tables import zone_fingerprints
from medallion_tests.pipeline_processes import start_pipeline

VARIABLE = ("_ingested_at", "ingested_at")


def _fingerprints(warehouse: Path, spec) -> dict[str, tuple[int, int]]:
    schemas = [spec.schema(zone) for zone in ("bronze", "silver", "quarantine", "gold")]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return zone_fingerprints(con, schemas, exclude=VARIABLE)


def _assert_consistent(warehouse: Path, spec) -> None:
    """Every table is a complete version: ledger and bronze agree, silver rows all trace to
    bronze, keys and grains unique."""
    if not warehouse.exists():
        return
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            ).fetchall()
        }
        for source in spec.sources:
            if spec.table("bronze", source) in tables:
                ledger = file_ledger(con, spec, source)
                assert ledger.passed, (source, ledger.metadata)
            if spec.table("silver", source) in tables:
                assert spec.table("quarantine", source) in tables
                accounting = row_accounting(con, spec, source)
                assert accounting.metadata["invented_rows"] == 0, source
        for name, gold in spec.gold.items():
            if spec.table("gold", name) in tables:
                keys = ", ".join(gold.grain)
                dupes = con.execute(
                    f"SELECT count(*) FROM (SELECT {keys} FROM {spec.table('gold', name)} GROUP BY ALL HAVING count(*) > 1)"
                ).fetchone()[0]
                assert dupes == 0, name


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_converges(tmp_path):
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    landing = tmp_path / "landing"
    generate(landing / "churn", seed=11, customers=250, days=45)

    reference_home = tmp_path / "reference"
    started = time.monotonic()
    assert start_pipeline(reference_home, landing).wait(timeout=300) == 0
    uninterrupted_s = time.monotonic() - started
    reference = _fingerprints(reference_home / "data" / "warehouse.duckdb", spec)
    assert len(reference) >= 16

    crashed_home = tmp_path / "crashed"
    rng = random.Random(2026)
    kills = 0
    for _ in range(3):
        process = start_pipeline(crashed_home, landing)
        time.sleep(rng.uniform(2.0, max(3.0, uninterrupted_s * 0.9)))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        _assert_consistent(crashed_home / "data" / "warehouse.duckdb", spec)
    assert kills >= 2

    assert start_pipeline(crashed_home, landing).wait(timeout=300) == 0
    assert _fingerprints(crashed_home / "data" / "warehouse.duckdb", spec) == reference
