"""The daily operation under a real Dagster daemon: with `medallion ui` running, a file dropped
into landing is ingested by the landing sensor's run through bronze, silver and gold, with no
other action."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from medallion.demo import materialize_all
from medallion.resources.warehouse import connect
from medallion.spec import load_spec
from medallion_tests.conftest import write
from medallion_tests.ui_servers import (
    assert_stopped_cleanly,
    graphql,
    start_medallion_ui,
    stop_medallion_ui,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
GOLD = ["shop", "gold", "revenue_by_country"]
INGEST_RUNS = """{ runsOrError(filter: {pipelineName: "shop_ingest"}) {
  ... on Runs { results { runId status tags { key value } } } } }"""
GOLD_MATERIALIZATION = """{ assetNodes(assetKeys: [{path: %s}]) {
  assetMaterializations(limit: 1) { runId } } }"""


def _finished_ingest_runs(port: int) -> list[dict]:
    runs = graphql(port, INGEST_RUNS)["runsOrError"]["results"]
    return [run for run in runs if run["status"] in ("SUCCESS", "FAILURE", "CANCELED")]


def test_a_file_dropped_while_the_daemon_runs_reaches_gold(settings, spec_path, tmp_path):
    """Day 1 is built beforehand; day 2's orders arrive as `medallion ui` starts."""
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    spec = load_spec(spec_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert materialize_all([spec], settings, instance).success

    extra_env = {
        "MEDALLION_LANDING": str(settings.landing),
        "MEDALLION_PRODUCTS": str(spec_path.parent.parent),
        "PYTHONPATH": str(ROOT),  # gold's Polars transform lives in medallion_tests
    }
    out = tmp_path / "medallion-ui.log"
    process, port, _ = start_medallion_ui(tmp_path, out, extra_env, mlflow=False)
    try:
        # dropped as the daemon starts: its first landing tick, or the next 30 s later, sees it
        write(
            settings.landing / "shop" / "orders" / "orders_2026-01-02.csv",
            """
            order_id,customer_id,ordered_at,amount,coupon
            4,11,2026-01-02 09:30:00,12.00,
            5,10,2026-01-02 10:15:00,3.25,SPRING
            """,
        )
        deadline = time.monotonic() + 240  # start, a sensor tick, then the run
        while not (runs := _finished_ingest_runs(port)) and time.monotonic() < deadline:
            time.sleep(1)
        assert runs, f"no ingest run within 240 s:\n{out.read_text(errors='replace')[-3000:]}"
        (run,) = runs  # day 1's files, already in bronze, were passed over
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        assert run["status"] == "SUCCESS", tags
        assert tags["dagster/sensor_name"] == "shop_landing"
        assert tags["medallion/product"] == "shop"
        gold = graphql(port, GOLD_MATERIALIZATION % json.dumps(GOLD))
        assert gold["assetNodes"][0]["assetMaterializations"] == [{"runId": run["runId"]}]
    finally:
        stopped = stop_medallion_ui(process)
    assert_stopped_cleanly(stopped, port)
    assert (tmp_path / "data" / "dagster" / "storage").is_dir()  # the home's dagster.yaml

    with connect(settings.warehouse, read_only=True) as con:
        revenue = con.execute(
            "SELECT country, revenue, orders FROM shop_gold.revenue_by_country ORDER BY country"
        ).fetchall()
    # day 1: Ann (NL) 20.50 + 7.25, Bob (DE) 5.00; day 2: Bob 12.00, Ann 3.25
    assert [(c, float(r), n) for c, r, n in revenue] == [("DE", 17.0, 2), ("NL", 31.0, 3)]
