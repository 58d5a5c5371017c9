"""Landing → bronze on tiny files: as delivered, with lineage, once per content, clear errors."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl
import pytest

from medallion.zones.bronze import (
    LandingFile,
    LandingFileError,
    _append,
    file_sha256,
    ingest_file,
    ingest_source,
)
from medallion_tests.conftest import write


def _landing(source: str, path) -> LandingFile:
    return LandingFile(source, path, file_sha256(path), path.stat().st_size)


def test_csv_lands_as_varchar_with_lineage(con, spec, landing):
    report = ingest_source(con, spec, "orders", landing)
    assert report.ingested == [("orders_2026-01-01.csv", 3)]
    rows = con.execute(
        "SELECT order_id, amount, coupon, _batch_id, _source_file, _row_number "
        "FROM shop_bronze.orders ORDER BY _row_number"
    ).fetchall()
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert rows[0][1] == "20.50"
    assert rows[1][2] == "WELCOME"
    assert rows[0][3].startswith("orders_2026-01-01@")
    assert rows[0][4].endswith("orders_2026-01-01.csv")
    assert [r[5] for r in rows] == [1, 2, 3]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'shop_bronze' AND table_name = 'orders'"
        ).fetchall()
    )
    assert types["amount"] == "VARCHAR"
    assert types["_ingested_at"] == "TIMESTAMP"


def test_same_content_twice_is_ingested_once(con, spec, landing):
    ingest_source(con, spec, "orders", landing)
    copy = landing / "orders" / "orders_copy.csv"
    copy.write_bytes((landing / "orders" / "orders_2026-01-01.csv").read_bytes())
    report = ingest_source(con, spec, "orders", landing)
    assert report.ingested == []
    assert sorted(report.skipped) == ["orders_2026-01-01.csv", "orders_copy.csv"]
    assert con.execute("SELECT count(*) FROM shop_bronze.orders").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM shop_bronze._ingested_files").fetchone()[0] == 1


def test_rewriting_an_ingested_batch_is_refused_and_changes_nothing(con, spec, landing):
    """Even a code path that skips the ledger lookup (or a second writer racing the first)
    cannot append a batch again: the ledger's key (source, content hash) refuses it and the
    transaction with the batch's rows rolls back."""
    ingest_source(con, spec, "orders", landing)
    before = con.execute(
        "SELECT count(*), list(_ingested_at), max(_batch_id) FROM shop_bronze.orders"
    ).fetchone()
    landed = _landing("orders", landing / "orders" / "orders_2026-01-01.csv")
    assert ingest_file(con, spec, "orders", landed) is None  # the normal path skips it
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.ConstraintException, match="violates primary key"):
        _append(con, spec, "orders", landed, datetime(2030, 1, 1))
    con.execute("ROLLBACK")
    after = con.execute(
        "SELECT count(*), list(_ingested_at), max(_batch_id) FROM shop_bronze.orders"
    ).fetchone()
    assert after == before
    assert con.execute("SELECT count(*) FROM shop_bronze._ingested_files").fetchone()[0] == 1


def test_corrected_redelivery_under_same_name_is_a_new_batch(con, spec, landing):
    path = landing / "orders" / "orders_2026-01-01.csv"
    ingest_source(con, spec, "orders", landing)
    path.write_text(path.read_text().replace("20.50", "21.50"))
    report = ingest_source(con, spec, "orders", landing)
    assert report.ingested == [("orders_2026-01-01.csv", 3)]
    batches = con.execute("SELECT count(DISTINCT _batch_id) FROM shop_bronze.orders").fetchone()[0]
    assert batches == 2


def test_json_lands_and_extra_columns_are_rescued(con, spec, tmp_path):
    path = write(
        tmp_path / "l" / "customers" / "c.json",
        '{"customer_id": 1, "email": "a@b.c", "country": "NL", "updated_at": "2026-01-01 00:00:00", '
        '"loyalty": {"tier": "gold"}}\n',
    )
    assert ingest_file(con, spec, "customers", _landing("customers", path)) == 1
    row = con.execute(
        "SELECT customer_id, birth_date, _rescued_data FROM shop_bronze.customers"
    ).fetchone()
    assert row[0] == "1"
    assert row[1] is None
    assert row[2] == '{"loyalty":{"tier":"gold"}}'
    missing = con.execute(
        "SELECT missing_columns, extra_columns FROM shop_bronze._ingested_files"
    ).fetchone()
    assert missing == (["birth_date"], ["loyalty"])


def test_parquet_files_land_together_with_each_files_lineage(con, spec, tmp_path):
    folder = tmp_path / "l" / "refunds"
    folder.mkdir(parents=True)
    frames = {
        "refunds_1.parquet": pl.DataFrame({"refund_id": [1, 2], "order_id": [7, 8]}),
        "refunds_2.parquet": pl.DataFrame(
            {"refund_id": [3, 4, 5], "order_id": [9, 9, 9], "amount": [1.0, 2.0, 3.0]}
        ),
        "refunds_3.parquet": pl.DataFrame(
            {"refund_id": [6], "order_id": [1], "amount": [4.0], "reason": ["late"]}
        ),
    }
    for name, frame in frames.items():
        frame.write_parquet(folder / name)
    report = ingest_source(con, spec, "refunds", tmp_path / "l")
    assert sorted(report.ingested) == [
        ("refunds_1.parquet", 2),
        ("refunds_2.parquet", 3),
        ("refunds_3.parquet", 1),
    ]
    rows = con.execute(
        """SELECT refund_id, amount, _rescued_data, _batch_id, _source_file, _row_number
           FROM shop_bronze.refunds ORDER BY refund_id"""
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        (1, None),
        (2, None),
        (3, 1.0),
        (4, 2.0),
        (5, 3.0),
        (6, 4.0),
    ]
    assert [r[5] for r in rows] == [1, 2, 1, 2, 3, 1]  # row number within its own file
    for refund_id, _, _, batch, source_file, _ in rows:
        name = {1: "refunds_1", 2: "refunds_1", 6: "refunds_3"}.get(refund_id, "refunds_2")
        assert batch.startswith(f"{name}@") and source_file == str(folder / f"{name}.parquet")
    ledger = con.execute(
        "SELECT file_name, row_count, missing_columns, extra_columns, batch_id "
        "FROM shop_bronze._ingested_files ORDER BY file_name"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in ledger] == [
        ("refunds_1.parquet", 2, ["amount"], []),
        ("refunds_2.parquet", 3, [], []),
        ("refunds_3.parquet", 1, [], ["reason"]),
    ]
    assert {r[4] for r in ledger} == {r[3] for r in rows}


def test_an_empty_parquet_file_is_refused_and_the_others_still_land(con, spec, tmp_path):
    folder = tmp_path / "l" / "refunds"
    folder.mkdir(parents=True)
    pl.DataFrame({"refund_id": [1], "order_id": [2], "amount": [1.0]}).write_parquet(
        folder / "refunds_1.parquet"
    )
    pl.DataFrame(
        {"refund_id": [], "order_id": [], "amount": []},
        schema={"refund_id": pl.Int64, "order_id": pl.Int64, "amount": pl.Float64},
    ).write_parquet(folder / "refunds_2.parquet")
    report = ingest_source(con, spec, "refunds", tmp_path / "l")
    assert report.ingested == [("refunds_1.parquet", 1)]
    assert (
        len(report.failed) == 1
        and "refunds_2.parquet: 0 rows in the Parquet file" in report.failed[0]
    )
    assert con.execute("SELECT count(*) FROM shop_bronze.refunds").fetchone()[0] == 1


def test_parquet_keeps_declared_types(con, spec, tmp_path):
    path = tmp_path / "l" / "refunds" / "r.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame({"refund_id": [1, 2], "order_id": [1, 1], "amount": [1.5, 2.0]}).write_parquet(
        path
    )
    assert ingest_file(con, spec, "refunds", _landing("refunds", path)) == 2
    assert con.execute(
        "SELECT sum(amount), max(_row_number) FROM shop_bronze.refunds"
    ).fetchone() == (3.5, 2)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", "", "empty file (0 bytes)"),
        (
            "header.csv",
            "order_id,customer_id,ordered_at,amount,coupon\n",
            "header only, no data records",
        ),
        (
            "missing.csv",
            "order_id,customer_id,amount\n1,2,3\n",
            "missing required column(s) ['ordered_at']",
        ),
        (
            "semicolons.csv",
            "order_id;customer_id;ordered_at;amount\n1;2;2026-01-01;3\n",
            "missing required column(s)",
        ),
    ],
)
def test_unreadable_csv_names_file_and_problem_and_writes_nothing(
    con, spec, tmp_path, name, content, problem
):
    path = (
        write(tmp_path / "l" / "orders" / name, content)
        if content
        else tmp_path / "l" / "orders" / name
    )
    if not content:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    with pytest.raises(LandingFileError) as error:
        ingest_file(con, spec, "orders", _landing("orders", path))
    assert str(path) in str(error.value)
    assert problem in str(error.value)
    assert con.execute("SELECT count(*) FROM shop_bronze.orders").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM shop_bronze._ingested_files").fetchone()[0] == 0


def test_a_header_that_is_not_utf8_is_named(con, spec, tmp_path):
    path = tmp_path / "l" / "orders" / "latin1.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        "order_id,customer_id,ordered_at,amount,coupon_caf\xe9\n1,2,2026-01-01,3,x\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(LandingFileError, match="header is not utf-8 encoded"):
        ingest_file(con, spec, "orders", _landing("orders", path))


def test_bad_file_is_reported_and_good_files_still_land(con, spec, landing):
    write(landing / "orders" / "orders_2026-01-02.csv", "order_id,amount\n9,1\n")
    (landing / "orders" / "notes.xlsx").write_bytes(b"PK")
    (landing / "orders" / ".orders_2026-01-03.csv.tmp").write_text("partial")
    report = ingest_source(con, spec, "orders", landing)
    assert report.ingested == [("orders_2026-01-01.csv", 3)]
    assert len(report.failed) == 2
    assert any("notes.xlsx: unknown file type '.xlsx'" in f for f in report.failed)
    assert any("orders_2026-01-02.csv: missing required column(s)" in f for f in report.failed)


def test_malformed_csv_lines_are_kept_raw_with_the_parser_reason(con, spec, tmp_path):
    path = write(
        tmp_path / "l" / "orders" / "ragged.csv",
        "order_id,customer_id,ordered_at,amount,coupon\n"
        "1,2,2026-01-01,3,\n"
        "2,2,2026-01-01,3,,extra\n"
        "3,2\n"
        "4,2,2026-01-01,5,\n",
    )
    assert ingest_file(con, spec, "orders", _landing("orders", path)) == 4
    rows = con.execute(
        "SELECT order_id, _rescued_data, _parse_error FROM shop_bronze.orders ORDER BY _row_number"
    ).fetchall()
    assert [r[0] for r in rows] == ["1", "4", None, None]
    assert rows[2][1] == '{"raw_line":"2,2,2026-01-01,3,,extra"}'
    assert rows[2][2].startswith("line 3: TOO MANY COLUMNS")
    assert rows[3][2].startswith("line 4, column ordered_at: MISSING COLUMNS")
    ledger = con.execute(
        "SELECT row_count, malformed_rows FROM shop_bronze._ingested_files"
    ).fetchone()
    assert ledger == (4, 2)
