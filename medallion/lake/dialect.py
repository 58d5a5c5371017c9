"""Every statement that differs between a DuckDB file and a DuckLake catalog, in one place.

DuckLake has no PRIMARY KEY or UNIQUE constraints, hence no `INSERT OR REPLACE`; everything
else the zones and checks run (CREATE OR REPLACE TABLE in a transaction, ALTER TABLE ADD
COLUMN, DELETE, UPDATE, temporary tables, information_schema) works on both unchanged. Where
a key is declared on a file it is enforced there; on the lake the writers keep it (a replace is
one MERGE), and two writers racing to append the same file are made to conflict (`claim`).
"""

from __future__ import annotations

import duckdb


def on_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the session's default catalog is a DuckLake catalog."""
    row = con.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row) and row[0] == "ducklake"


def primary_key(con: duckdb.DuckDBPyConnection, *columns: str) -> str:
    """`, PRIMARY KEY (…)` to end a column list, or nothing on the lake."""
    return "" if on_lake(con) else f", PRIMARY KEY ({', '.join(columns)})"


def insert_or_replace(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: tuple[str, ...],
    columns: tuple[str, ...],
    values: list,
) -> None:
    """Insert a row, replacing the row with the same `key`; `columns` names every column of
    the table in order. On the lake one MERGE statement does it, atomic like the original."""
    marks = ", ".join("?" for _ in values)
    if not on_lake(con):
        con.execute(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", values)
        return
    given = ", ".join(f"? AS {column}" for column in columns)
    match = " AND ".join(f"t.{column} = n.{column}" for column in key)
    update = ", ".join(f"{column} = n.{column}" for column in columns if column not in key)
    con.execute(
        f"""MERGE INTO {table} AS t USING (SELECT {given}) AS n ON {match}
            WHEN MATCHED THEN UPDATE SET {update}
            WHEN NOT MATCHED THEN INSERT ({", ".join(columns)})
                VALUES ({", ".join(f"n.{column}" for column in columns)})""",
        values,
    )


def _claim_table(schema: str, source: str) -> str:
    return f"{schema}._claim_{source}"


def ensure_claim(con: duckdb.DuckDBPyConnection, schema: str, source: str) -> None:
    """On the lake, the one-row table `claim` updates (nothing on a file)."""
    if not on_lake(con):
        return
    table = _claim_table(schema, source)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} (claims BIGINT NOT NULL)")
    con.execute(f"INSERT INTO {table} SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM {table})")


def claim(con: duckdb.DuckDBPyConnection, schema: str, source: str) -> None:
    """Inside a transaction appending to `source`'s bronze and the ledger: on a file the
    ledger's PRIMARY KEY refuses a second writer appending the same file; the lake has no
    keys, so each such transaction updates the source's claim row, and DuckLake refuses the
    second of two concurrent commits that both deleted from one table: it rolls back and is
    run again (finding the file in the ledger) instead of appending the file twice."""
    if on_lake(con):
        con.execute(f"UPDATE {_claim_table(schema, source)} SET claims = claims + 1")
