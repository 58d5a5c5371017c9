"""Proof of equality: a product delivered day by day, in a random order and split into
random runs, ends with the same silver, quarantine and gold tables as a full rebuild.

Each run ingests what arrived, merges it into silver and refreshes gold, as the pipeline
does. The days carry what daily operation brings: late older versions (days arrive out of
order), duplicated and quarantined rows (a defect day), and a corrected re-delivery of a
file already ingested. At the end every table is compared, by an order-independent content
fingerprint, with (a) a full refresh of silver and gold over the same bronze, lineage
included, and (b) a new warehouse built in one go from the same landing files, lineage
(batch ids, ingestion times) left out since those name different deliveries.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from medallion.generate.defects import DefectOptions
from medallion.generate.product import run_generator
from medallion.resources.pseudonymization import hmac_pads
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import LINEAGE_COLUMNS, ProductSpec, load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.gold import build_gold
from medallion.zones.silver import build_silver
from medallion.zones.tables import zone_fingerprints

PADS = hmac_pads(b"equality-test-key-0123456789")
DAYS = 10
WORLD = {"churn": {"customers": 80}, "deliveries": {"shipments": 500}}
DEFECTS = DefectOptions(day=4, kinds=("duplicates", "out_of_range", "nulls"), rate=0.05)


def run_once(con: duckdb.DuckDBPyConnection, spec: ProductSpec, landing: Path, full=False):
    """One pipeline run over the zone functions: bronze, silver, then gold in spec order."""
    for source in spec.sources:
        ingest_source(con, spec, source, spec.landing(landing))
    for source in spec.sources:
        build_silver(con, spec, source, PADS, full_refresh=full)
    for name, gold in spec.gold.items():
        if not gold.retired:
            build_gold(con, spec, name, full_refresh=full)


def correct_a_delivered_file(spec: ProductSpec, landing: Path) -> None:
    """Re-deliver a versioned CSV source's first file with one row corrected (a new
    version: its version column one second later), as a new batch of the same name."""
    name = next(n for n, s in spec.sources.items() if s.format == "csv" and s.version_column)
    version = spec.sources[name].version_column
    path = sorted((spec.landing(landing) / name).glob("*.csv"))[0]
    frame = pl.read_csv(path, infer_schema=False)
    corrected = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(
            pl.col(version).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False)
            + pl.duration(seconds=1)
        )
        .otherwise(pl.col(version).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False))
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        .alias(version)
    )
    corrected.write_csv(path)


def redeliver_a_file(spec: ProductSpec, landing: Path) -> None:
    """Deliver a Parquet source's first file again, unchanged, under another name."""
    name = next(n for n, s in spec.sources.items() if s.format == "parquet")
    path = sorted((spec.landing(landing) / name).glob("*.parquet"))[0]
    shutil.copy(path, path.with_name(f"{path.stem}-again.parquet"))


def schemas(spec: ProductSpec) -> list[str]:
    return [spec.schema(zone) for zone in ("silver", "quarantine", "gold")]


@pytest.mark.parametrize("product", ["churn", "deliveries"])
@pytest.mark.parametrize("seed", [7, 19])
def test_day_by_day_runs_equal_a_full_rebuild(tmp_path, product, seed):
    spec = load_spec(PACKAGE_PRODUCTS / product / "product.yaml")
    rng = random.Random(seed)
    order = list(range(DAYS))
    rng.shuffle(order)
    landing = tmp_path / "landing"
    options = {"seed": seed, "days": DAYS, "defects": DEFECTS, **WORLD[product]}
    con = duckdb.connect(str(tmp_path / "incremental.duckdb"))
    delivered = 0
    while delivered < DAYS:
        take = rng.randint(1, 3)
        run_generator(spec, landing, deliver_days=order[delivered : delivered + take], **options)
        delivered += take
        if delivered >= DAYS // 2 and not (tmp_path / ".corrected").exists():
            correct_a_delivered_file(spec, landing)
            redeliver_a_file(spec, landing)
            (tmp_path / ".corrected").touch()
        run_once(con, spec, landing)
    run_once(con, spec, landing)
    incremental = zone_fingerprints(con, schemas(spec))
    without_lineage = zone_fingerprints(con, schemas(spec), exclude=LINEAGE_COLUMNS)
    con.close()

    shutil.copy(tmp_path / "incremental.duckdb", tmp_path / "refreshed.duckdb")
    with duckdb.connect(str(tmp_path / "refreshed.duckdb")) as refreshed:
        run_once(refreshed, spec, landing, full=True)
        assert zone_fingerprints(refreshed, schemas(spec)) == incremental
    with duckdb.connect(str(tmp_path / "fresh.duckdb")) as fresh:
        run_once(fresh, spec, landing)
        assert zone_fingerprints(fresh, schemas(spec), exclude=LINEAGE_COLUMNS) == without_lineage
    assert len(incremental) == len(spec.sources) * 2 + len(spec.gold)


def late_order(days: int, rng: random.Random) -> list[int]:
    """Days mostly in order, some a few days late (as a supplier's backlog arrives)."""
    order = list(range(days))
    for i in range(0, days - 3, 5):
        j = i + rng.randint(1, 3)
        order[i], order[j] = order[j], order[i]
    return order


def test_churn_over_months_recomputes_windows_and_changed_customers(tmp_path):
    """churn's customer_features needs 29 days before its first row and 90 of history per
    row, so only months of deliveries reach its windowed path: the last 30 days from 90 days
    of input, plus every day of the customers whose records changed. Those runs must end
    with the table a build in one go gives."""
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    days, rng = 130, random.Random(5)
    order = late_order(days, rng)
    landing = tmp_path / "landing"
    options = {"seed": 5, "days": days, "customers": 40}
    con = duckdb.connect(str(tmp_path / "incremental.duckdb"))
    delivered = 0
    while delivered < days:
        take = rng.randint(1, 12)
        run_generator(spec, landing, deliver_days=order[delivered : delivered + take], **options)
        delivered += take
        run_once(con, spec, landing)
    builds = con.execute(
        """SELECT full_rebuild, window_start, reason FROM churn_audit.gold_builds
           WHERE gold = 'customer_features' ORDER BY built_at"""
    ).fetchall()
    first_day = con.execute(
        "SELECT min(CAST(event_at AS DATE)) FROM churn_silver.usage_events"
    ).fetchone()[0]
    gold = [spec.schema("gold")]
    incremental = zone_fingerprints(con, gold)
    con.close()
    windowed = [b for b in builds if not b[0]]
    assert any((start - first_day).days > 90 for _, start, _ in windowed), builds
    assert any("customer_id value(s) changed" in reason for *_, reason in windowed), builds
    with duckdb.connect(str(tmp_path / "fresh.duckdb")) as fresh:
        run_once(fresh, spec, landing)
        assert fresh.execute(f"SELECT count(*) FROM {spec.table('gold', 'customer_features')}")
        assert zone_fingerprints(fresh, gold) == incremental
