"""Two versions of a gold product side by side: how do they differ before one is promoted?

Keys are compared on the grain (overlap, lost, gained); every common column is compared on
the matched keys (share of rows whose value changed), and by its null share and mean. When
the new version is incremental and its last build recomputed a window, both versions are
compared on that window (its days and changed entities) and the row counts on the whole
tables: what did not change was compared when it did.
"""

from __future__ import annotations

import duckdb

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome
from medallion.spec import ProductSpec
from medallion.zones.gold_windows import builds_table
from medallion.zones.sql import literal, quote
from medallion.zones.tables import table_exists

EXAMPLES = 5
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}


def last_window(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> tuple | None:
    """(start, end, keys) of the last build of an incremental gold product when it
    recomputed a window; None after a full build or for a product without a strategy."""
    strategy = spec.gold[name].incremental
    if strategy is None or not table_exists(con, builds_table(spec)):
        return None
    last = con.execute(
        f"""SELECT full_rebuild, window_start, window_end, coalesce(keys, [])
            FROM {builds_table(spec)} WHERE gold = ? ORDER BY built_at DESC LIMIT 1""",
        [name],
    ).fetchone()
    return None if last is None or last[0] else tuple(last[1:])


def _window_rows(spec: ProductSpec, name: str, table: str, window: tuple | None) -> str:
    """The rows of `table` inside the window (all rows without one), as a subquery."""
    strategy = spec.gold[name].incremental
    if window is None or strategy is None:
        return table
    start, end, keys = window
    column = quote(strategy.time_column)
    days = (
        f"({column} >= DATE '{start}' AND {column} < DATE '{end}')"
        if start is not None
        else "FALSE"
    )
    entities = (
        f" OR list_contains([{', '.join(literal(k) for k in keys)}]::VARCHAR[], "
        f"CAST({quote(strategy.key_column)} AS VARCHAR))"
        if keys and strategy.key_column
        else ""
    )
    return f"(SELECT * FROM {table} WHERE {days}{entities})"


def compare_versions(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> CheckOutcome:
    """Compare gold `name` with the version it replaces (`version_of`): on the window its
    last build recomputed when it is incremental, row counts on the whole tables."""
    gold = spec.gold[name]
    base = gold.version_of or ""
    new_table, base_table = spec.table("gold", name), spec.table("gold", base)
    window = last_window(con, spec, name)
    new_rows_sql = _window_rows(spec, name, new_table, window)
    base_rows_sql = _window_rows(spec, name, base_table, window)
    grain = [quote(c) for c in gold.grain]
    on = " AND ".join(f"n.{c} = b.{c}" for c in grain)
    base_rows, new_rows = (
        con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in (base_table, new_table)
    )
    base_keys, new_keys, shared, lost, examples = _key_counts(
        con, grain, base_rows_sql, new_rows_sql
    )
    base_columns, new_columns = _columns(con, base_table), _columns(con, new_table)
    common = [c for c in new_columns if c in base_columns and c not in gold.grain]
    columns = _column_differences(con, base_rows_sql, new_rows_sql, on, common, base_columns)
    lost_share = lost / base_keys if base_keys else 0.0
    row_change = (new_rows - base_rows) / base_rows if base_rows else 0.0
    limits = gold.comparison
    problems = []
    if lost_share > limits.max_lost_key_share:
        problems.append(
            f"{name} loses {lost:,} of {base_keys:,} keys of {base} ({lost_share:.1%}, "
            f"allowed {limits.max_lost_key_share:.0%})"
        )
    if limits.max_row_change is not None and abs(row_change) > limits.max_row_change:
        problems.append(f"row count moves {row_change:+.1%} (allowed ±{limits.max_row_change:.0%})")
    return CheckOutcome(
        name=names.VERSION_COMPARISON,
        passed=not problems,
        severity="ERROR",
        description="; ".join(problems)
        or f"{name} keeps all {base_keys:,} keys of {base}; {new_keys - shared:,} new key(s)",
        metadata={
            "base_version": base,
            "compared_on": "the whole tables"
            if window is None
            else f"the window its last build recomputed: days [{window[0]}, {window[1]}) "
            f"and {len(window[2])} changed entities (row counts: whole tables)",
            "rows": {"base": base_rows, "new": new_rows, "change": round(row_change, 6)},
            "keys": {
                "base": base_keys,
                "new": new_keys,
                "shared": shared,
                "lost": lost,
                "gained": new_keys - shared,
            },
            "lost_key_share": round(lost_share, 6),
            "example_lost_keys": examples or [],
            "columns_added": [c for c in new_columns if c not in base_columns],
            "columns_removed": [c for c in base_columns if c not in new_columns],
            "columns": columns,
        },
    )


def _key_counts(
    con: duckdb.DuckDBPyConnection, grain: list[str], base: str, new: str
) -> tuple[int, int, int, int, list[str] | None]:
    """Distinct keys of each side, shared and lost ones, and a few lost keys as examples."""
    keys = ", ".join(grain)
    on = " AND ".join(f"n.{c} = b.{c}" for c in grain)
    return con.execute(
        f"""
        WITH b AS (SELECT DISTINCT {keys} FROM {base}),
             n AS (SELECT DISTINCT {keys} FROM {new})
        SELECT (SELECT count(*) FROM b), (SELECT count(*) FROM n),
               (SELECT count(*) FROM b JOIN n ON {on}),
               (SELECT count(*) FROM b ANTI JOIN n ON {on}),
               (SELECT list(CAST(({", ".join("b." + c for c in grain)}) AS VARCHAR))[1:{EXAMPLES}]
                  FROM b ANTI JOIN n ON {on})
        """
    ).fetchone()


def _column_differences(
    con: duckdb.DuckDBPyConnection,
    base_table: str,
    new_table: str,
    on: str,
    common: list[str],
    types: dict[str, str],
) -> dict[str, dict[str, float | None]]:
    if not common:
        return {}
    parts = []
    for column in common:
        c = quote(column)
        parts += [
            f"avg(CASE WHEN b.{c} IS DISTINCT FROM n.{c} THEN 1.0 ELSE 0.0 END)",
            f"(SELECT avg(({c} IS NULL)::INT) FROM {base_table})",
            f"(SELECT avg(({c} IS NULL)::INT) FROM {new_table})",
        ]
        if types[column].startswith(NUMERIC):
            parts += [
                f"(SELECT avg({c})::DOUBLE FROM {base_table})",
                f"(SELECT avg({c})::DOUBLE FROM {new_table})",
            ]
        else:
            parts += ["NULL", "NULL"]
    row = con.execute(
        f"SELECT {', '.join(parts)} FROM {base_table} AS b JOIN {new_table} AS n ON {on}"
    ).fetchone()
    result = {}
    for index, column in enumerate(common):
        changed, null_base, null_new, mean_base, mean_new = row[index * 5 : index * 5 + 5]
        result[column] = {
            "changed_share_on_shared_keys": _round(changed),
            "null_share_base": _round(null_base),
            "null_share_new": _round(null_new),
            "mean_base": _round(mean_base),
            "mean_new": _round(mean_new),
        }
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)
