"""Landing → bronze contracts: refused files named, ledger and bronze agree, drift visible."""

from __future__ import annotations

import pytest

from medallion.checks.landing import file_ledger, files_readable, schema_drift
from medallion.zones.bronze import ingest_source
from medallion_tests.conftest import write


def test_refused_files_fail_the_blocking_check_with_their_names(con, spec, landing):
    write(landing / "orders" / "orders_2026-01-02.csv", "")
    (landing / "orders" / "orders_2026-01-02.csv").write_bytes(b"")
    (landing / "orders" / "export.xlsx").write_bytes(b"PK")
    report = ingest_source(con, spec, "orders", landing)
    outcome = files_readable(report)
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.metadata["files_refused"] == 2
    assert outcome.metadata["files_ingested"] == 1
    assert any("export.xlsx" in r for r in outcome.metadata["refused"])
    assert any("empty file" in r for r in outcome.metadata["refused"])


@pytest.mark.bronze_tampered
def test_ledger_agrees_and_notices_tampering(con, spec, landing):
    ingest_source(con, spec, "orders", landing)
    assert file_ledger(con, spec, "orders").passed
    con.execute("DELETE FROM shop_bronze.orders WHERE order_id = '2'")
    outcome = file_ledger(con, spec, "orders")
    assert not outcome.passed
    assert outcome.metadata["row_count_mismatches"] == 1


def test_schema_drift_reports_new_and_missing_columns(con, spec, landing):
    first = ingest_source(con, spec, "orders", landing)
    assert schema_drift(con, spec, "orders", first.batch_ids).passed
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        """
        order_id,customer_id,ordered_at,amount,channel
        8,10,2026-01-02 10:00:00,1.00,web
        """,
    )
    second = ingest_source(con, spec, "orders", landing)
    outcome = schema_drift(con, spec, "orders", second.batch_ids)
    assert not outcome.passed and outcome.severity == "WARN"
    assert outcome.metadata["new_columns"] == ["channel"]
    assert outcome.metadata["missing_columns"] == ["coupon"]
    assert outcome.metadata["changed_since_previous_batch"] == ["orders_2026-01-02.csv"]
    rescued = con.execute(
        "SELECT _rescued_data FROM shop_bronze.orders WHERE order_id = '8'"
    ).fetchone()[0]
    assert rescued == '{"channel":"web"}'


def test_fail_policy_refuses_a_drifted_file(con, spec, landing):
    strict = spec.sources["orders"].model_copy(update={"schema_drift": "fail"})
    strict_spec = spec.model_copy(update={"sources": {**spec.sources, "orders": strict}})
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        "order_id,customer_id,ordered_at,amount,coupon,extra\n9,1,2026-01-02,1,,x\n",
    )
    report = ingest_source(con, strict_spec, "orders", landing)
    assert len(report.failed) == 1
    assert "schema_drift policy is 'fail'" in report.failed[0]
    assert "new ['extra']" in report.failed[0]
    assert (
        con.execute("SELECT count(*) FROM shop_bronze.orders WHERE order_id = '9'").fetchone()[0]
        == 0
    )


def test_accept_policy_records_but_does_not_keep_extra_values(con, spec, landing):
    accepting = spec.sources["orders"].model_copy(update={"schema_drift": "accept"})
    accept_spec = spec.model_copy(update={"sources": {**spec.sources, "orders": accepting}})
    write(
        landing / "orders" / "orders_2026-01-02.csv",
        "order_id,customer_id,ordered_at,amount,coupon,extra\n9,1,2026-01-02,1,,x\n",
    )
    report = ingest_source(con, accept_spec, "orders", landing)
    assert not report.failed
    row = con.execute(
        "SELECT _rescued_data FROM shop_bronze.orders WHERE order_id = '9'"
    ).fetchone()
    assert row == (None,)
    extra = con.execute(
        "SELECT extra_columns FROM shop_bronze._ingested_files WHERE file_name LIKE '%01-02%'"
    ).fetchone()
    assert extra == (["extra"],)


@pytest.mark.bronze_tampered
def test_ledger_names_a_file_whose_records_are_not_all_in_bronze(con, spec, landing):
    ingest_source(con, spec, "orders", landing)
    con.execute("UPDATE shop_bronze._ingested_files SET records = 500 WHERE source = 'orders'")
    outcome = file_ledger(con, spec, "orders")
    assert not outcome.passed and outcome.severity == "ERROR"
    expected = "orders_2026-01-01.csv: 500 records in the file, 3 rows in bronze (-497)"
    assert outcome.description == expected
    assert outcome.metadata["records_not_in_bronze"] == [expected]
