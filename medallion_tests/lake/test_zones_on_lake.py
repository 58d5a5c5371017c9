"""The zone functions, unchanged, on a DuckLake catalog: the same silver, quarantine and gold
tables as on a DuckDB file from the same landing files (order-independent fingerprints)."""

from __future__ import annotations

import pytest

from medallion.generate.defects import DefectOptions
from medallion.generate.product import run_generator
from medallion.resources.pseudonymization import hmac_pads
from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import LINEAGE_COLUMNS, load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.gold import build_gold
from medallion.zones.silver import build_silver
from medallion.zones.tables import zone_fingerprints

PADS = hmac_pads(b"lake-equality-key-0123456789")
WORLD = {"churn": {"customers": 60}, "deliveries": {"shipments": 300}}
DEFECTS = DefectOptions(day=2, kinds=("duplicates", "out_of_range", "nulls"), rate=0.05)


def run_zones(con, spec, landing) -> None:
    for source in spec.sources:
        ingest_source(con, spec, source, spec.landing(landing))
    for source in spec.sources:
        build_silver(con, spec, source, PADS)
    for name, gold in spec.gold.items():
        if not gold.retired:
            build_gold(con, spec, name)


def describe(con, tables) -> dict[str, list[tuple[str, str]]]:
    return {t: [r[:2] for r in con.execute(f"DESCRIBE {t}").fetchall()] for t in tables}


@pytest.mark.slow
@pytest.mark.parametrize("product", ["churn", "deliveries"])
def test_lake_tables_equal_file_tables(tmp_path, lake_target, product):
    """Two deliveries, each run through every zone on both warehouses; lineage (ingestion
    times, batch ids) left out since those name different deliveries."""
    spec = load_spec(PACKAGE_PRODUCTS / product / "product.yaml")
    landing = tmp_path / "landing"
    options = {"seed": 5, "days": 6, "defects": DEFECTS, **WORLD[product]}
    schemas = [spec.schema(zone) for zone in ("silver", "quarantine", "gold")]
    targets = {"file": tmp_path / "w.duckdb", "lake": lake_target}
    for days in ([0, 1, 2], [3, 4, 5]):
        run_generator(spec, landing, deliver_days=days, **options)
        for target in targets.values():
            with connect(target) as con:
                run_zones(con, spec, landing)
    prints, columns = {}, {}
    for name, target in targets.items():
        with connect(target, read_only=True) as con:
            prints[name] = zone_fingerprints(con, schemas, exclude=LINEAGE_COLUMNS)
            columns[name] = describe(con, prints[name])
    assert len(prints["file"]) == len(spec.sources) * 2 + len(spec.gold)
    assert columns["lake"] == columns["file"]
    assert prints["lake"] == prints["file"]
