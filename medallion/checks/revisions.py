"""Row and key counts of every revision of a table, kept, and compared with the previous
revision: a sudden drop of 30% of customers is caught even when every row is valid."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome
from medallion.spec import ProductSpec, RevisionTolerance
from medallion.zones.sql import quote

REVISIONS = "revisions"


def history_table(spec: ProductSpec) -> str:
    return f"{spec.schema('audit')}.{REVISIONS}"


def record_revision(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    table: str,
    key_columns: list[str],
    run_id: str,
) -> tuple[int, int]:
    """Append the table's current row and key counts to the history; returns them."""
    rows, distinct_keys = count_keys(con, table, key_columns)
    return record_counts(con, spec, table, rows, distinct_keys, run_id)


def record_counts(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    table: str,
    rows: int,
    distinct_keys: int,
    run_id: str,
) -> tuple[int, int]:
    """Append row and key counts the caller knows (e.g. kept up to date by a merge)."""
    history = history_table(spec)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('audit')}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {history} (
            table_name VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL, run_id VARCHAR,
            row_count BIGINT NOT NULL, key_count BIGINT NOT NULL)"""
    )
    con.execute(
        f"INSERT INTO {history} VALUES (?, ?, ?, ?, ?)",
        [table, datetime.now(UTC).replace(tzinfo=None), run_id, rows, distinct_keys],
    )
    return int(rows), int(distinct_keys)


def count_keys(
    con: duckdb.DuckDBPyConnection, table: str, key_columns: list[str]
) -> tuple[int, int]:
    """Rows and distinct keys of a table (a single key column's NULLs are not a key, as in
    `count(DISTINCT k)`).

    Distinct 64-bit hashes of the keys are counted first: far cheaper than distinct text keys,
    and exact whenever every key row has a hash of its own, the
    usual case of a unique key. Only when hashes repeat (duplicates, or a collision) are the
    keys themselves counted.
    """
    keys = ", ".join(quote(k) for k in key_columns)
    single = len(key_columns) == 1
    keyed = f"count({keys})" if single else "count(*)"
    where = f"WHERE {keys} IS NOT NULL" if single else ""
    rows, keyed_rows, distinct_hashes = con.execute(
        f"SELECT count(*), {keyed}, (SELECT count(DISTINCT hash({keys})) FROM {table} {where}) "
        f"FROM {table}"
    ).fetchone()
    if distinct_hashes == keyed_rows:
        return int(rows), int(distinct_hashes)
    (distinct_keys,) = con.execute(f"SELECT count(DISTINCT ({keys})) FROM {table}").fetchone()
    return int(rows), int(distinct_keys)


def _change(previous: int, current: int) -> float:
    return (current - previous) / previous if previous else 0.0


def revision_counts(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, table: str, tolerance: RevisionTolerance
) -> CheckOutcome:
    """Row and key counts of the latest revision against the one before, within tolerance."""
    revisions = con.execute(
        f"""SELECT row_count, key_count, recorded_at FROM {history_table(spec)}
            WHERE table_name = ? ORDER BY recorded_at DESC LIMIT 2""",
        [table],
    ).fetchall()
    if len(revisions) < 2:
        rows = revisions[0][0] if revisions else 0
        return CheckOutcome(
            name=names.REVISION_COUNTS,
            passed=True,
            severity="ERROR",
            description=f"first revision ({rows:,} rows); nothing to compare with yet",
            metadata={"row_count": rows, "previous_row_count": None},
        )
    (rows, keys, _), (previous_rows, previous_keys, previous_at) = revisions
    row_change, key_change = _change(previous_rows, rows), _change(previous_keys, keys)
    problems = []
    if row_change < -tolerance.max_row_drop:
        problems.append(f"rows fell {-row_change:.1%} (tolerance {tolerance.max_row_drop:.0%})")
    if key_change < -tolerance.max_key_drop:
        problems.append(f"keys fell {-key_change:.1%} (tolerance {tolerance.max_key_drop:.0%})")
    if tolerance.max_row_growth is not None and row_change > tolerance.max_row_growth:
        problems.append(f"rows grew {row_change:.1%} (tolerance {tolerance.max_row_growth:.0%})")
    return CheckOutcome(
        name=names.REVISION_COUNTS,
        passed=not problems,
        severity="ERROR",
        description=(
            "; ".join(problems)
            if problems
            else f"rows {previous_rows:,} → {rows:,}, keys {previous_keys:,} → {keys:,}: within tolerance"
        ),
        metadata={
            "row_count": rows,
            "previous_row_count": previous_rows,
            "row_change": round(row_change, 6),
            "key_count": keys,
            "previous_key_count": previous_keys,
            "key_change": round(key_change, 6),
            "max_row_drop": tolerance.max_row_drop,
            "max_key_drop": tolerance.max_key_drop,
            "max_row_growth": tolerance.max_row_growth,
            "previous_revision_at": str(previous_at),
        },
    )
