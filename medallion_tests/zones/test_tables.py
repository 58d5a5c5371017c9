"""Table helpers: PII-masked descriptions, markdown previews and order-independent fingerprints."""

from __future__ import annotations

from medallion.zones.tables import (
    MASK,
    describe_table,
    markdown_table,
    replace_table,
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
