"""Parallel writers on the lake: two products' zones (bronze and silver of the sources the
test selects: two of churn, the three deliveries' hub_daily rests on) in two runs at once
(each run's multiprocess executor with two writing steps at a time), then two partitions of
one gold table in two runs at once, the Dagster instance on PostgreSQL, while a reader
attached read-only queries the catalog throughout (in both phases)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from medallion.build import build_definitions
from medallion.generate.product import run_generator
from medallion.lake.instance import initialize_pools, write_instance_yaml
from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import load_spec

WORLD = {"churn": {"customers": 150}, "deliveries": {"shipments": 300}}
DAYS = 6
SOURCES = {
    "churn": ("customers", "subscriptions"),
    # hub_daily reads shipments and tracking events; both reference hubs
    "deliveries": ("hubs", "shipments", "tracking_events"),
}
READER_PAUSE_S = 0.5
"""Between the reader's rounds (each counts every table): it queries throughout both phases
without taking a core from the writers of a two-core machine."""


class Reader(threading.Thread):
    """Counts the rows of every table the catalog lists, over and over, keeping errors."""

    def __init__(self, target: str) -> None:
        super().__init__(daemon=True)
        self.target, self.stop, self.errors, self.queries = target, threading.Event(), [], 0

    def run(self) -> None:
        with connect(self.target, read_only=True) as con:
            while not self.stop.is_set():
                try:
                    tables = con.execute(
                        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                        "WHERE table_catalog = 'lake'"
                    ).fetchall()
                    for (table,) in tables:
                        con.execute(f"SELECT count(*) FROM {table}").fetchone()
                        self.queries += 1
                except Exception as error:  # every failure is the finding
                    self.errors.append(repr(error))
                self.stop.wait(READER_PAUSE_S)


def materialize(env: dict[str, str], selection: str, partition: str | None = None):
    command = [sys.executable, "-m", "dagster", "asset", "materialize"]
    command += ["-m", "medallion.definitions", "--select", selection]
    command += ["--partition", partition] if partition else []
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def zone_keys(spec) -> str:
    """The bronze and silver assets of the product's selected sources, for --select."""
    assert set(SOURCES[spec.name]) <= set(spec.sources)
    return ",".join(
        f"{spec.name}/{zone}/{s}" for zone in ("bronze", "silver") for s in SOURCES[spec.name]
    )


def wait_all(processes) -> list[str]:
    """Wait for each run; the output of those that failed."""
    failed = []
    for process in processes:
        output = process.communicate(timeout=600)[0].decode()
        if process.returncode != 0:
            failed.append(output[-6000:])
    return failed


@pytest.mark.slow
def test_parallel_runs_on_the_lake_with_a_reader(monkeypatch, tmp_path, pg_server, lake_target):
    landing = tmp_path / "landing"
    specs = [load_spec(PACKAGE_PRODUCTS / name / "product.yaml") for name in WORLD]
    for spec in specs:
        run_generator(spec, landing, seed=3, days=DAYS, **WORLD[spec.name])
    dagster_db = pg_server.create_database(f"dagster_{uuid.uuid4().hex[:12]}")
    home = tmp_path / "dagster"
    write_instance_yaml(home, tmp_path / "data")
    env = dict(os.environ) | {
        "MEDALLION_HOME": str(tmp_path),
        "MEDALLION_LANDING": str(landing),
        "MEDALLION_PROFILE": "lake",
        "MEDALLION_LAKE_CATALOG": lake_target,
        "MEDALLION_PII_KEY": "parallel-test-key-0123456789abcdef",
        "MEDALLION_DAGSTER_PG_URL": pg_server.url(dagster_db, driver="postgresql+psycopg2"),
        "DAGSTER_HOME": str(home),
    }
    monkeypatch.setenv("MEDALLION_DAGSTER_PG_URL", env["MEDALLION_DAGSTER_PG_URL"])
    with dg.DagsterInstance.from_config(str(home)) as instance:  # as a deployment does once
        assert initialize_pools(instance, build_definitions(settings=Settings.from_env(env))) > 0
    reader = Reader(lake_target)
    reader.start()
    try:
        zones = [materialize(env, zone_keys(spec)) for spec in specs]
        assert wait_all(zones) == []
        during_zones = reader.queries
        spec = specs[-1]
        days = [(spec.partitions_start + timedelta(days=d)).isoformat() for d in (2, 3)]
        partitions = [materialize(env, "deliveries/gold/hub_daily", day) for day in days]
        assert wait_all(partitions) == []
    finally:
        reader.stop.set()
        reader.join(timeout=30)
    assert reader.errors == []
    assert during_zones > 0 and reader.queries > during_zones  # read during both phases
    with connect(lake_target, read_only=True) as con:
        rows = con.execute(f"SELECT count(*) FROM {spec.table('gold', 'hub_daily')}").fetchone()
        assert rows[0] > 0
    assert Path(home / "dagster.yaml").is_file()
