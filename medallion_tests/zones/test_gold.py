"""Silver → gold on tiny tables: SQL with refs and a Polars function, both swapped in atomically."""

from __future__ import annotations

import pytest

from medallion.resources.pseudonymization import hmac_pads
from medallion.spec import SpecError
from medallion.zones.bronze import ingest_source
from medallion.zones.gold import build_gold, load_polars_transform
from medallion.zones.silver import build_silver


@pytest.fixture
def silver(con, spec, landing):
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
        build_silver(con, spec, source, hmac_pads(b"k" * 32))
    return con


def test_sql_gold_reads_silver_through_refs(silver, spec):
    assert build_gold(silver, spec, "revenue_by_country").table_rows == 2
    rows = silver.execute(
        "SELECT country, revenue, orders FROM shop_gold.revenue_by_country ORDER BY 1"
    ).fetchall()
    assert [(c, float(r), n) for c, r, n in rows] == [("DE", 5.0, 1), ("NL", 27.75, 2)]


def test_polars_gold_goes_through_arrow(silver, spec):
    assert build_gold(silver, spec, "orders_per_customer").table_rows == 2
    rows = silver.execute(
        "SELECT customer_id, orders, amount FROM shop_gold.orders_per_customer ORDER BY 1"
    ).fetchall()
    assert rows == [(10, 2, 27.75), (11, 1, 5.0)]


def test_failing_sql_keeps_previous_gold(silver, spec):
    build_gold(silver, spec, "revenue_by_country")
    broken = spec.model_copy(
        update={"gold_sql": {**spec.gold_sql, "revenue_by_country": "SELECT 1/0 AS x FROM nowhere"}}
    )
    with pytest.raises(Exception, match="nowhere"):
        build_gold(silver, broken, "revenue_by_country")
    assert silver.execute("SELECT count(*) FROM shop_gold.revenue_by_country").fetchone()[0] == 2


def test_unknown_polars_function_names_spec_field(spec):
    gold = spec.gold["orders_per_customer"].model_copy(
        update={"polars": "medallion_tests.shop_transforms:nope"}
    )
    broken = spec.model_copy(update={"gold": {**spec.gold, "orders_per_customer": gold}})
    with pytest.raises(
        SpecError, match=r"gold\.orders_per_customer\.polars: .* has no function 'nope'"
    ):
        load_polars_transform(broken, "orders_per_customer")
