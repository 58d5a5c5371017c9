"""A product with published gold and a registry holding a champion and two challengers,
all under one tmp home; and a real `medallion serve` on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from medallion.ml import promotion, workflow
from medallion.ml.gates import Candidate
from medallion.ml.snapshot import file_digest
from medallion.resources.tracking import TrackingResource
from medallion.service.publishing import publish, published_root
from medallion.settings import Settings
from medallion.spec import ProductSpec, load_spec
from medallion_tests.conftest import write

BIN = Path(sys.executable).parent
PRODUCT = """
name: shop
description: A shop predicting which customers leave, for the service tests.
owner: service-tests
sources:
  visits:
    format: csv
    key: [id]
    columns:
      id: {type: BIGINT, required: true}
      email: {type: VARCHAR, pii: true}
      plan: {type: VARCHAR, description: The customer's plan.}
gold:
  features:
    description: One row per customer and day.
    grain: [id, day]
    sql: "SELECT id FROM {{ silver.visits }}"
    columns:
      visits: Visits on the day.
  features_v2:
    version_of: features
    grain: [id, day]
    sql: "SELECT id FROM {{ silver.visits }}"
model:
  table: features
  target: label
  entity_key: id
  time_column: day
  features: [amount, visits, plan]
  sensitive: [group]
  holdout_days: 5
  variants:
    lr: {estimator: logistic_regression, params: {max_iter: 200}}
    rf: {estimator: random_forest, params: {n_estimators: 5, n_jobs: 1}}
    hgb: {estimator: hist_gradient_boosting, params: {max_iter: 10}}
  gates:
    bias_max_difference: 1.0
    latency_p95_ms: 1000
    latency_samples: 20
    latency_rounds: 1
    batch_rows: 1000
    batch_seconds: 60
monitoring:
  performance_window_days: 7
  min_positives: 5
  min_rows: 20
"""


def features_frame(days: int = 20, entities: int = 60, seed: int = 0) -> pl.DataFrame:
    """`days` x `entities` rows with a learnable label, known on every day."""
    rng = np.random.default_rng(seed)
    n = days * entities
    visits = rng.integers(0, 20, n)
    plan = np.array(["basic", "plus", "pro"])[np.arange(n) % 3]
    label = (rng.random(n) < np.where(visits < 6, 0.6, 0.1)).astype(np.int64)
    return pl.DataFrame(
        {
            "id": np.tile(np.arange(entities), days),
            "day": np.repeat(np.arange(days), entities),
            "amount": rng.normal(50, 10, n),
            "visits": visits,
            "plan": plan,
            "group": np.where(np.arange(n) % 2 == 0, "a", "b"),
            "label": label,
        }
    ).with_columns((pl.lit(date(2026, 1, 1)) + pl.duration(days=pl.col("day"))).alias("day"))


def write_gold(settings: Settings, spec: ProductSpec, name: str, frame: pl.DataFrame) -> None:
    """`frame` as the warehouse's gold table `name` (what the pipeline would have built)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('gold')}")
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {spec.table('gold', name)} AS SELECT * FROM frame")


def publish_frame(settings: Settings, spec: ProductSpec, name: str, frame: pl.DataFrame):
    """Publish `frame` as gold table `name`, as a passing materialization would."""
    with duckdb.connect() as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('gold')}")
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {spec.table('gold', name)} AS SELECT * FROM frame")
        checks = {"grain_unique": True, "revision_counts": True, "no_pii": True}
        return publish(con, spec, name, published_root(settings.warehouse), checks)


@dataclass
class World:
    home: Path
    settings: Settings
    spec: ProductSpec
    tracking: TrackingResource
    frame: pl.DataFrame
    versions: dict[str, str]


def make_world(home: Path, train: bool = True) -> World:
    spec = load_spec(write(home / "products" / "shop" / "product.yaml", PRODUCT))
    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "landing",
        products=(home / "products",),
    )
    frame = features_frame()
    publish_frame(settings, spec, "features", frame)
    tracking = TrackingResource.for_data(settings.data)
    versions: dict[str, str] = {}
    if train:
        scratch = home / "frame.parquet"
        frame.write_parquet(scratch)
        snapshot = tracking.snapshots() / "shop" / f"features-{file_digest(scratch)}.parquet"
        snapshot.parent.mkdir(parents=True)
        scratch.rename(snapshot)
        data_version = file_digest(snapshot)
        baseline = workflow.run_baseline(spec, snapshot, data_version, tracking)
        candidates = []
        for variant in ("lr", "rf", "hgb"):
            result = workflow.run_variant(spec, variant, snapshot, data_version, baseline, tracking)
            versions[variant] = result.model_version
            candidates.append(Candidate(variant, result.model_version, result.metrics["roc_auc"]))
        promotion.promote(spec, candidates, tracking)
    return World(home, settings, spec, tracking, frame, versions)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_"))}
    env.update(MEDALLION_HOME=str(home), MEDALLION_PRODUCTS=str(home / "products"))
    return env | extra


def start_service(home: Path, *args: str, env: dict[str, str] | None = None):
    """`medallion serve` on a free port; returns (process, base URL) once /health answers."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "medallion"), "serve", "--port", str(port), *args],
        env=env or service_env(home),
        cwd=home,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        request = urllib.request.Request(f"{url}/health")
        if env and env.get("MEDALLION_SERVICE_TOKEN"):
            request.add_header("Authorization", f"Bearer {env['MEDALLION_SERVICE_TOKEN']}")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return process, url
        except (OSError, urllib.error.URLError):
            if process.poll() is not None:
                raise RuntimeError(f"medallion serve exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                stop_service(process)
                raise
            time.sleep(0.3)


def stop_service(process: subprocess.Popen) -> int:
    """SIGTERM (the service flushes its log), then make sure the group is gone."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        code = process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return code
