"""Silver → gold: consumer-ready products built by SQL in DuckDB or by a Polars function.

SQL runs where the data is. A Polars transform receives its inputs as lazy frames read
from DuckDB through Arrow (no pandas, no row loops) and returns a lazy frame, which is
collected once and written back through Arrow; both swap the table in atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from medallion.references import load_reference
from medallion.spec import ProductSpec, gold_changed_keys_table
from medallion.zones.gold_windows import GoldWindow, builds_table, gold_fingerprint, plan_window
from medallion.zones.sql import quote
from medallion.zones.tables import table_exists

PolarsTransform = Callable[[dict[str, pl.LazyFrame]], pl.LazyFrame | pl.DataFrame]


def load_polars_transform(spec: ProductSpec, name: str) -> PolarsTransform:
    """Import the function a gold product names, with an error naming the spec field."""
    return load_reference(spec, spec.gold[name].polars or "", f"gold.{name}.polars")


def _polars_frame(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str, window: GoldWindow
) -> pl.DataFrame:
    """Run a Polars transform on its inputs read through Arrow; within a window, inputs with
    a time column are read from `history_start` on, filtered in DuckDB."""
    transform = load_polars_transform(spec, name)
    inputs = {}
    for zone, table in spec.gold_inputs(name):
        column = spec.sources[table].time_column if zone == "silver" else None
        where = (
            f" WHERE {quote(column)} >= DATE '{window.history_start}'"
            if column and not window.full
            else ""
        )
        inputs[f"{zone}.{table}"] = (
            con.sql(f"SELECT * FROM {spec.table(zone, table)}{where}").pl().lazy()
        )
    result = transform(inputs)
    return result.collect() if isinstance(result, pl.LazyFrame) else result


@dataclass(frozen=True)
class GoldBuild:
    """What one gold run did: the window it recomputed (or a full rebuild) and its rows."""

    window: GoldWindow
    rows_written: int
    rows_replaced: int
    table_rows: int


def build_gold(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    *,
    full_refresh: bool = False,
    run_id: str = "",
    days: tuple[date, date] | None = None,
) -> GoldBuild:
    """Materialize one gold product, whichever way it is declared: in full, or only the
    window its inputs' changes reach when it declares an incremental strategy.

    `days` [start, end), e.g. the partitions a Dagster run targets, are recomputed too.
    Gold rows have no meaningful order, so DuckDB may drop insertion order, which lets wide
    window queries run in less memory.
    """
    con.execute("SET preserve_insertion_order = false")
    table = spec.table("gold", name)
    window = plan_window(con, spec, name, table_exists(con, table), full_refresh, days)
    if window.empty:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return GoldBuild(window, 0, 0, int(rows))
    _stage_keys(con, name, window)
    view = f"_gold_result_{name}"
    if spec.gold[name].polars:
        con.register(view, _polars_frame(con, spec, name, window).to_arrow())
        select = f"SELECT * FROM {view}"
    else:
        select = spec.render_sql(name, window.bounds)
    try:
        return _write(con, spec, name, window, select, run_id)
    finally:
        if spec.gold[name].polars:
            con.unregister(view)


def _write(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    window: GoldWindow,
    select: str,
    run_id: str,
) -> GoldBuild:
    """Replace the table, or exactly its window's rows, and record the build: one transaction."""
    table = spec.table("gold", name)
    strategy = spec.gold[name].incremental
    column = quote(strategy.time_column) if strategy else ""
    inside = window_filter(spec, name, window)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('gold')}")
        if window.full:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
            replaced = 0
            written = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        else:
            replaced = con.execute(f"DELETE FROM {table} WHERE {inside}").fetchone()[0]
            written = con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM ({select}) WHERE {inside}"
            ).fetchone()[0]
        rows, newest = con.execute(
            f"SELECT count(*), {f'max({column})' if column else 'NULL'} FROM {table}"
        ).fetchone()
        con.execute(
            f"INSERT INTO {builds_table(spec)} VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, "
            "MAP(?::VARCHAR[], ?::BIGINT[]), ?)",
            [
                name,
                window.full,
                window.reason,
                gold_fingerprint(spec, name),
                None if window.full else window.start,
                None if window.full else window.end,
                newest,
                [entity for entity, _ in window.watermarks],
                [seq for _, seq in window.watermarks],
                int(written),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return GoldBuild(window, int(written), int(replaced), int(rows))


def _stage_keys(con: duckdb.DuckDBPyConnection, name: str, window: GoldWindow) -> None:
    """Fill the temporary table {{ changed_keys }} names with the window's entities (none
    for a full build); it stays on the connection for the checks of the recomputed rows."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {gold_changed_keys_table(name)} AS "
        "SELECT unnest(?::VARCHAR[]) AS key",
        [list(window.keys)],
    )


def window_filter(spec: ProductSpec, name: str, window: GoldWindow) -> str:
    """SQL condition selecting the rows a windowed run recomputed: its days, and every day
    of its changed entities (read from the connection's staged keys); empty after a full
    build."""
    strategy = spec.gold[name].incremental
    if window.full or strategy is None:
        return ""
    column = quote(strategy.time_column)
    days = f"({column} >= DATE '{window.start}' AND {column} < DATE '{window.end}')"
    if not window.keys or strategy.key_column is None:
        return days
    staged = gold_changed_keys_table(name)
    key = f"CAST({quote(strategy.key_column)} AS VARCHAR)"
    return f"({days} OR {key} IN (SELECT key FROM {staged}))"
