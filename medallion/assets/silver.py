"""Dagster assets of the silver zone: one conformed entity per source, with its contract."""

import time
from pathlib import Path

import dagster as dg

from medallion.assets.bronze import bronze_key
from medallion.assets.checks import SILVER_CHECKS, check_specs, run_checks, to_result
from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.metadata import table_metadata
from medallion.checks import expectations, names
from medallion.checks.revisions import record_revision, revision_counts
from medallion.checks.silver import (
    completeness,
    key_unique,
    referential_integrity,
    row_accounting,
    rule_outcomes,
)
from medallion.resources.pseudonymization import PseudonymizationResource, hmac_pads
from medallion.resources.warehouse import WarehouseResource
from medallion.spec import ProductSpec
from medallion.zones.silver import build_silver
from medallion.zones.tables import describe_table, retry_on_one_thread


def silver_key(spec: ProductSpec, entity: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "silver", entity])


def build_silver_asset(spec: ProductSpec, entity: str) -> dg.AssetsDefinition:
    """Typed, cleaned, deduplicated and pseudonymized rows of one entity."""
    source = spec.sources[entity]
    key = silver_key(spec, entity)
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
        key=key,
        deps=[bronze_key(spec, entity)],
        group_name="silver",
        kinds={"duckdb"},
        description=description,
        op_tags=DUCKDB_TAG,
        metadata={"dagster/table_name": table, "key": source.key},
        tags={"medallion/product": spec.name},
        check_specs=check_specs(key, SILVER_CHECKS),
    )
    def _silver(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        pseudonymization: PseudonymizationResource,
    ) -> dg.MaterializeResult:
        pads = hmac_pads(pseudonymization.key_bytes())
        with warehouse.get_connection() as con:
            started = time.perf_counter()
            counts = retry_on_one_thread(
                con, lambda: build_silver(con, spec, entity, pads), context.log.warning
            )
            transform_s = time.perf_counter() - started
            outcomes = run_checks(
                [
                    lambda: row_accounting(con, spec, entity),
                    lambda: key_unique(
                        spec, entity, *record_revision(con, spec, table, source.key, context.run_id)
                    ),
                    lambda: completeness(con, spec, entity),
                    lambda: rule_outcomes(spec, entity, counts),
                    lambda: revision_counts(con, spec, table, source.tolerance),
                ]
            )
            table_description = describe_table(con, table)
        outcomes += run_checks(
            [lambda: expectations.validate(Path(warehouse.database), spec, entity)]
        )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table_description, transform_s),
                "bronze_rows": dg.MetadataValue.int(counts.bronze_rows),
                "quarantined_rows": dg.MetadataValue.int(counts.quarantined_rows),
                "duplicates_removed": dg.MetadataValue.int(counts.duplicates_removed),
                "rule_violations": dg.MetadataValue.json(counts.rule_counts),
                "quarantine_table": dg.MetadataValue.text(spec.table("quarantine", entity)),
            },
            check_results=[to_result(outcome, key) for outcome in outcomes],
        )

    return _silver


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
        description=f"Every reference of {entity} resolves in {', '.join(targets) or entity}.",
        blocking=False,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        def check():
            with warehouse.get_connection(read_only=True) as con:
                return referential_integrity(con, spec, entity)

        return to_result(run_checks([check])[0], key)

    return _check
