"""A run of the lake profile on Celery workers, for real: the Definitions of deploy/celery send
each step to a worker started here with deploy/celery/worker.yaml, broker and result backend
in the test's PostgreSQL (kombu's SQLAlchemy transport, Celery's database backend), so no
broker server is needed; the worker is stopped by its process group id at the end. The run
builds bronze and silver of two churn sources (SOURCES): four steps on a worker of
concurrency 2, plus the reference check between them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from medallion.generate.product import run_generator
from medallion.lake.instance import write_instance_yaml
from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "celery"
SOURCES = ("customers", "subscriptions")
"""Subscriptions reference customers: the run also sends their referential check."""
BIN = Path(sys.executable).parent


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`dagster-celery worker start` in a session of its own: it runs `celery worker` as a
    child, and killing the session's group stops both (and the worker's pool processes)."""
    command = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
    command += ["-y", str(DEPLOY / "worker.yaml"), "--", "--concurrency=2"]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def wait_while_worker_lives(
    run: subprocess.Popen, worker: subprocess.Popen, timeout_s: float = 600
) -> int | None:
    """The run's exit code; None when the worker died first (the run would wait forever)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and worker.poll() is None:
        try:
            return run.wait(timeout=2)
        except subprocess.TimeoutExpired:
            continue
    return None


@pytest.mark.slow
def test_a_lake_run_on_celery_workers(monkeypatch, tmp_path, pg_server, lake_target):
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    landing = tmp_path / "landing"
    run_generator(spec, landing, seed=3, days=6, customers=150)
    home = tmp_path / "dagster"
    write_instance_yaml(home, tmp_path / "data")
    queue = pg_server.url(
        pg_server.create_database(f"celery_{uuid.uuid4().hex[:12]}"), "postgresql+psycopg2"
    )
    dagster_db = pg_server.create_database(f"dagster_{uuid.uuid4().hex[:12]}")
    env = dict(os.environ) | {
        "MEDALLION_HOME": str(tmp_path),
        "MEDALLION_LANDING": str(landing),
        "MEDALLION_PROFILE": "lake",
        "MEDALLION_LAKE_CATALOG": lake_target,
        "MEDALLION_PII_KEY": "celery-test-key-0123456789abcdef",
        "MEDALLION_DAGSTER_PG_URL": pg_server.url(dagster_db, driver="postgresql+psycopg2"),
        "MEDALLION_CELERY_BROKER": f"sqla+{queue}",
        "MEDALLION_CELERY_BACKEND": f"db+{queue}",
        "DAGSTER_HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # `celery` of this venv
    }
    # the schema first, as a deployment does (`dagster instance migrate`): a worker and the run
    # creating it at once in an empty database race
    monkeypatch.setenv("MEDALLION_DAGSTER_PG_URL", env["MEDALLION_DAGSTER_PG_URL"])
    dg.DagsterInstance.from_config(str(home)).dispose()
    assert set(SOURCES) <= set(spec.sources)
    keys = [f"churn/{zone}/{source}" for zone in ("bronze", "silver") for source in SOURCES]
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    run_log = tmp_path / "run.log"
    run = None
    try:
        with run_log.open("wb") as out:
            run = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dagster",
                    "asset",
                    "materialize",
                    "-f",
                    str(DEPLOY / "definitions.py"),
                    "--select",
                    ",".join(keys),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        returncode = wait_while_worker_lives(run, worker)
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        stop_worker(worker)
    assert returncode == 0, run_log.read_text()[-6000:] + log.read_text()[-3000:]
    worker_log = log.read_text()
    on_worker = set(re.findall(r"Executing steps (\S+) in celery worker", worker_log))
    assert {key.replace("/", "__") for key in keys} <= on_worker, worker_log[-3000:]
    assert worker_log.count("] succeeded in ") >= len(on_worker)  # a retried step runs again
    with connect(lake_target, read_only=True) as con:
        for source in SOURCES:
            bronze = con.execute(f"SELECT count(*) FROM {spec.table('bronze', source)}").fetchone()
            silver = con.execute(f"SELECT count(*) FROM {spec.table('silver', source)}").fetchone()
            assert bronze[0] > 0 and silver[0] > 0
