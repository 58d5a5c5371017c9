"""As-of reads on the lake: a published gold version records the DuckLake snapshot it was
copied from, and after gold changed the catalog read at that snapshot (by id, and by the
publication's time) gives the same rows as the published Parquet copy."""

from __future__ import annotations

from datetime import datetime

import pytest

from medallion.generate.product import run_generator
from medallion.lake.timetravel import SNAPSHOT_KEY, as_of
from medallion.resources.pseudonymization import hmac_pads
from medallion.resources.warehouse import connect
from medallion.service.publishing import publish
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.gold import build_gold
from medallion.zones.silver import build_silver
from medallion.zones.sql import quote
from medallion.zones.tables import table_fingerprint

PADS = hmac_pads(b"lake-as-of-key-0123456789abcdef")


def run_zones(con, spec, landing) -> None:
    for source in spec.sources:
        ingest_source(con, spec, source, spec.landing(landing))
    for source in spec.sources:
        build_silver(con, spec, source, PADS)
    for name, gold in spec.gold.items():
        if not gold.retired:
            build_gold(con, spec, name)


def fingerprint(con, select: str) -> tuple[int, int]:
    """The fingerprint of a query's rows, through a session-local temporary table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE fingerprinted AS {select}")
    return table_fingerprint(con, "temp.fingerprinted")


@pytest.mark.slow
def test_gold_as_of_a_publication_equals_its_copy(tmp_path, lake_target):
    spec = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
    name = "hub_daily"
    landing, published = tmp_path / "landing", tmp_path / "published"
    options = {"seed": 7, "days": 6, "shipments": 300}
    run_generator(spec, landing, deliver_days=[0, 1, 2], **options)
    with connect(lake_target) as con:
        run_zones(con, spec, landing)
        publication = publish(con, spec, name, published, checks={})
    run_generator(spec, landing, deliver_days=[3, 4, 5], **options)
    with connect(lake_target) as con:
        run_zones(con, spec, landing)
    columns = ", ".join(quote(c.name) for c in publication.columns)
    table = spec.table("gold", name)
    with connect(lake_target, read_only=True) as con:
        copy = fingerprint(con, f"SELECT * FROM read_parquet('{publication.data_file(published)}')")
        now = fingerprint(con, f"SELECT {columns} FROM {table}")
        by_id = as_of(table, version=publication.extra[SNAPSHOT_KEY])
        by_time = as_of(table, timestamp=datetime.fromisoformat(publication.published_at))
        assert copy[0] == publication.rows > 0
        assert now != copy  # gold moved on after the publication
        assert fingerprint(con, f"SELECT {columns} FROM {by_id}") == copy
        assert fingerprint(con, f"SELECT {columns} FROM {by_time}") == copy


def test_as_of_takes_one_version_or_a_zoned_time():
    assert as_of("g.t", version=3) == "g.t AT (VERSION => 3)"
    when = datetime.fromisoformat("2026-12-02T10:00:00+00:00")
    assert as_of("g.t", timestamp=when) == (
        "g.t AT (TIMESTAMP => TIMESTAMPTZ '2026-12-02T10:00:00+00:00')"
    )
    with pytest.raises(ValueError, match="not both"):
        as_of("g.t", version=3, timestamp=when)
    with pytest.raises(ValueError, match="no time zone"):
        as_of("g.t", timestamp=datetime(2026, 12, 2, 10))
