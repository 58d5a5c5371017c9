"""Every record of a text file lands: a stray quote costs one record, not the rest of the file;
rejected records keep their whole raw text; NDJSON lines are taken one by one."""

from __future__ import annotations

import json

import pytest

from medallion.zones.bronze import ingest_source
from medallion.zones.records import scan_csv
from medallion_tests.conftest import write

HEADER = "order_id,customer_id,ordered_at,amount,coupon"
ROWS = 120_000


def _orders(count: int) -> list[str]:
    return [f"{i},{i % 97},2026-01-01 10:00:00,{i % 50}.25,SPRING" for i in range(1, count + 1)]


def _bronze(con, source: str = "orders") -> tuple[int, int]:
    return con.execute(f"SELECT count(*), count(_parse_error) FROM shop_bronze.{source}").fetchone()


@pytest.mark.parametrize(
    ("where", "line"),
    [("start", 0), ("middle", ROWS // 2), ("end", ROWS - 1)],
)
def test_a_stray_quote_in_a_large_file_costs_one_record(con, spec, tmp_path, where, line):
    rows = _orders(ROWS)
    rows[line] = rows[line].replace(",SPRING", ',"SPRING')
    path = write(tmp_path / "l" / "orders" / f"orders_{where}.csv", "\n".join([HEADER, *rows]))
    report = ingest_source(con, spec, "orders", tmp_path / "l")
    assert report.failed == []
    assert report.ingested == [(path.name, ROWS)]
    assert _bronze(con) == (ROWS, 1)
    kept, reason, number = con.execute(
        "SELECT json_extract_string(_rescued_data, '$.raw_line'), _parse_error, _row_number "
        "FROM shop_bronze.orders WHERE _parse_error IS NOT NULL"
    ).fetchone()
    assert kept == rows[line]
    assert reason.startswith(f"line {line + 2}: unbalanced quote")
    assert number == ROWS  # rejected records follow the parsed ones
    neighbours = con.execute(
        "SELECT count(*) FROM shop_bronze.orders WHERE order_id IN (?, ?)",
        [str(line), str(line + 2)],
    ).fetchone()[0]
    assert neighbours == (1 if where in ("start", "end") else 2)
    assert con.execute("SELECT records, row_count FROM shop_bronze._ingested_files").fetchone() == (
        ROWS,
        ROWS,
    )


def test_many_stray_quotes_and_a_badly_closed_one_each_cost_one_record(con, spec, tmp_path):
    rows = _orders(ROWS)
    broken = {7: ',"SPRING', 60_001: ',SPR"ING', 90_000: ',"SPRING" x'}
    for index, tail in broken.items():
        rows[index] = rows[index].replace(",SPRING", tail)
    write(tmp_path / "l" / "orders" / "orders.csv", "\n".join([HEADER, *rows]) + "\n")
    report = ingest_source(con, spec, "orders", tmp_path / "l")
    assert report.ingested == [("orders.csv", ROWS)]
    parsed, rejected = _bronze(con)
    assert parsed == ROWS
    rejected_ids = {
        row[0].split(",")[0]
        for row in con.execute(
            "SELECT json_extract_string(_rescued_data, '$.raw_line') FROM shop_bronze.orders "
            "WHERE _parse_error IS NOT NULL"
        ).fetchall()
    }
    # SPR"ING is an unquoted value with a quote inside: read as delivered, not cut.
    assert rejected_ids == {str(7 + 1), str(90_000 + 1)}
    assert rejected == 2


def test_a_quoted_value_over_several_lines_is_one_record(con, spec, tmp_path):
    write(
        tmp_path / "l" / "orders" / "orders.csv",
        f'{HEADER}\n1,10,2026-01-01 10:00:00,1.00,"two\nlines"\n2,10,2026-01-01 10:00:00,2.00,\n',
    )
    report = ingest_source(con, spec, "orders", tmp_path / "l")
    assert report.ingested == [("orders.csv", 2)]
    assert con.execute("SELECT coupon FROM shop_bronze.orders WHERE order_id = '1'").fetchone() == (
        "two\nlines",
    )


def test_a_quote_open_for_more_lines_than_allowed_is_cut(tmp_path):
    lines = [HEADER, '1,10,2026-01-01 10:00:00,1.00,"long', *["more text"] * 60, 'end"']
    path = write(tmp_path / "long.csv", "\n".join(lines) + "\n")
    layout = scan_csv(path, width=5, max_record_lines=50)
    assert list(layout.bad_lines) == [1, 62]
    assert layout.spans == {}
    assert layout.records == 62
    assert scan_csv(path, width=5, max_record_lines=100).spans == {1: 62}


def test_a_rejected_record_keeps_its_whole_text_beyond_ten_thousand_characters(con, spec, tmp_path):
    huge = "x" * 50_000
    write(
        tmp_path / "l" / "orders" / "orders.csv",
        f"{HEADER}\n1,10,2026-01-01 10:00:00,1.00,A,{huge}\n2,10,2026-01-01 10:00:00,2.00,\n",
    )
    ingest_source(con, spec, "orders", tmp_path / "l")
    kept, reason = con.execute(
        "SELECT json_extract_string(_rescued_data, '$.raw_line'), _parse_error "
        "FROM shop_bronze.orders WHERE _parse_error IS NOT NULL"
    ).fetchone()
    assert kept == f"1,10,2026-01-01 10:00:00,1.00,A,{huge}"
    assert reason.startswith("line 2") and "TOO MANY COLUMNS" in reason


def test_ndjson_bad_lines_are_kept_one_by_one_and_good_lines_land(con, spec, tmp_path):
    good = {"customer_id": 1, "email": "a@b.c", "country": "NL", "updated_at": "2026-01-01"}
    path = tmp_path / "l" / "customers" / "customers.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        (json.dumps(good) + "\n[1, 2]\n\n" + json.dumps({**good, "customer_id": 2}) + "\n").encode()
        + b'"just text"\n{"customer_id": 3, "email": "caf\xe9"}\n'
        + b'{"customer_id": 4, "email": "cut'
    )
    report = ingest_source(con, spec, "customers", tmp_path / "l")
    assert report.failed == []
    assert report.ingested == [("customers.jsonl", 6)]
    rows = con.execute(
        "SELECT _row_number, customer_id, _parse_error, "
        "json_extract_string(_rescued_data, '$.raw_line') "
        "FROM shop_bronze.customers ORDER BY _row_number"
    ).fetchall()
    assert rows == [
        (1, "1", None, None),
        (2, None, "line 2: a JSON array, not an object of named values", "[1, 2]"),
        (3, "2", None, None),
        (4, None, "line 5: a JSON varchar, not an object of named values", '"just text"'),
        (
            5,
            None,
            "line 6: not UTF-8 text",
            "{\\x22customer_id\\x22: 3, \\x22email\\x22: \\x22caf\\xE9\\x22}",
        ),
        (6, None, "line 7: not valid JSON", '{"customer_id": 4, "email": "cut'),
    ]
    assert con.execute(
        "SELECT records, row_count, malformed_rows FROM shop_bronze._ingested_files"
    ).fetchone() == (6, 6, 4)


def test_a_quote_after_a_space_that_the_parser_runs_on_from_is_cut_and_the_file_read_again(
    con, spec, tmp_path
):
    """`10, "2026…` has a balanced look (the scan and Python's csv read it as 5 fields), but
    DuckDB opens a quote after the space and reads on to the end: the count catches it, the
    line is cut out and the file read again."""
    rows = _orders(5_000)
    rows[2_000] = rows[2_000].replace(",2026-01-01", ', "2026-01-01')
    write(tmp_path / "l" / "orders" / "orders.csv", "\n".join([HEADER, *rows]) + "\n")
    report = ingest_source(con, spec, "orders", tmp_path / "l")
    assert report.ingested == [("orders.csv", 5_000)]
    assert _bronze(con) == (5_000, 1)
    kept, reason = con.execute(
        "SELECT json_extract_string(_rescued_data, '$.raw_line'), _parse_error "
        "FROM shop_bronze.orders WHERE _parse_error IS NOT NULL"
    ).fetchone()
    assert kept == rows[2_000]
    assert reason.startswith("line 2002: badly quoted value")


def test_two_stray_quotes_a_few_lines_apart_do_not_swallow_the_records_between(con, spec, tmp_path):
    """`"X` … `Y"` eight lines later would read as one record of five fields; the lines between
    are whole records by themselves, so the opening line is cut instead."""
    rows = _orders(10)
    rows[0] = rows[0].replace(",SPRING", ',"SPRING')
    rows[9] = rows[9] + '"'
    write(tmp_path / "l" / "orders" / "orders.csv", "\n".join([HEADER, *rows]) + "\n")
    ingest_source(con, spec, "orders", tmp_path / "l")
    assert _bronze(con) == (10, 1)
    assert con.execute(
        "SELECT coupon FROM shop_bronze.orders WHERE order_id = '10'"
    ).fetchone() == ('SPRING"',)


def test_a_record_with_bytes_that_are_not_utf8_is_kept_with_them_escaped(con, spec, tmp_path):
    path = tmp_path / "l" / "orders" / "orders.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        f"{HEADER}\n1,10,2026-01-01 10:00:00,1.00,caf\xe9\n2,10,2026-01-01,1.00,\n".encode(
            "latin-1"
        )
    )
    report = ingest_source(con, spec, "orders", tmp_path / "l")
    assert report.failed == [] and report.ingested == [("orders.csv", 2)]
    kept, reason = con.execute(
        "SELECT json_extract_string(_rescued_data, '$.raw_line'), _parse_error "
        "FROM shop_bronze.orders WHERE _parse_error IS NOT NULL"
    ).fetchone()
    assert kept == "1,10,2026-01-01 10:00:00,1.00,caf\\xe9"
    assert reason.startswith("line 2, column coupon: INVALID ENCODING")
