"""The monitoring history: every evaluation kept in DuckDB, next to the data it judged.

`<product>_monitoring.drift_history` holds one row per window, champion version, feature and
statistic; `<product>_monitoring.performance_history` one per labelled window, version and
metric. An evaluation appends its rows in one transaction, replacing the rows of the same
windows and champion version it evaluated before, so a re-run never duplicates a window and
a killed run leaves the history as it was.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from medallion.spec import ProductSpec
from medallion.zones.sql import transaction

ZONE = "monitoring"
DRIFT_HISTORY = "drift_history"
PERFORMANCE_HISTORY = "performance_history"

_RUN_COLUMNS = {
    "model_version": "VARCHAR NOT NULL",
    "data_version": "VARCHAR NOT NULL",
    "evaluated_at": "TIMESTAMP NOT NULL",
    "run_id": "VARCHAR",
}
COLUMNS = {
    DRIFT_HISTORY: {
        "window_start": "DATE NOT NULL",
        "window_end": "DATE NOT NULL",
        "kind": "VARCHAR NOT NULL",
        "feature": "VARCHAR NOT NULL",
        "statistic": "VARCHAR NOT NULL",
        "value": "DOUBLE",
        "warn_threshold": "DOUBLE",
        "threshold": "DOUBLE",
        "status": "VARCHAR NOT NULL",
        "bins": "BIGINT",
        "reference_rows": "BIGINT",
        "current_rows": "BIGINT",
        **_RUN_COLUMNS,
    },
    PERFORMANCE_HISTORY: {
        "window_start": "DATE NOT NULL",
        "window_end": "DATE NOT NULL",
        "metric": "VARCHAR NOT NULL",
        "value": "DOUBLE",
        "holdout_value": "DOUBLE",
        "warn_threshold": "DOUBLE",
        "threshold": "DOUBLE",
        "status": "VARCHAR NOT NULL",
        "rows": "BIGINT",
        "positives": "BIGINT",
        "positive_entities": "BIGINT",
        **_RUN_COLUMNS,
    },
}


_POLARS_TYPES = {
    "DATE": pl.Date,
    "VARCHAR": pl.String,
    "DOUBLE": pl.Float64,
    "BIGINT": pl.Int64,
    "TIMESTAMP": pl.Datetime("us"),
}


def frame_schema(name: str, columns: tuple[str, ...] | None = None) -> dict[str, pl.DataType]:
    """The Polars types of a history table's columns, from COLUMNS (by default all but the
    run stamp), so the frames written and the table declared cannot disagree."""
    declared = COLUMNS[name]
    chosen = columns or tuple(c for c in declared if c not in _RUN_COLUMNS)
    return {c: _POLARS_TYPES[declared[c].removesuffix(" NOT NULL")] for c in chosen}


def history_table(spec: ProductSpec, name: str) -> str:
    """e.g. churn_monitoring.drift_history"""
    return spec.table(ZONE, name)


def ensure_history(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> None:
    """Create the product's monitoring schema and both history tables if missing."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema(ZONE)}")
    for name, columns in COLUMNS.items():
        body = ", ".join(f"{column} {kind}" for column, kind in columns.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {history_table(spec, name)} ({body})")


def table_exists(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ?",
            [spec.schema(ZONE), name],
        ).fetchone()[0]
    )


def append(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str, rows: pl.DataFrame) -> int:
    """Append rows atomically, replacing earlier rows of the same champion version and window.

    Args:
        con: a writable warehouse connection.
        spec: the product.
        name: DRIFT_HISTORY or PERFORMANCE_HISTORY.
        rows: the table's columns (any order; missing nullable columns are NULL).

    Returns:
        Rows written.
    """
    if rows.is_empty():
        return 0
    ensure_history(con, spec)
    table = history_table(spec, name)
    columns = list(COLUMNS[name])
    missing = [c for c in columns if c not in rows.columns]
    staged = rows.with_columns(pl.lit(None).alias(c) for c in missing).select(columns)
    con.register("_monitoring_rows", staged)
    try:
        with transaction(con):
            con.execute(
                f"DELETE FROM {table} WHERE (model_version, window_end) IN "
                "(SELECT DISTINCT model_version, window_end FROM _monitoring_rows)"
            )
            con.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM _monitoring_rows"
            )
    finally:
        con.unregister("_monitoring_rows")
    return staged.height


def last_window_end(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str, model_version: str
) -> date | None:
    """The latest window evaluated for a champion version, or None."""
    if not table_exists(con, spec, name):
        return None
    return con.execute(
        f"SELECT max(window_end) FROM {history_table(spec, name)} WHERE model_version = ?",
        [model_version],
    ).fetchone()[0]


def read(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    since: date | None = None,
) -> pl.DataFrame:
    """The history (from window end `since` on), ordered by window and evaluation."""
    if not table_exists(con, spec, name):
        return pl.DataFrame(schema={c: pl.String for c in COLUMNS[name]})
    where, params = ("WHERE window_end >= ?", [since]) if since else ("", [])
    return con.execute(
        f"SELECT * FROM {history_table(spec, name)} {where} "
        "ORDER BY window_end, evaluated_at, model_version",
        params,
    ).pl()
