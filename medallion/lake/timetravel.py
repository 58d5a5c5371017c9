"""As-of reads on the lake: every DuckLake commit is a snapshot, and a table can be read as it
was at any snapshot id or time (`AT (VERSION => n)`, `AT (TIMESTAMP => t)`) until the catalog's
old files are expired. A published gold version records the snapshot it was copied from, so on
the lake a reader can get the same rows from the catalog as from the published copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb

from medallion.lake.catalog import CATALOG_ALIAS

SNAPSHOT_KEY = "lake_snapshot"
"""Where a publication's `extra` holds the DuckLake snapshot id it was copied from."""


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The snapshot id the session reads now (inside a transaction: the transaction's)."""
    return int(con.execute(f"FROM {CATALOG_ALIAS}.current_snapshot()").fetchone()[0])


@contextmanager
def pinned_snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[int]:
    """A read transaction: every query in the block reads the snapshot whose id it yields,
    whatever other writers commit meanwhile."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield current_snapshot(con)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def as_of(table: str, *, version: int | None = None, timestamp: datetime | None = None) -> str:
    """`table` as it was at snapshot `version`, or at the last commit up to `timestamp`
    (time-zone aware), for a FROM clause."""
    if (version is None) == (timestamp is None):
        raise ValueError(f"{table}: give either a snapshot version or a timestamp, not both")
    if version is not None:
        return f"{table} AT (VERSION => {int(version)})"
    if timestamp.tzinfo is None:
        raise ValueError(f"{table}: as-of timestamp {timestamp} has no time zone")
    return f"{table} AT (TIMESTAMP => TIMESTAMPTZ '{timestamp.isoformat()}')"
