"""Dagster assets of the gold zone: consumer-ready data products."""

import time

import dagster as dg

from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.metadata import table_metadata
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec
from medallion.zones.gold import build_gold
from medallion.zones.tables import describe_table


def zone_key(spec: ProductSpec, zone: str, name: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, zone, name])


def build_gold_asset(spec: ProductSpec, name: str) -> dg.AssetsDefinition:
    """One gold product, by SQL in DuckDB or by a Polars function."""
    gold = spec.gold[name]
    table = spec.table("gold", name)
    engine = "polars" if gold.polars else "sql"
    description = (
        f"{(gold.description or name).strip()}\n\n"
        f"`{table}`, one row per {', '.join(gold.grain)}; built by "
        f"{'Polars function ' + gold.polars if gold.polars else 'SQL in DuckDB'}."
    )

    @dg.asset(
        key=zone_key(spec, "gold", name),
        deps=[zone_key(spec, zone, table_name) for zone, table_name in spec.gold_inputs(name)],
        group_name="gold",
        kinds={"duckdb", engine},
        description=description,
        op_tags=DUCKDB_TAG,
        metadata={"dagster/table_name": table, "grain": gold.grain},
        tags={"medallion/product": spec.name},
    )
    def _gold(warehouse: WarehouseResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.get_connection() as con:
            build_gold(con, spec, name)
            table_description = describe_table(con, table)
        return dg.MaterializeResult(metadata=table_metadata(table_description, started))

    return _gold
