"""Counts against the previous revision: a 30% drop of valid rows is caught."""

from __future__ import annotations

from medallion.checks.revisions import record_revision, revision_counts
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
