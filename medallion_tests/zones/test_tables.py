"""Table helpers: PII-masked descriptions, markdown previews, order-independent fingerprints
and the one-thread retry when DuckDB runs out of memory."""

from __future__ import annotations

import duckdb
import pytest

from medallion.zones.tables import (
    MASK,
    describe_table,
    markdown_table,
    replace_table,
    retry_on_one_thread,
    table_fingerprint,
)


def test_describe_masks_pii_columns(con):
    replace_table(con, "s.people", "SELECT 1 AS id, 'ann@example.com' AS email")
    description = describe_table(con, "s.people", masked={"email"})
    assert description.row_count == 1
    assert description.columns == [("id", "INTEGER"), ("email", "VARCHAR")]
    assert description.preview == [(1, MASK)]


def test_markdown_escapes_and_truncates():
    text = markdown_table(["a", "b"], [("x|y", "z" * 50), (None, 1)], max_width=10)
    lines = text.splitlines()
    assert lines[0] == "| a | b |"
    assert lines[2] == "| x\\|y | zzzzzzzzz… |"
    assert lines[3] == "|  | 1 |"


def test_fingerprint_ignores_order_and_sees_changes(con):
    replace_table(con, "s.a", "SELECT * FROM range(100) AS t(x)")
    replace_table(con, "s.b", "SELECT * FROM range(100) AS t(x) ORDER BY x DESC")
    replace_table(
        con, "s.c", "SELECT CASE WHEN x = 5 THEN 500 ELSE x END AS x FROM range(100) AS t(x)"
    )
    assert table_fingerprint(con, "s.a") == table_fingerprint(con, "s.b")
    assert table_fingerprint(con, "s.a") != table_fingerprint(con, "s.c")
    assert table_fingerprint(con, "s.a")[0] == 100


def test_out_of_memory_is_retried_once_on_one_thread(con):
    con.execute("SET threads = 2")
    calls, notes = [], []

    def build():
        calls.append(con.execute("SELECT current_setting('threads')").fetchone()[0])
        if len(calls) == 1:
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block")
        return "built"

    assert retry_on_one_thread(con, build, notes.append) == "built"
    assert calls == [2, 1]
    assert len(notes) == 1 and "retrying on one" in notes[0]
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2


def test_out_of_memory_on_one_thread_is_raised(con):
    con.execute("SET threads = 1")

    def build():
        raise duckdb.OutOfMemoryException("Out of Memory Error")

    with pytest.raises(duckdb.OutOfMemoryException):
        retry_on_one_thread(con, build)
