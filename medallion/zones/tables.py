"""Table-level helpers every zone uses: atomic replacement and a PII-safe description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import duckdb

from medallion import markdown
from medallion.zones.sql import quote, transaction

MASK = "•••"
T = TypeVar("T")


def retry_on_one_thread(
    con: duckdb.DuckDBPyConnection,
    build: Callable[[], T],
    notify: Callable[[str], object] = lambda message: None,
) -> T:
    """Run `build`; when DuckDB runs out of its memory limit, run it once more on one thread.

    Windows, sorts and hash tables take memory per thread, so one thread fits where two do
    not, more slowly. `build`
    must leave nothing behind when it fails (each build is one transaction). `notify` is told
    when the retry happens.
    """
    try:
        return build()
    except duckdb.OutOfMemoryException as error:
        threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
        if threads <= 1:
            raise
        notify(f"DuckDB ran out of its memory limit on {threads} threads; retrying on one: {error}")
    con.execute("SET threads = 1")
    try:
        return build()
    finally:
        con.execute(f"SET threads = {threads}")


@dataclass(frozen=True)
class TableDescription:
    """Row count, schema and a few preview rows of a table, PII columns masked."""

    table: str
    row_count: int
    columns: list[tuple[str, str]]
    preview: list[tuple]


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists in the warehouse."""
    schema, name = table.split(".", 1)
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def replace_table(
    con: duckdb.DuckDBPyConnection, table: str, select_sql: str, params: dict | None = None
) -> int:
    """Build `table` from a query and swap it in within one transaction.

    A failure or a killed process leaves the previous version intact.

    Returns:
        The new table's row count.
    """
    schema = table.split(".", 1)[0]
    with transaction(con):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}", params or {})
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return int(rows)


def describe_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    masked: set[str] | frozenset[str] = frozenset(),
    preview_rows: int = 5,
) -> TableDescription:
    """Describe a table; values of `masked` columns never leave DuckDB."""
    columns = [(row[0], row[1]) for row in con.execute(f"DESCRIBE {table}").fetchall()]
    select = ", ".join(
        f"'{MASK}' AS {quote(name)}" if name in masked else quote(name) for name, _ in columns
    )
    preview = con.execute(f"SELECT {select} FROM {table} LIMIT {int(preview_rows)}").fetchall()
    row_count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return TableDescription(table, int(row_count), columns, preview)


def markdown_table(columns: list[str], rows: list[tuple], max_width: int = 40) -> str:
    """A small markdown table for Dagster metadata previews."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    return markdown.table(columns, rows, cell)


def table_fingerprint(
    con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...] = ()
) -> tuple[int, int]:
    """Row count and an order-independent hash of every row: equal tables, equal fingerprints.

    `exclude` leaves out columns that legitimately differ between runs (ingestion times).
    """
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in exclude]
    row = ", ".join(quote(c) for c in columns)
    rows, digest = con.execute(
        f"SELECT count(*), coalesce(sum(hash(struct_pack({row}))), 0) FROM {table}"
    ).fetchone()
    return int(rows), int(digest)


def zone_fingerprints(
    con: duckdb.DuckDBPyConnection, schemas: list[str], exclude: tuple[str, ...] = ()
) -> dict[str, tuple[int, int]]:
    """Fingerprints of every table in the given schemas, keyed by qualified name."""
    tables = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE list_contains(?, table_schema) ORDER BY 1",
        [schemas],
    ).fetchall()
    return {name: table_fingerprint(con, name, exclude) for (name,) in tables}
