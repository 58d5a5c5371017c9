"""Gold contracts: the grain is unique and no raw PII reaches gold."""

from __future__ import annotations

from medallion.checks.gold import grain_unique, no_pii
from medallion.zones.bronze import ingest_source
from medallion.zones.tables import replace_table


def test_grain_duplicates_and_null_keys_are_found(con, spec):
    replace_table(
        con,
        "shop_gold.revenue_by_country",
        "SELECT * FROM (VALUES ('NL', 1), ('NL', 2), (NULL, 3)) AS t(country, revenue)",
    )
    outcome = grain_unique(con, spec, "revenue_by_country")
    assert not outcome.passed
    assert outcome.metadata["duplicated_keys"] == 1
    assert outcome.metadata["null_grain_rows"] == 1
    replace_table(
        con,
        "shop_gold.revenue_by_country",
        "SELECT * FROM (VALUES ('NL', 1), ('DE', 2)) AS t(country, revenue)",
    )
    assert grain_unique(con, spec, "revenue_by_country").passed


def test_raw_pii_values_in_gold_are_found_and_named(con, spec, landing):
    ingest_source(con, spec, "customers", landing)
    replace_table(con, "shop_gold.revenue_by_country", "SELECT 'NL' AS country, 1 AS revenue")
    assert no_pii(con, spec, "revenue_by_country").passed
    replace_table(
        con, "shop_gold.revenue_by_country", "SELECT 'NL' AS country, 'bob@example.com' AS contact"
    )
    leak = no_pii(con, spec, "revenue_by_country")
    assert not leak.passed
    assert leak.metadata["columns_with_raw_pii_values"] == {"contact": 1}
    replace_table(con, "shop_gold.revenue_by_country", "SELECT 'NL' AS country, 'x' AS email")
    assert no_pii(con, spec, "revenue_by_country").metadata["pii_named_columns"] == ["email"]
