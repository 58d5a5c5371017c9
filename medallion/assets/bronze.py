"""Dagster assets of the bronze zone: one per source of each product."""

import time

import dagster as dg

from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.metadata import table_metadata
from medallion.resources.landing import LandingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec
from medallion.zones.bronze import RESCUED_COLUMN, ingest_source
from medallion.zones.tables import describe_table


def bronze_key(spec: ProductSpec, source_name: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "bronze", source_name])


def build_bronze_asset(spec: ProductSpec, source_name: str) -> dg.AssetsDefinition:
    """Append-only ingestion of one source's new landing files."""
    source = spec.sources[source_name]
    table = spec.table("bronze", source_name)
    masked = {*source.pii_columns, RESCUED_COLUMN}
    description = (
        f"{source.description or source_name.capitalize()}\n\n"
        f"Every new {source.format} file in landing/{source_name}/ appended as delivered to "
        f"`{table}`, with lineage columns; a ledger of content hashes makes a file delivered "
        "twice land once."
    )

    @dg.asset(
        key=bronze_key(spec, source_name),
        group_name="bronze",
        kinds={"duckdb", source.format},
        description=description,
        op_tags=DUCKDB_TAG,
        metadata={"dagster/table_name": table, "format": source.format},
        tags={"medallion/product": spec.name},
    )
    def _bronze(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
    ) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.get_connection() as con:
            report = ingest_source(con, spec, source_name, landing.path())
            table_description = describe_table(con, table, masked=masked)
        for name, rows in report.ingested:
            context.log.info(f"ingested {name}: {rows} rows")
        if report.skipped:
            context.log.info(f"already ingested, skipped: {len(report.skipped)} file(s)")
        if report.failed:
            raise dg.Failure(
                description=f"{len(report.failed)} landing file(s) could not be ingested "
                f"({len(report.ingested)} other file(s) were): " + " | ".join(report.failed),
                metadata={
                    "failed_files": dg.MetadataValue.md("\n".join(f"- {e}" for e in report.failed)),
                    "files_ingested": len(report.ingested),
                },
            )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table_description, started),
                "files_ingested": dg.MetadataValue.int(len(report.ingested)),
                "files_skipped": dg.MetadataValue.int(len(report.skipped)),
                "rows_added": dg.MetadataValue.int(report.rows_added),
            }
        )

    return _bronze
