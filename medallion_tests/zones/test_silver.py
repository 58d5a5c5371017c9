"""Bronze → silver on tiny batches: typing, cleaning, latest version wins, PII pseudonymized,
bad rows quarantined with the reason, and every bronze row accounted for."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from medallion.resources.pseudonymization import hmac_pads
from medallion.zones.bronze import ingest_source
from medallion.zones.silver import build_silver
from medallion.zones.tables import table_fingerprint
from medallion_tests.conftest import write

KEY = b"test-key-0123456789abcdef"


def _hmac(value: str, key: bytes = KEY) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def loaded(con, spec, landing):
    write(
        landing / "customers" / "customers_2026-01-02.json",
        """
        {"customer_id": 10, "email": "ANN.NEW@example.com", "birth_date": "1990-05-01", "country": "BE", "updated_at": "2026-01-02 09:00:00"}
        {"customer_id": 12, "email": null, "country": "FR", "updated_at": "2026-01-02 09:00:00"}
        {"customer_id": "x13", "email": "c@example.com", "country": "FR", "updated_at": "2026-01-02 09:00:00"}
        """,
    )
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        3,10,2026-01-01 12:00:00,7.25,
        4,11,2026-01-02 10:00:00,abc,
        5,11,2026-01-02 11:00:00,  ,
        """,
    )
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
    return con


def test_latest_version_wins_and_values_are_typed_and_cleaned(loaded, spec):
    counts = build_silver(loaded, spec, "customers", hmac_pads(KEY))
    rows = loaded.execute(
        "SELECT customer_id, email, country, birth_decade FROM shop_silver.customers ORDER BY customer_id"
    ).fetchall()
    assert rows == [
        (10, _hmac("ann.new@example.com"), "BE", 1990),
        (11, _hmac("bob@example.com"), "DE", None),
    ]
    assert counts.bronze_rows == 5
    assert counts.silver_rows == 2
    assert counts.quarantined_rows == 2
    assert counts.duplicates_removed == 1
    assert counts.balanced


def test_pii_never_reaches_silver_in_clear(loaded, spec):
    build_silver(loaded, spec, "customers", hmac_pads(KEY))
    text = str(loaded.execute("SELECT * FROM shop_silver.customers").fetchall())
    assert "example.com" not in text
    assert "1990-05-01" not in text
    assert _hmac("1990-05-01") in text


def test_pseudonyms_depend_on_the_key(loaded, spec):
    build_silver(loaded, spec, "customers", hmac_pads(b"another-key-0123456789"))
    email = loaded.execute(
        "SELECT email FROM shop_silver.customers WHERE customer_id = 11"
    ).fetchone()[0]
    assert email == _hmac("bob@example.com", b"another-key-0123456789")
    assert email != _hmac("bob@example.com")


def test_rows_breaking_rules_are_quarantined_with_reason_and_raw_values(loaded, spec):
    counts = build_silver(loaded, spec, "orders", hmac_pads(KEY))
    quarantine = loaded.execute(
        "SELECT order_id, amount, _rules, _reason, _batch_id FROM shop_quarantine.orders ORDER BY order_id"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in quarantine] == [
        ("4", "abc", ["type(amount)"], "amount does not convert to DECIMAL(10,2)"),
        ("5", "  ", ["required(amount)"], "amount is required but missing"),
    ]
    assert all(r[4].startswith("orders_2026-01-02@") for r in quarantine)
    assert (
        counts.bronze_rows,
        counts.silver_rows,
        counts.quarantined_rows,
        counts.duplicates_removed,
    ) == (6, 3, 2, 1)
    amounts = loaded.execute(
        "SELECT order_id, amount FROM shop_silver.orders ORDER BY 1"
    ).fetchall()
    assert [(o, float(a)) for o, a in amounts] == [(1, 20.5), (2, 5.0), (3, 7.25)]


def test_non_numeric_key_is_quarantined_not_dropped(loaded, spec):
    build_silver(loaded, spec, "customers", hmac_pads(KEY))
    reasons = loaded.execute(
        "SELECT customer_id, _reason FROM shop_quarantine.customers ORDER BY 1"
    ).fetchall()
    assert reasons == [
        ("12", "email is required but missing"),
        ("x13", "customer_id does not convert to BIGINT"),
    ]


def test_rebuild_is_idempotent_and_bronze_untouched(loaded, spec):
    bronze_before = table_fingerprint(loaded, "shop_bronze.orders")
    build_silver(loaded, spec, "orders", hmac_pads(KEY))
    first = table_fingerprint(loaded, "shop_silver.orders")
    build_silver(loaded, spec, "orders", hmac_pads(KEY))
    assert table_fingerprint(loaded, "shop_silver.orders") == first
    assert first[0] == 3
    assert table_fingerprint(loaded, "shop_bronze.orders") == bronze_before


def test_failed_build_leaves_previous_silver(loaded, spec, monkeypatch):
    build_silver(loaded, spec, "orders", hmac_pads(KEY))
    before = loaded.execute("SELECT count(*) FROM shop_silver.orders").fetchone()[0]
    import medallion.zones.silver as silver

    monkeypatch.setattr(silver, "quarantine_sql", lambda *_: "SELECT no_such_column FROM nowhere")
    with pytest.raises(Exception, match="nowhere"):
        build_silver(loaded, spec, "orders", hmac_pads(KEY))
    assert loaded.execute("SELECT count(*) FROM shop_silver.orders").fetchone()[0] == before


def test_malformed_lines_are_quarantined_with_the_parser_reason(con, spec, landing):
    write(
        landing / "orders" / "orders_2026-01-03.csv",
        "order_id,customer_id,ordered_at,amount,coupon\n9,10,2026-01-03 10:00:00,1.00,\n9,10\n",
    )
    ingest_source(con, spec, "orders", landing)
    counts = build_silver(con, spec, "orders", hmac_pads(KEY))
    reasons = con.execute("SELECT _rules, _reason FROM shop_quarantine.orders").fetchall()
    assert reasons == [
        (
            ["malformed"],
            "malformed line, line 3, column ordered_at: MISSING COLUMNS: Expected Number of "
            "Columns: 5 Found: 2",
        )
    ]
    assert counts.balanced and counts.quarantined_rows == 1 and counts.silver_rows == 4


def test_duplicate_keys_within_one_batch_keep_the_last_delivered_row(con, spec, landing):
    write(
        landing / "orders" / "orders_2026-01-03.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        20,10,2026-01-03 10:00:00,1.00,
        20,10,2026-01-03 10:00:00,2.00,
        """,
    )
    ingest_source(con, spec, "orders", landing)
    counts = build_silver(con, spec, "orders", hmac_pads(KEY))
    amount = con.execute("SELECT amount FROM shop_silver.orders WHERE order_id = 20").fetchone()[0]
    assert float(amount) == 2.0
    assert counts.duplicates_removed == 1 and counts.balanced


def test_corrected_redelivery_wins_in_silver_and_accounting_holds(con, spec, landing):
    path = landing / "orders" / "orders_2026-01-01.csv"
    ingest_source(con, spec, "orders", landing)
    build_silver(con, spec, "orders", hmac_pads(KEY))
    path.write_text(path.read_text().replace("20.50", "21.50"))
    ingest_source(con, spec, "orders", landing)
    counts = build_silver(con, spec, "orders", hmac_pads(KEY))
    amount = con.execute("SELECT amount FROM shop_silver.orders WHERE order_id = 1").fetchone()[0]
    assert float(amount) == 21.5
    assert (counts.bronze_rows, counts.silver_rows, counts.duplicates_removed) == (6, 3, 3)
