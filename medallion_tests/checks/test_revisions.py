"""Counts against the previous revision: a 30% drop of valid rows is caught."""

from __future__ import annotations

from medallion.checks.revisions import count_keys, record_revision, revision_counts
from medallion.spec import RevisionTolerance
from medallion.zones.tables import replace_table


def _revision(con, spec, rows: int) -> None:
    replace_table(con, "shop_silver.customers", f"SELECT range AS customer_id FROM range({rows})")
    record_revision(con, spec, "shop_silver.customers", ["customer_id"], "run")


def test_first_revision_passes_and_growth_is_fine(con, spec):
    _revision(con, spec, 1000)
    first = revision_counts(con, spec, "shop_silver.customers", RevisionTolerance())
    assert first.passed and first.metadata["previous_row_count"] is None
    _revision(con, spec, 1200)
    assert revision_counts(con, spec, "shop_silver.customers", RevisionTolerance()).passed


def test_sudden_drop_of_thirty_percent_fails(con, spec):
    _revision(con, spec, 1000)
    _revision(con, spec, 700)
    outcome = revision_counts(con, spec, "shop_silver.customers", RevisionTolerance())
    assert not outcome.passed
    assert outcome.metadata["row_change"] == -0.3
    assert outcome.metadata["key_change"] == -0.3
    assert "rows fell 30.0% (tolerance 10%)" in outcome.description
    assert revision_counts(
        con, spec, "shop_silver.customers", RevisionTolerance(max_row_drop=0.5, max_key_drop=0.5)
    ).passed


def test_growth_limit_when_declared(con, spec):
    _revision(con, spec, 100)
    _revision(con, spec, 300)
    outcome = revision_counts(
        con, spec, "shop_silver.customers", RevisionTolerance(max_row_growth=1.0)
    )
    assert not outcome.passed and "rows grew 200.0%" in outcome.description


def test_key_counts_are_exact_with_duplicates_nulls_and_composite_keys(con):
    con.execute(
        """CREATE TABLE k AS SELECT * FROM (VALUES
           ('a', 1), ('b', 1), ('b', 2), ('c', NULL), (NULL, 3), (NULL, 4)) AS t(x, y)"""
    )
    for columns in (["x"], ["y"], ["x", "y"]):
        quoted = ", ".join(f'"{c}"' for c in columns)
        expected = con.execute(f"SELECT count(*), count(DISTINCT ({quoted})) FROM k").fetchone()
        assert count_keys(con, "k", columns) == expected, columns
    assert count_keys(con, "k", ["x"]) == (6, 3)  # NULL is not a key; 'b' twice
    assert count_keys(con, "k", ["x", "y"]) == (6, 6)
    con.execute("CREATE TABLE u AS SELECT range AS id, 'v' || range AS name FROM range(50000)")
    assert count_keys(con, "u", ["name"]) == (50_000, 50_000)
