"""The DuckLake catalog: zone tables whose metadata lives in PostgreSQL and whose data lives as
Parquet files under a data path (a local folder, or an object store: `s3://…`, `gs://…`).

A warehouse target `ducklake:postgres:<libpq conninfo>` opens an in-memory DuckDB session with
the catalog attached as `lake` and made the default, so the zones' `schema.table` names
resolve into it unchanged; temporary tables stay local to the session. The data path is
recorded in the catalog when it is created (`create`); every later attach reads it from there.
"""

from __future__ import annotations

import duckdb

from medallion.lake import extensions

LAKE_PREFIX = "ducklake:"
CATALOG_ALIAS = "lake"
CONFLICT_MARKER = "Transaction conflict"


def is_conflict(error: BaseException) -> bool:
    """A commit refused because another writer changed the same table or schema first.

    DuckLake retries commits whose snapshot id was taken by another writer by itself; a
    logical conflict (both deleted from one table, both created one schema) it refuses:
    the transaction rolled back, so running the step again is safe.
    """
    return isinstance(error, duckdb.TransactionException) and CONFLICT_MARKER in str(error)


def is_lake_target(database: object) -> bool:
    """Whether a warehouse `database` names a DuckLake catalog rather than a DuckDB file."""
    return str(database).startswith(LAKE_PREFIX)


def postgres_target(conninfo: str) -> str:
    """The warehouse target of a catalog in the PostgreSQL database `conninfo` names."""
    return f"{LAKE_PREFIX}postgres:{conninfo}"


def _attach(
    con: duckdb.DuckDBPyConnection, target: str, *, read_only: bool, data_path: str | None
) -> None:
    options = []
    if data_path:
        options.append(f"DATA_PATH '{data_path}'")
    if read_only:
        options.append("READ_ONLY")
    clause = f" ({', '.join(options)})" if options else ""
    con.execute(f"ATTACH '{target}' AS {CATALOG_ALIAS}{clause}")
    con.execute(f"USE {CATALOG_ALIAS}")


def open_lake(
    target: str, *, read_only: bool = False, config: dict | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB session on the catalog; read-only sessions see the snapshot current when
    each query starts and can never write, while writers commit beside them."""
    con = duckdb.connect(":memory:", config=(config or {}) | extensions.offline_config())
    try:
        extensions.load(con)
        _attach(con, target, read_only=read_only, data_path=None)
    except BaseException:
        con.close()
        raise
    return con


def create(target: str, data_path: str) -> None:
    """Create the catalog with its data path, or check an existing one uses the same path."""
    con = duckdb.connect(":memory:", config=extensions.offline_config())
    try:
        extensions.load(con)
        _attach(con, target, read_only=False, data_path=data_path)
    finally:
        con.close()


def snapshots(con: duckdb.DuckDBPyConnection) -> list[tuple[int, object]]:
    """The catalog's snapshots (id, time), oldest first: what `AT (VERSION => id)` reads."""
    return con.execute(
        f"SELECT snapshot_id, snapshot_time FROM ducklake_snapshots('{CATALOG_ALIAS}') ORDER BY 1"
    ).fetchall()
