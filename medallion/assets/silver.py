"""Dagster assets of the silver zone: one conformed entity per source."""

import time

import dagster as dg

from medallion.assets.bronze import bronze_key
from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.metadata import table_metadata
from medallion.resources.pseudonymization import PseudonymizationResource, hmac_pads
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec
from medallion.zones.silver import build_silver
from medallion.zones.tables import describe_table


def silver_key(spec: ProductSpec, entity: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "silver", entity])


def build_silver_asset(spec: ProductSpec, entity: str) -> dg.AssetsDefinition:
    """Typed, cleaned, deduplicated and pseudonymized rows of one entity."""
    source = spec.sources[entity]
    table = spec.table("silver", entity)
    pii = ", ".join(source.pii_columns) or "none"
    description = (
        f"{source.description or entity.capitalize()}\n\n"
        f"`{table}`: bronze rows typed and cleaned, deduplicated on {source.key} "
        f"(latest {source.version_column or 'delivery'} wins), PII ({pii}) replaced by "
        f"HMAC-SHA256 pseudonyms. Rows breaking a rule go to "
        f"`{spec.table('quarantine', entity)}` with the reason."
    )

    @dg.asset(
        key=silver_key(spec, entity),
        deps=[bronze_key(spec, entity)],
        group_name="silver",
        kinds={"duckdb"},
        description=description,
        op_tags=DUCKDB_TAG,
        metadata={"dagster/table_name": table, "key": source.key},
        tags={"medallion/product": spec.name},
    )
    def _silver(
        warehouse: WarehouseResource, pseudonymization: PseudonymizationResource
    ) -> dg.MaterializeResult:
        started = time.perf_counter()
        pads = hmac_pads(pseudonymization.key_bytes())
        with warehouse.get_connection() as con:
            counts = build_silver(con, spec, entity, pads)
            table_description = describe_table(con, table)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table_description, started),
                "bronze_rows": dg.MetadataValue.int(counts.bronze_rows),
                "quarantined_rows": dg.MetadataValue.int(counts.quarantined_rows),
                "duplicates_removed": dg.MetadataValue.int(counts.duplicates_removed),
                "quarantine_table": dg.MetadataValue.text(spec.table("quarantine", entity)),
            }
        )

    return _silver
