"""Which entities a silver merge changed, for gold that recomputes by entity.

A gold product whose incremental strategy names a `key_column` (e.g. customer_id) can take a
change of an input without a time column (customers, subscriptions) as "recompute these
customers on every day" instead of "rebuild everything". Silver records, per merge, the
values of that column on the rows the merge changed: the new rows that won and the rows
they replaced (so a row moved from one customer to another names both). Gold reads the
values recorded since the merge it last read. A full silver rebuild records none: gold
rebuilds in full after it anyway.
"""

from __future__ import annotations

import duckdb

from medallion.spec import ProductSpec
from medallion.zones.sql import quote

CHANGED_KEYS = "silver_changed_keys"


def changed_keys_table(spec: ProductSpec) -> str:
    return f"{spec.schema('audit')}.{CHANGED_KEYS}"


def ensure_changed_keys(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('audit')}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {changed_keys_table(spec)} (
            entity VARCHAR NOT NULL, merge_seq BIGINT NOT NULL, key_column VARCHAR NOT NULL,
            key VARCHAR NOT NULL)"""
    )


def tracked_key_columns(spec: ProductSpec, source_name: str) -> list[str]:
    """The gold key columns whose changed values silver must record for this source: those
    of incremental gold reading it, when the source has no time column but has the column."""
    source = spec.sources[source_name]
    if source.time_column is not None:
        return []
    present = {*source.columns, *source.derive}
    found = {
        gold.incremental.key_column
        for name, gold in spec.gold.items()
        if not gold.retired
        and gold.incremental is not None
        and gold.incremental.key_column in present
        and ("silver", source_name) in spec.gold_inputs(name)
    }
    return sorted(c for c in found if c is not None)


def record_changed_keys(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    contest: str,
    merge_seq: int,
) -> None:
    """Insert the key values of the rows a merge changed (from the contest table, which
    carries the tracked columns): new rows that won, old rows that lost."""
    changed = "(_new AND _wins) OR (NOT _new AND NOT _wins)"
    for column in tracked_key_columns(spec, source_name):
        con.execute(
            f"""INSERT INTO {changed_keys_table(spec)}
                SELECT DISTINCT ?, ?, ?, CAST({quote(column)} AS VARCHAR) FROM {contest}
                WHERE ({changed}) AND {quote(column)} IS NOT NULL""",
            [source_name, merge_seq, column],
        )


def forget_changed_keys(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str
) -> None:
    """Drop a source's recorded values (its silver is being rebuilt from every batch)."""
    con.execute(f"DELETE FROM {changed_keys_table(spec)} WHERE entity = ?", [source_name])


def changed_keys_since(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    key_column: str,
    after_merge: int,
) -> list[str]:
    """The values recorded for this source and column by merges after `after_merge`."""
    ensure_changed_keys(con, spec)
    rows = con.execute(
        f"""SELECT DISTINCT key FROM {changed_keys_table(spec)}
            WHERE entity = ? AND key_column = ? AND merge_seq > ? ORDER BY key""",
        [source_name, key_column, after_merge],
    ).fetchall()
    return [row[0] for row in rows]
