"""Incremental gold by changed entity: a changed customer record recomputes that customer's
rows on every day, and only those (with the time window), and ends equal to a full build."""

from __future__ import annotations

import pytest
import yaml

from medallion.resources.pseudonymization import hmac_pads
from medallion.spec import load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.gold import build_gold
from medallion.zones.silver import build_silver
from medallion.zones.tables import table_fingerprint
from medallion_tests.conftest import TINY_SPEC, write

PADS = hmac_pads(b"changed-keys-test-key-0123456789")
CUSTOMER_DAYS = """
SELECT o.customer_id, CAST(o.ordered_at AS DATE) AS day, c.country, sum(o.amount) AS amount
FROM {{ silver.orders }} AS o JOIN {{ silver.customers }} AS c USING (customer_id)
WHERE CAST(o.ordered_at AS DATE) >= {{ history_start }}
   OR CAST(o.customer_id AS VARCHAR) IN (SELECT key FROM {{ changed_keys }})
GROUP BY ALL
"""


def _spec(tmp_path, orders_time_column: str | None):
    """The tiny shop with `customer_days`: one row per customer and day of orders, with the
    customer's current country, incremental by day and by customer."""
    raw = yaml.safe_load(TINY_SPEC)
    raw["partitions_start"] = "2026-01-01"
    if orders_time_column:
        raw["sources"]["orders"]["time_column"] = orders_time_column
    raw["gold"]["customer_days"] = {
        "grain": ["customer_id", "day"],
        "sql": CUSTOMER_DAYS,
        "incremental": {"time_column": "day", "key_column": "customer_id"},
    }
    path = tmp_path / "products" / "shop" / "product.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def _run(con, spec, landing):
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
        build_silver(con, spec, source, PADS)
    return build_gold(con, spec, "customer_days")


def _rows(con):
    return con.execute(
        "SELECT customer_id, day::VARCHAR, country, amount::DOUBLE FROM shop_gold.customer_days "
        "ORDER BY ALL"
    ).fetchall()


def _equals_a_full_build(con, spec) -> bool:
    before = table_fingerprint(con, "shop_gold.customer_days")
    build_gold(con, spec, "customer_days", full_refresh=True)
    return table_fingerprint(con, "shop_gold.customer_days") == before


def test_a_changed_customer_recomputes_its_rows_on_every_day(con, tmp_path, landing):
    spec = _spec(tmp_path, orders_time_column="ordered_at")
    write(
        landing / "orders" / "orders_2026-01-05.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        4,11,2026-01-05 10:00:00,3.00,
        """,
    )
    assert _run(con, spec, landing).window.full
    write(
        landing / "customers" / "customers_2026-01-06.json",
        '{"customer_id": 10, "email": "ann@example.com", "country": "FR",'
        ' "updated_at": "2026-01-06 09:00:00"}',
    )
    build = _run(con, spec, landing)
    assert not build.window.full and build.window.keys == ("10",)
    assert "1 customer_id value(s) changed" in build.window.reason
    # customer 10's one day is recomputed; customer 11's two days are left alone
    assert (build.rows_replaced, build.rows_written) == (1, 1)
    assert _rows(con) == [
        (10, "2026-01-01", "FR", 27.75),
        (11, "2026-01-01", "DE", 5.0),
        (11, "2026-01-05", "DE", 3.0),
    ]
    assert _equals_a_full_build(con, spec)


def test_a_row_moved_to_another_customer_names_both(con, tmp_path, landing):
    """orders without a time column: a corrected order moved from customer 10 to 11 changes
    both customers' rows."""
    spec = _spec(tmp_path, orders_time_column=None)
    _run(con, spec, landing)
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        3,11,2026-01-01 12:00:00,7.25,
        """,
    )
    build = _run(con, spec, landing)
    assert build.window.keys == ("10", "11")
    recorded = con.execute(
        "SELECT entity, key FROM shop_audit.silver_changed_keys ORDER BY ALL"
    ).fetchall()
    assert recorded == [("orders", "10"), ("orders", "11")]
    assert _rows(con) == [(10, "2026-01-01", "NL", 20.5), (11, "2026-01-01", "DE", 12.25)]
    assert _equals_a_full_build(con, spec)


def test_key_column_must_be_a_grain_column(tmp_path):
    raw = yaml.safe_load(TINY_SPEC)
    raw["partitions_start"] = "2026-01-01"
    raw["gold"]["revenue_by_country"]["incremental"] = {
        "time_column": "country",
        "key_column": "customer_id",
    }
    path = write(tmp_path / "product.yaml", yaml.safe_dump(raw))
    with pytest.raises(Exception, match="key_column 'customer_id' must be a grain column"):
        load_spec(path)
