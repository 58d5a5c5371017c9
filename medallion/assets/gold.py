"""Dagster assets of the gold zone: consumer-ready data products, with their contract."""

import time
import warnings
from datetime import date
from pathlib import Path

import dagster as dg

from medallion.assets.automation import follows_inputs
from medallion.assets.checks import GOLD_CHECKS, check_specs, run_checks, to_result
from medallion.assets.constants import DUCKDB_TAG, full_refresh_requested, table_pool
from medallion.assets.keys import zone_key
from medallion.assets.metadata import table_metadata
from medallion.checks import expectations, names
from medallion.checks.gold import grain_unique, no_pii
from medallion.checks.outcome import CheckOutcome
from medallion.checks.revisions import record_revision, revision_counts
from medallion.checks.versions import compare_versions
from medallion.resources.warehouse import WarehouseResource
from medallion.service.publishing import publish_checked
from medallion.spec import ProductSpec
from medallion.zones.column_notes import gold_column_notes
from medallion.zones.gold import GoldBuild, build_gold, window_filter
from medallion.zones.tables import describe_table, retry_on_one_thread


def build_gold_asset(spec: ProductSpec, name: str) -> dg.AssetsDefinition:
    """One gold product, by SQL in DuckDB or by a Polars function."""
    gold = spec.gold[name]
    key = zone_key(spec, "gold", name)
    table = spec.table("gold", name)
    description = (
        f"{(gold.description or name).strip()}\n\n"
        f"`{table}`, one row per {', '.join(gold.grain)}; built by "
        f"{'Polars function ' + gold.polars if gold.polars else 'SQL in DuckDB'}."
    )

    with warnings.catch_warnings():
        # BackfillPolicy.single_run() is documented and tested here; Dagster marks it beta.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _gold_asset(spec, name, key, description)


def _build_metadata(build: GoldBuild) -> dict[str, dg.MetadataValue]:
    """What a gold build did: rebuilt or windowed, its plan, rows written and replaced."""
    return {
        "full_rebuild": dg.MetadataValue.bool(build.window.full),
        "plan": dg.MetadataValue.text(_plan_text(build)),
        "rows_written": dg.MetadataValue.int(build.rows_written),
        "rows_replaced": dg.MetadataValue.int(build.rows_replaced),
    }


def _gold_asset(
    spec: ProductSpec, name: str, key: dg.AssetKey, description: str
) -> dg.AssetsDefinition:
    gold = spec.gold[name]
    table = spec.table("gold", name)
    engine = "polars" if gold.polars else "sql"
    partitioned = is_partitioned(spec, name)
    notes = gold_column_notes(spec, name)

    @dg.asset(
        key=key,
        deps=[zone_key(spec, zone, table_name) for zone, table_name in spec.gold_inputs(name)],
        group_name="gold",
        kinds={"duckdb", engine},
        description=description,
        op_tags=DUCKDB_TAG,
        pool=table_pool(table),
        metadata={"dagster/table_name": table, "grain": gold.grain},
        tags={"medallion/product": spec.name},
        check_specs=check_specs(key, GOLD_CHECKS),
        automation_condition=follows_inputs(),
        partitions_def=daily_partitions(spec) if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
    )
    def _gold(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        full_refresh = full_refresh_requested(context.run.tags)
        days = partition_days(context)
        with warehouse.get_connection() as con:
            started = time.perf_counter()
            build = retry_on_one_thread(
                con,
                lambda: build_gold(
                    con, spec, name, full_refresh=full_refresh, run_id=context.run_id, days=days
                ),
                context.log.warning,
            )
            transform_s = time.perf_counter() - started
            context.log.info(f"gold {name}: {_plan_text(build)}")
            outcomes = run_checks(
                _gold_checks(con, spec, name, build, context.run_id, warehouse.anchor)
            )
            table_description = describe_table(con, table)
            # Service hook: consumers read an immutable snapshot, only of a passing version.
            published = publish_checked(
                con, spec, name, outcomes, GOLD_CHECKS, warehouse.anchor, context.run_id
            )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table_description, transform_s, notes),
                **_build_metadata(build),
                "published_version": published.version_id if published else "not published",
            },
            check_results=[to_result(outcome, key) for outcome in outcomes],
        )

    return _gold


def is_partitioned(spec: ProductSpec, name: str) -> bool:
    """Incremental gold over silver is daily-partitioned; gold over incremental gold (a new
    version of it) follows its input's windows unpartitioned: Dagster cannot resolve a
    partitioned input of a partitioned asset in a run without a partition (`medallion
    demo`, `medallion bench`)."""
    gold = spec.gold[name]
    return gold.incremental is not None and all(
        zone == "silver" for zone, _ in spec.gold_inputs(name)
    )


def daily_partitions(spec: ProductSpec) -> dg.DailyPartitionsDefinition:
    """The days of a product's incremental gold, today's included (`end_offset=1`) so that a
    delivery can be materialized on the day it arrives."""
    assert spec.partitions_start is not None
    return dg.DailyPartitionsDefinition(start_date=spec.partitions_start.isoformat(), end_offset=1)


def partition_days(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The days [start, end) a partitioned run targets (one day, or a backfill's range run
    at once); None for a run without partitions, which recomputes what changed."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return None
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def _plan_text(build: GoldBuild) -> str:
    window = build.window
    if window.full:
        return f"full rebuild ({window.reason})"
    if window.empty:
        return "nothing to recompute (no input changed)"
    entities = f" and {len(window.keys)} changed entities on every day" if window.keys else ""
    days = f"[{window.start}, {window.end})" if window.start < window.end else "no days"
    return f"recomputed {days}{entities} ({window.reason})"


def _gold_checks(con, spec: ProductSpec, name: str, build: GoldBuild, run_id: str, database: str):  # type: ignore[no-untyped-def]
    """Grain, expectations and PII on the recomputed rows (the whole table after a full
    rebuild), and the table's row and key counts against the previous revision."""
    gold = spec.gold[name]
    table = spec.table("gold", name)
    where = window_filter(spec, name, build.window)

    def revision():
        record_revision(con, spec, table, [gold.key or gold.grain[0]], run_id)
        return revision_counts(con, spec, table, gold.tolerance)

    def suite():
        if build.rows_written == 0:
            return CheckOutcome(names.EXPECTATIONS, True, "ERROR", "no recomputed rows to validate")
        return expectations.validate_gold(con, spec, name, Path(database), where, run_id)

    return [
        lambda: grain_unique(con, spec, name, where),
        suite,
        revision,
        lambda: no_pii(con, spec, name, where),
    ]


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
