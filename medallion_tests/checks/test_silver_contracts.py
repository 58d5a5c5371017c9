"""Bronze → silver contracts on the tiny product: rule severities, exact accounting that
notices lost or invented rows, completeness, quarantine share and references."""

from __future__ import annotations

import pytest

from medallion.checks.silver import (
    completeness,
    referential_integrity,
    row_accounting,
    rule_outcomes,
)
from medallion.resources.pseudonymization import hmac_pads
from medallion.zones.bronze import ingest_source
from medallion.zones.silver import build_silver
from medallion_tests.conftest import write

PADS = hmac_pads(b"k" * 32)


@pytest.fixture
def built(con, spec, landing):
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        3,10,2026-01-02 12:00:00,7.25,
        4,10,2026-01-02 12:00:00,-5.00,
        5,11,2031-01-02 12:00:00,3.00,
        6,99,2026-01-02 12:00:00,3.00,lower
        7,11,2026-01-02 12:00:00,250000.00,
        7,11,2026-01-02 12:00:00,3.00,
        """,
    )
    counts = {}
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
        counts[source] = build_silver(con, spec, source, PADS)
    return counts


def test_each_severity_does_what_it_says(built, con, spec):
    counts = built["orders"]
    reasons = dict(con.execute("SELECT order_id, _reason FROM shop_quarantine.orders").fetchall())
    assert reasons == {
        "4": "amount is below the minimum 0",
        "5": "ordered_at lies in the future of its delivery",
        "7": "breaks rule no_giant_orders: amount < 100000",
    }
    silver_ids = [
        r[0] for r in con.execute("SELECT order_id FROM shop_silver.orders ORDER BY 1").fetchall()
    ]
    assert silver_ids == [1, 2, 3, 6, 7]  # 6 breaks only a warn rule; the valid 7 is kept
    assert counts.rule_counts == {
        "future(ordered_at)": 1,
        "pattern(coupon)": 1,
        "range(amount)": 1,
        "rule(no_giant_orders)": 1,
    }
    outcomes = {o.name: o for o in rule_outcomes(spec, "orders", counts)}
    assert not outcomes["fail_rules"].passed
    assert outcomes["fail_rules"].metadata["violations"] == {"rule(no_giant_orders)": 1}
    assert not outcomes["warn_rules"].passed
    assert outcomes["warn_rules"].severity == "WARN"
    assert outcomes["quarantine_share"].metadata["observed_share"] == pytest.approx(3 / 9)
    assert not outcomes["quarantine_share"].passed


def test_accounting_balances_per_batch(built, con, spec):
    outcome = row_accounting(con, spec, "orders")
    assert outcome.passed, outcome.description
    assert outcome.metadata["bronze_rows"] == 9
    assert (outcome.metadata["silver_rows"], outcome.metadata["quarantined_rows"]) == (5, 3)
    assert outcome.metadata["duplicates_removed"] == 1
    assert outcome.metadata["batches"] == 2


def test_accounting_notices_a_lost_row_and_an_invented_one(built, con, spec):
    con.execute("DELETE FROM shop_silver.orders WHERE order_id = 2")
    lost = row_accounting(con, spec, "orders")
    assert not lost.passed
    assert lost.metadata["unaccounted_rows"] == 1
    assert lost.metadata["unbalanced_batches"][0].startswith("orders_2026-01-01@")
    con.execute(
        "INSERT INTO shop_silver.orders SELECT * REPLACE (_row_number + 1000 AS _row_number) FROM shop_silver.orders LIMIT 1"
    )
    assert row_accounting(con, spec, "orders").metadata["invented_rows"] == 1


def test_accounting_notices_a_swap_that_keeps_the_counts(built, con, spec):
    """A silver row whose lineage was altered keeps every count equal: the fingerprint of the
    row numbers still differs, and the row trace finds a row with no bronze origin."""
    con.execute(
        """UPDATE shop_silver.orders SET _row_number = _row_number + 1000
           WHERE order_id = 2"""
    )
    swapped = row_accounting(con, spec, "orders")
    assert not swapped.passed
    assert swapped.metadata["invented_rows"] == 1
    assert swapped.metadata["batches"] == 2


def test_balanced_batches_skip_the_row_trace(built, con, spec, monkeypatch):
    from medallion.checks import silver

    traced = []
    original = silver._trace_rows
    monkeypatch.setattr(
        silver, "_trace_rows", lambda *args: traced.append(args[3]) or original(*args)
    )
    outcome = row_accounting(con, spec, "orders")
    assert outcome.passed
    [batches] = traced  # only the batch whose order 3 was superseded the next day
    assert len(batches) == 1 and batches[0].startswith("orders_2026-01-01@")


def test_completeness_against_the_declared_minimum(built, con, spec):
    assert completeness(con, spec, "customers").passed  # declared: id, email, country
    every_column = spec.sources["customers"].completeness.model_copy(update={"columns": None})
    source = spec.sources["customers"].model_copy(update={"completeness": every_column})
    strict_spec = spec.model_copy(update={"sources": {**spec.sources, "customers": source}})
    outcome = completeness(con, strict_spec, "customers")
    # bob has no birth date: 1 of 2 customers complete over all declared columns
    assert outcome.metadata["observed_share"] == 0.5
    assert outcome.metadata["null_counts"] == {"birth_date": 1}
    assert outcome.metadata["min_complete_share"] == 0.95
    assert not outcome.passed


def test_referential_integrity_names_orphan_keys(built, con, spec):
    outcome = referential_integrity(con, spec, "orders")
    assert not outcome.passed
    assert outcome.metadata["orphans"] == {"customer_id": 1}
    assert outcome.metadata["example_orphan_keys"] == {"customer_id": ["99"]}


def test_key_unique_compares_rows_with_distinct_keys(spec):
    from medallion.checks.silver import key_unique

    assert key_unique(spec, "orders", 5, 5).passed
    broken = key_unique(spec, "orders", 5, 4)
    assert not broken.passed and broken.description == "1 extra row(s) for 4 distinct order_id"
