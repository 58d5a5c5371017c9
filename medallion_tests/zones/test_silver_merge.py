"""Silver merges new bronze batches instead of rebuilding: the result equals a rebuild, a
late older version never overwrites a newer one, and the ledger accounts for every row."""

from __future__ import annotations

import pytest

from medallion.checks.silver import batch_accounting, changed_keys, referential_integrity
from medallion.resources.pseudonymization import hmac_pads
from medallion.spec import load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.silver import build_silver
from medallion.zones.tables import table_fingerprint
from medallion_tests.conftest import write

PADS = hmac_pads(b"merge-test-key-0123456789")


def _deliver(landing, day: int, lines: str) -> None:
    write(landing / "customers" / f"customers_2026-01-{day:02d}.json", lines)


def _merge(con, spec, landing):
    ingest_source(con, spec, "customers", landing)
    return build_silver(con, spec, "customers", PADS)


def _silver(con):
    return con.execute(
        "SELECT customer_id, country, updated_at FROM shop_silver.customers ORDER BY 1"
    ).fetchall()


def test_late_older_version_does_not_overwrite_a_newer_one(con, spec, landing):
    _merge(con, spec, landing)
    _deliver(
        landing,
        3,
        '{"customer_id": 10, "email": "a@x.io", "country": "FR", "updated_at": "2026-01-03 09:00:00"}',
    )
    newer = _merge(con, spec, landing)
    assert newer.replaced_rows == 1 and newer.silver_rows == 1
    _deliver(
        landing,
        2,
        '{"customer_id": 10, "email": "a@x.io", "country": "BE", "updated_at": "2026-01-02 09:00:00"}',
    )
    late = _merge(con, spec, landing)
    assert (late.bronze_rows, late.silver_rows, late.duplicates_removed) == (1, 0, 1)
    assert late.replaced_rows == 0
    assert [row[:2] for row in _silver(con)] == [(10, "FR"), (11, "DE")]
    assert batch_accounting(con, spec, "customers", late.batches).passed


def test_merge_equals_a_full_rebuild(con, spec, landing):
    _merge(con, spec, landing)
    _deliver(
        landing,
        2,
        """
        {"customer_id": 11, "email": "B@x.io", "country": "NL", "updated_at": "2026-01-02 09:00:00"}
        {"customer_id": 12, "email": null, "country": "NL", "updated_at": "2026-01-02 09:00:00"}
        {"customer_id": 13, "email": "c@x.io", "country": "BE", "updated_at": "2026-01-02 09:00:00"}
        {"customer_id": 13, "email": "c@x.io", "country": "BE", "updated_at": "2026-01-02 09:00:00"}
        """,
    )
    merged = _merge(con, spec, landing)
    assert (merged.bronze_rows, merged.silver_rows, merged.quarantined_rows) == (4, 2, 1)
    assert merged.duplicates_removed == 1 and merged.replaced_rows == 1
    tables = ("shop_silver.customers", "shop_quarantine.customers")
    incremental = {t: table_fingerprint(con, t) for t in tables}
    rebuilt = build_silver(con, spec, "customers", PADS, full_refresh=True)
    assert rebuilt.full_rebuild and rebuilt.reason == "full refresh requested"
    assert {t: table_fingerprint(con, t) for t in tables} == incremental
    assert changed_keys(con, spec, "customers", merged.batches) == (3, 3)


def test_nothing_new_changes_nothing(con, spec, landing):
    first = _merge(con, spec, landing)
    before = table_fingerprint(con, "shop_silver.customers")
    again = _merge(con, spec, landing)
    assert first.full_rebuild and first.reason == "first build"
    assert (again.batches, again.full_rebuild, again.reason) == ((), False, "no new batches")
    assert table_fingerprint(con, "shop_silver.customers") == before


def test_a_changed_spec_rebuilds_silver_in_full(con, spec, spec_path, landing):
    _merge(con, spec, landing)
    spec_path.write_text(
        spec_path.read_text().replace('clean: "lower(email)"', 'clean: "upper(email)"')
    )
    changed = load_spec(spec_path)
    counts = build_silver(con, changed, "customers", PADS)
    assert counts.full_rebuild and "spec" in counts.reason
    assert counts.batches and counts.silver_rows == 2
    assert batch_accounting(con, changed, "customers", counts.batches).passed


def test_accounting_catches_a_row_lost_from_silver(con, spec, landing):
    counts = _merge(con, spec, landing)
    con.execute("DELETE FROM shop_silver.customers WHERE customer_id = 10")
    outcome = batch_accounting(con, spec, "customers", counts.batches)
    assert not outcome.passed
    assert outcome.metadata["table_mismatches"] == ["silver: table 1 rows, ledger 2"]


def test_a_failed_merge_leaves_silver_and_ledger_as_they_were(con, spec, landing, monkeypatch):
    _merge(con, spec, landing)
    before = table_fingerprint(con, "shop_silver.customers")
    ledger = con.execute("SELECT * FROM shop_audit.silver_batches").fetchall()
    _deliver(
        landing,
        2,
        '{"customer_id": 10, "email": "a@x.io", "country": "FR", "updated_at": "2026-01-02 09:00:00"}',
    )
    import medallion.zones.silver as silver

    monkeypatch.setattr(
        silver, "_record_batches", lambda *_: (_ for _ in ()).throw(OSError("disk"))
    )
    with pytest.raises(OSError, match="disk"):
        _merge(con, spec, landing)
    assert table_fingerprint(con, "shop_silver.customers") == before
    assert con.execute("SELECT * FROM shop_audit.silver_batches").fetchall() == ledger


def test_reference_check_looks_at_the_latest_merge_only(con, spec, landing):
    for source in ("customers", "orders"):
        ingest_source(con, spec, source, landing)
        build_silver(con, spec, source, PADS)
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        "order_id,customer_id,ordered_at,amount,coupon\n8,99,2026-01-02 10:00:00,1.00,\n",
    )
    ingest_source(con, spec, "orders", landing)
    build_silver(con, spec, "orders", PADS)
    latest = referential_integrity(con, spec, "orders", latest_only=True)
    assert latest.metadata["orphans"] == {"customer_id": 1}
    assert latest.metadata["example_orphan_keys"] == {"customer_id": ["99"]}
    write(
        landing / "orders" / "orders_2026-01-03.csv",
        "order_id,customer_id,ordered_at,amount,coupon\n9,10,2026-01-03 10:00:00,1.00,\n",
    )
    ingest_source(con, spec, "orders", landing)
    build_silver(con, spec, "orders", PADS)
    assert referential_integrity(con, spec, "orders", latest_only=True).passed
    assert referential_integrity(con, spec, "orders").metadata["orphans"] == {"customer_id": 1}
