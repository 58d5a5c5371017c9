"""Dagster assets of the bronze zone: one per source of each product."""

import time

import dagster as dg

from medallion.assets.checks import BRONZE_CHECKS, check_specs, run_checks, to_result
from medallion.assets.constants import DUCKDB_TAG, table_pool
from medallion.assets.keys import bronze_key
from medallion.assets.metadata import table_metadata
from medallion.checks.landing import file_changes, file_ledger, files_readable, schema_drift
from medallion.resources.landing import LandingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec
from medallion.zones.bronze import RESCUED_COLUMN, IngestionReport, ingest_source
from medallion.zones.column_notes import source_column_notes
from medallion.zones.tables import describe_table

FILES_LOGGED_ONE_BY_ONE = 5
"""Above this many files in one run (a backlog, a history) one line sums them up: every log
line is an event written to Dagster's storage. The files are listed in the metadata."""


def _log(context: dg.AssetExecutionContext, report: IngestionReport) -> None:
    """One line per file that did something other than land as usual."""
    if len(report.ingested) > FILES_LOGGED_ONE_BY_ONE:
        first, last = report.ingested[0][0], report.ingested[-1][0]
        context.log.info(
            f"ingested {len(report.ingested)} files, {report.rows_added} rows ({first} … "
            f"{last}; the first 50 in the metadata `files_ingested_names`)"
        )
    else:
        for name, rows in report.ingested:
            context.log.info(f"ingested {name}: {rows} rows")
    if report.skipped:
        context.log.info(f"{len(report.skipped)} file(s) already ingested, skipped")
    for line in report.duplicates:
        context.log.info(f"skipped {line}")
    for line in report.in_flight + report.changed:
        context.log.warning(line)
    for line in report.acknowledged:
        context.log.info(line)
    for problem in report.failed:
        context.log.error(problem)


def build_bronze_asset(spec: ProductSpec, source_name: str) -> dg.AssetsDefinition:
    """Append-only ingestion of one source's new landing files."""
    source = spec.sources[source_name]
    key = bronze_key(spec, source_name)
    table = spec.table("bronze", source_name)
    masked = {*source.pii_columns, RESCUED_COLUMN}
    notes = source_column_notes(spec, source_name, "bronze")
    description = (
        f"{source.description or source_name.capitalize()}\n\n"
        f"Every new {source.format} file in landing/{spec.name}/{source_name}/ appended as delivered to "
        f"`{table}`, with lineage columns; a ledger of content hashes makes a file delivered "
        "twice land once, and every record of a file is counted apart from the parser. A file "
        "is taken once its writer is done (a `<file>.done` marker, or unchanged for "
        f"{source.quiet_seconds:g} s). A file that cannot be read is refused whole and named by "
        "the blocking check `files_readable` until `medallion landing ack` passes it over; "
        f"schema drift policy: {source.schema_drift}."
    )

    @dg.asset(
        key=key,
        group_name="bronze",
        kinds={"duckdb", source.format},
        description=description,
        op_tags=DUCKDB_TAG,
        pool=table_pool(table),
        metadata={"dagster/table_name": table, "format": source.format},
        tags={"medallion/product": spec.name},
        check_specs=check_specs(key, BRONZE_CHECKS),
    )
    def _bronze(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
    ) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.get_connection() as con:
            report = ingest_source(con, spec, source_name, spec.landing(landing.path()))
            transform_s = time.perf_counter() - started
            outcomes = run_checks(
                [
                    lambda: files_readable(report),
                    lambda: file_ledger(con, spec, source_name),
                    lambda: schema_drift(con, spec, source_name, report.batch_ids),
                    lambda: file_changes(report),
                ]
            )
            table_description = describe_table(con, table, masked=masked)
        _log(context, report)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table_description, transform_s, notes),
                **_file_metadata(report),
            },
            check_results=[to_result(outcome, key) for outcome in outcomes],
        )

    return _bronze


def _file_metadata(report: IngestionReport) -> dict[str, object]:
    """What happened to the landing files, the lists cut at 50 names."""
    return {
        "files_ingested": dg.MetadataValue.int(len(report.ingested)),
        "files_ingested_names": dg.MetadataValue.json(
            [f"{name}: {rows} rows" for name, rows in report.ingested[:50]]
        ),
        "files_skipped": dg.MetadataValue.int(len(report.skipped)),
        "files_refused": dg.MetadataValue.int(len(report.failed)),
        "rows_added": dg.MetadataValue.int(report.rows_added),
        "files_duplicating_a_batch": dg.MetadataValue.json(report.duplicates[:50]),
        "files_in_flight": dg.MetadataValue.json(report.in_flight[:50]),
        "files_changed_after_ingestion": dg.MetadataValue.json(report.changed[:50]),
        "files_acknowledged": dg.MetadataValue.json(report.acknowledged[:50]),
    }
