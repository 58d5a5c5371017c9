"""Nothing lost: a materialization killed with SIGKILL at random moments leaves every table
a complete version, and re-running converges to exactly what an uninterrupted run builds."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from medallion.checks.landing import file_ledger
from medallion.checks.silver import row_accounting
from medallion.products.churn.generator import generate
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.tables import zone_fingerprints
from medallion_tests.pipeline_processes import start_pipeline, step_starts

VARIABLE = ("_ingested_at", "ingested_at")
KILLS, ATTEMPTS = 3, 6


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


def _has_started(instance: dg.DagsterInstance, earlier: set[str], step: int) -> bool:
    """Whether a run not in `earlier` has started step number `step`."""
    newest = instance.get_runs(limit=1)
    fresh = bool(newest) and newest[0].run_id not in earlier
    return fresh and len(step_starts(instance, newest[0].run_id)) > step


def _kill_during_step(
    instance: dg.DagsterInstance, home: Path, landing: Path, step: int, delay_s: float
) -> bool:
    """Start the pipeline, wait until its run starts step number `step` (0-based, in the
    order steps start), `delay_s` more, then SIGKILL its process group. True when the kill
    hit the running pipeline, False when the run ended before it."""
    earlier = {run.run_id for run in instance.get_runs()}
    process = start_pipeline(home, landing)
    try:
        while process.poll() is None and not _has_started(instance, earlier, step):
            time.sleep(0.05)
        time.sleep(delay_s)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout=60) == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_converges(tmp_path):
    """Each kill lands at a random moment of a random step, drawn from the uninterrupted
    run's own steps (a step and a fraction of the time until the next step started), and is
    timed from when that step starts in the killed run: every rerun has less left to do and a
    loaded machine runs slower, yet the kill still falls inside the run. A run that ended
    before its kill is followed by another attempt (at most ATTEMPTS in all)."""
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    landing = tmp_path / "landing"
    generate(landing / "churn", seed=11, customers=150, days=35)  # gold needs 30 days

    reference_home = tmp_path / "reference"
    assert start_pipeline(reference_home, landing).wait(timeout=300) == 0
    reference = _fingerprints(reference_home / "data" / "warehouse.duckdb", spec)
    assert len(reference) >= 16
    with dg.DagsterInstance.from_config(str(reference_home / "dagster")) as instance:
        (run,) = instance.get_runs()
        starts = step_starts(instance, run.run_id)
    steps = [later - start for start, later in itertools.pairwise(starts)]  # all but the last
    assert len(steps) >= 16

    crashed_home = tmp_path / "crashed"
    (crashed_home / "dagster").mkdir(parents=True)
    rng = random.Random(2026)
    kills = attempts = 0
    with dg.DagsterInstance.from_config(str(crashed_home / "dagster")) as instance:
        while kills < KILLS and attempts < ATTEMPTS:
            attempts += 1
            step = rng.randrange(len(steps))
            delay_s = rng.uniform(0.0, steps[step])
            kills += _kill_during_step(instance, crashed_home, landing, step, delay_s)
            _assert_consistent(crashed_home / "data" / "warehouse.duckdb", spec)
    assert kills == KILLS, f"{kills} kills in {attempts} attempts"

    assert start_pipeline(crashed_home, landing).wait(timeout=300) == 0
    assert _fingerprints(crashed_home / "data" / "warehouse.duckdb", spec) == reference
