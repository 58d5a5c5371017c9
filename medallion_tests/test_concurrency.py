"""Eight runs at once against one DuckDB file and one Dagster instance: every run succeeds
(writers wait for the file lock with a bounded backoff) and nothing is ingested twice."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from medallion.products.churn.generator import generate
from medallion_tests.pipeline_processes import pipeline_logs, start_pipeline

RUNS = 8


@pytest.mark.slow
def test_eight_concurrent_runs_all_succeed_without_double_ingestion(tmp_path):
    landing = tmp_path / "landing"
    rows = generate(landing / "churn", seed=5, customers=120, days=14)
    home = tmp_path / "home"
    # the instance exists before runs are launched, as under `dagster dev` (in this process:
    # what `DagsterInstance.get()` builds from the runs' DAGSTER_HOME, home/dagster)
    (home / "dagster").mkdir(parents=True)
    dg.DagsterInstance.from_config(str(home / "dagster")).dispose()
    processes = [start_pipeline(home, landing) for _ in range(RUNS)]
    codes = [p.wait(timeout=600) for p in processes]
    assert codes == [0] * RUNS, pipeline_logs(home)
    with duckdb.connect(str(home / "data" / "warehouse.duckdb"), read_only=True) as con:
        for source, expected in rows.items():
            assert (
                con.execute(f"SELECT count(*) FROM churn_bronze.{source}").fetchone()[0] == expected
            )
            ledger = con.execute(
                "SELECT count(*), count(DISTINCT sha256) FROM churn_bronze._ingested_files WHERE source = ?",
                [source],
            ).fetchone()
            assert ledger[0] == ledger[1]
        revisions = con.execute(
            "SELECT count(*) FROM churn_audit.revisions WHERE table_name = 'churn_silver.customers'"
        ).fetchone()[0]
        assert revisions == RUNS
