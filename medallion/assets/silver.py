"""Dagster assets of the silver zone: one conformed entity per source, with its contract."""

import time

import dagster as dg

from medallion.assets.automation import follows_inputs
from medallion.assets.checks import SILVER_CHECKS, check_specs, run_checks, to_result
from medallion.assets.constants import DUCKDB_TAG, full_refresh_requested, table_pool
from medallion.assets.keys import bronze_key, silver_key
from medallion.assets.metadata import table_metadata
from medallion.checks import expectations, names
from medallion.checks.outcome import CheckOutcome
from medallion.checks.revisions import record_counts, revision_counts
from medallion.checks.silver import (
    batch_accounting,
    changed_keys,
    key_unique,
    maintained_completeness,
    referential_integrity,
    rule_outcomes,
)
from medallion.resources.pseudonymization import PseudonymizationResource, hmac_pads
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec
from medallion.zones.column_notes import source_column_notes
from medallion.zones.silver import SilverCounts, build_silver
from medallion.zones.tables import describe_table, retry_on_one_thread


def _description(spec: ProductSpec, entity: str) -> str:
    source = spec.sources[entity]
    pii = ", ".join(source.pii_columns) or "none"
    return (
        f"{source.description or entity.capitalize()}\n\n"
        f"`{spec.table('silver', entity)}`: bronze rows typed and cleaned, deduplicated on "
        f"{source.key} (latest {source.version_column or 'delivery'} wins), PII ({pii}) "
        f"replaced by HMAC-SHA256 pseudonyms. Rows breaking a rule go to "
        f"`{spec.table('quarantine', entity)}` with the reason."
    )


def build_silver_asset(spec: ProductSpec, entity: str) -> dg.AssetsDefinition:
    """Typed, cleaned, deduplicated and pseudonymized rows of one entity."""
    source = spec.sources[entity]
    key = silver_key(spec, entity)
    table = spec.table("silver", entity)
    notes = source_column_notes(spec, entity, "silver")

    @dg.asset(
        key=key,
        deps=[bronze_key(spec, entity)],
        group_name="silver",
        kinds={"duckdb"},
        description=_description(spec, entity),
        op_tags=DUCKDB_TAG,
        pool=table_pool(table),
        metadata={"dagster/table_name": table, "key": source.key},
        tags={"medallion/product": spec.name},
        check_specs=check_specs(key, SILVER_CHECKS),
        automation_condition=follows_inputs(),
    )
    def _silver(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        pseudonymization: PseudonymizationResource,
    ) -> dg.MaterializeResult:
        pads = hmac_pads(pseudonymization.key_bytes())
        full_refresh = full_refresh_requested(context.run.tags)
        with warehouse.get_connection() as con:
            started = time.perf_counter()
            counts = retry_on_one_thread(
                con,
                lambda: build_silver(
                    con, spec, entity, pads, full_refresh=full_refresh, run_id=context.run_id
                ),
                context.log.warning,
            )
            transform_s = time.perf_counter() - started
            _log_plan(context, entity, counts)
            outcomes = run_checks(_silver_checks(con, spec, entity, counts, context.run_id))
            table_description = describe_table(con, table)
        outcomes += run_checks(
            [lambda: _expectations(warehouse, spec, entity, counts, context.run_id)]
        )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table_description, transform_s, notes),
                **_count_metadata(counts),
                "quarantine_table": dg.MetadataValue.text(spec.table("quarantine", entity)),
            },
            check_results=[to_result(outcome, key) for outcome in outcomes],
        )

    return _silver


def _log_plan(context: dg.AssetExecutionContext, entity: str, counts: SilverCounts) -> None:
    if counts.full_rebuild:
        context.log.info(f"silver {entity}: full rebuild ({counts.reason})")
    else:
        context.log.info(
            f"silver {entity}: merged {len(counts.batches)} new batch(es) ({counts.reason}); "
            f"{counts.replaced_rows} row(s) of earlier batches superseded"
        )


def _silver_checks(con, spec: ProductSpec, entity: str, counts: SilverCounts, run_id: str):  # type: ignore[no-untyped-def]
    """The silver contract on what changed, plus the whole-table counts the merge keeps."""
    source = spec.sources[entity]
    table = spec.table("silver", entity)

    def keys():
        rows, distinct = changed_keys(con, spec, entity, counts.batches)
        return key_unique(spec, entity, *record_counts(con, spec, table, rows, distinct, run_id))

    return [
        lambda: batch_accounting(con, spec, entity, counts.batches),
        keys,
        lambda: maintained_completeness(con, spec, entity),
        lambda: rule_outcomes(spec, entity, counts),
        lambda: revision_counts(con, spec, table, source.tolerance),
    ]


def _expectations(
    warehouse: WarehouseResource, spec: ProductSpec, entity: str, counts: SilverCounts, run_id: str
):  # type: ignore[no-untyped-def]
    """The GX suite on the rows this run added (the whole table after a full rebuild)."""
    if not counts.full_rebuild and counts.silver_rows == 0:
        return CheckOutcome(
            name=names.EXPECTATIONS,
            passed=True,
            severity="ERROR",
            description="no new silver rows to validate",
            metadata={"evaluated": 0},
        )
    batches = None if counts.full_rebuild else counts.batches
    return expectations.validate(
        warehouse.database, spec, entity, batches=batches, run_id=run_id, anchor=warehouse.anchor
    )


def _count_metadata(counts: SilverCounts) -> dict[str, object]:
    return {
        "full_rebuild": dg.MetadataValue.bool(counts.full_rebuild),
        "plan": dg.MetadataValue.text(counts.reason),
        "new_batches": dg.MetadataValue.int(len(counts.batches)),
        "bronze_rows": dg.MetadataValue.int(counts.bronze_rows),
        "rows_added": dg.MetadataValue.int(counts.silver_rows),
        "quarantined_rows": dg.MetadataValue.int(counts.quarantined_rows),
        "duplicates_removed": dg.MetadataValue.int(counts.duplicates_removed),
        "superseded_earlier_rows": dg.MetadataValue.int(counts.replaced_rows),
        "rule_violations": dg.MetadataValue.json(counts.rule_counts),
    }


def build_reference_checks(spec: ProductSpec) -> list[dg.AssetChecksDefinition]:
    """Referential integrity between entities, for every entity that declares references;
    runs once both sides are built."""
    checks = []
    for entity, source in spec.sources.items():
        targets = sorted(
            {c.references.split(".")[0] for c in source.columns.values() if c.references}
        )
        if targets:
            checks.append(_reference_check(spec, entity, [t for t in targets if t != entity]))
    return checks


def _reference_check(
    spec: ProductSpec, entity: str, targets: list[str]
) -> dg.AssetChecksDefinition:
    key = silver_key(spec, entity)

    @dg.asset_check(
        asset=key,
        name=names.REFERENTIAL_INTEGRITY,
        additional_deps=[silver_key(spec, t) for t in targets],
        description=f"Every reference of {entity}'s newly merged rows resolves in "
        f"{', '.join(targets) or entity}.",
        blocking=False,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        def check():
            with warehouse.get_connection(read_only=True) as con:
                return referential_integrity(con, spec, entity, latest_only=True)

        return to_result(run_checks([check])[0], key)

    return _check
