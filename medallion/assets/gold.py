"""Dagster assets of the gold zone: consumer-ready data products, with their contract."""

import time

import dagster as dg

from medallion.assets.checks import GOLD_CHECKS, check_specs, run_checks, to_result
from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.metadata import table_metadata
from medallion.checks import names
from medallion.checks.gold import grain_unique, no_pii
from medallion.checks.revisions import record_revision, revision_counts
from medallion.checks.versions import compare_versions
from medallion.resources.warehouse import WarehouseResource
from medallion.service.publishing import publish_checked
from medallion.spec import ProductSpec
from medallion.zones.gold import build_gold
from medallion.zones.tables import describe_table, retry_on_one_thread


def zone_key(spec: ProductSpec, zone: str, name: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, zone, name])


def build_gold_asset(spec: ProductSpec, name: str) -> dg.AssetsDefinition:
    """One gold product, by SQL in DuckDB or by a Polars function."""
    gold = spec.gold[name]
    key = zone_key(spec, "gold", name)
    table = spec.table("gold", name)
    engine = "polars" if gold.polars else "sql"
    description = (
        f"{(gold.description or name).strip()}\n\n"
        f"`{table}`, one row per {', '.join(gold.grain)}; built by "
        f"{'Polars function ' + gold.polars if gold.polars else 'SQL in DuckDB'}."
    )

    @dg.asset(
        key=key,
        deps=[zone_key(spec, zone, table_name) for zone, table_name in spec.gold_inputs(name)],
        group_name="gold",
        kinds={"duckdb", engine},
        description=description,
        op_tags=DUCKDB_TAG,
        metadata={"dagster/table_name": table, "grain": gold.grain},
        tags={"medallion/product": spec.name},
        check_specs=check_specs(key, GOLD_CHECKS),
    )
    def _gold(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            started = time.perf_counter()
            retry_on_one_thread(con, lambda: build_gold(con, spec, name), context.log.warning)
            transform_s = time.perf_counter() - started

            def revision():
                record_revision(con, spec, table, [gold.key or gold.grain[0]], context.run_id)
                return revision_counts(con, spec, table, gold.tolerance)

            outcomes = run_checks(
                [
                    lambda: grain_unique(con, spec, name),
                    revision,
                    lambda: no_pii(con, spec, name),
                ]
            )
            table_description = describe_table(con, table)
            # Service hook: consumers read an immutable snapshot, only of a passing version.
            published = publish_checked(
                con, spec, name, outcomes, GOLD_CHECKS, warehouse.database, context.run_id
            )
        return dg.MaterializeResult(
            metadata=table_metadata(table_description, transform_s)
            | {"published_version": published.version_id if published else "not published"},
            check_results=[to_result(outcome, key) for outcome in outcomes],
        )

    return _gold


def build_version_checks(spec: ProductSpec) -> list[dg.AssetChecksDefinition]:
    """A comparison check on every gold version against the version it replaces."""
    return [
        _version_check(spec, name)
        for name, gold in spec.gold.items()
        if gold.version_of and not gold.retired and not spec.gold[gold.version_of].retired
    ]


def _version_check(spec: ProductSpec, name: str) -> dg.AssetChecksDefinition:
    base = spec.gold[name].version_of or ""

    @dg.asset_check(
        asset=zone_key(spec, "gold", name),
        name=names.VERSION_COMPARISON,
        additional_deps=[zone_key(spec, "gold", base)],
        description=f"{name} against {base}: keys kept, lost and gained; per-column differences.",
        blocking=False,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        def compare():
            with warehouse.get_connection(read_only=True) as con:
                return compare_versions(con, spec, name)

        return to_result(run_checks([compare])[0], zone_key(spec, "gold", name))

    return _check
