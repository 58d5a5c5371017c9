"""Silver → gold: consumer-ready products built by SQL in DuckDB or by a Polars function.

SQL runs where the data is. A Polars transform receives its inputs as lazy frames read
from DuckDB through Arrow (no pandas, no row loops) and returns a lazy frame, which is
collected once and written back through Arrow; both swap the table in atomically.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from medallion.references import load_reference
from medallion.spec import ProductSpec
from medallion.zones.tables import replace_table

PolarsTransform = Callable[[dict[str, pl.LazyFrame]], pl.LazyFrame | pl.DataFrame]


def load_polars_transform(spec: ProductSpec, name: str) -> PolarsTransform:
    """Import the function a gold product names, with an error naming the spec field."""
    return load_reference(spec, spec.gold[name].polars or "", f"gold.{name}.polars")


def build_gold_sql(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> int:
    """Materialize a SQL gold product; returns its row count."""
    return replace_table(con, spec.table("gold", name), spec.render_sql(name))


def build_gold_polars(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> int:
    """Materialize a Polars gold product; returns its row count."""
    transform = load_polars_transform(spec, name)
    inputs = {
        f"{zone}.{table}": con.sql(f"SELECT * FROM {spec.table(zone, table)}").pl().lazy()
        for zone, table in spec.gold_inputs(name)
    }
    result = transform(inputs)
    frame = result.collect() if isinstance(result, pl.LazyFrame) else result
    view = f"_gold_result_{name}"
    con.register(view, frame.to_arrow())
    try:
        return replace_table(con, spec.table("gold", name), f"SELECT * FROM {view}")
    finally:
        con.unregister(view)


def build_gold(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> int:
    """Materialize one gold product, whichever way it is declared.

    Gold rows have no meaningful order, so DuckDB may drop insertion order, which lets wide
    window queries run in less memory.
    """
    con.execute("SET preserve_insertion_order = false")
    if spec.gold[name].polars:
        return build_gold_polars(con, spec, name)
    return build_gold_sql(con, spec, name)
