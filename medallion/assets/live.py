"""Dagster asset of the monitoring zone: the live comparison of the champion and its shadow
challengers on the predictions the service logged, once their labels arrived in gold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from medallion.assets.checks import to_result
from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.jobs import has_model
from medallion.checks.outcome import CheckOutcome
from medallion.monitoring import names
from medallion.resources.warehouse import WarehouseResource
from medallion.service.predictions import predictions_root, read_log
from medallion.spec import ProductSpec
from medallion.zones.sql import quote
from medallion.zones.tables import replace_table

if TYPE_CHECKING:
    from medallion.monitoring.live import Comparison

LIVE = "live_comparison"
LIVE_CHECK = "live_challenger"


def live_assets(spec: ProductSpec) -> list[dg.AssetsDefinition]:
    return [build_live_asset(spec)] if has_model(spec) else []


def promote_call(spec: ProductSpec, version: str) -> str:
    return f"MlflowClient().set_registered_model_alias({spec.name!r}, 'champion', {version!r})"


def live_outcome(spec: ProductSpec, comparisons: list[Comparison], labelled: int) -> CheckOutcome:
    """WARN when a challenger beats the champion on live data by more than the noise."""
    winners = [c for c in comparisons if c.beats]
    if not comparisons:
        text = f"no live labelled predictions of a champion and a challenger yet ({labelled} rows)"
    else:
        text = "; ".join(c.describe() for c in comparisons)
    if winners:
        best = max(winners, key=lambda c: c.difference)
        text = f"{text}. Promote {best.alias} with {promote_call(spec, best.version)}"
    return CheckOutcome(
        LIVE_CHECK,
        not winners,
        "WARN",
        text,
        {
            "comparisons": [
                {
                    "alias": c.alias,
                    "version": c.version,
                    "champion_version": c.champion_version,
                    "metric": c.metric,
                    "rows": c.rows,
                    "champion": c.champion_value,
                    "challenger": c.challenger_value,
                    "margin": c.margin,
                    "beats": c.beats,
                }
                for c in comparisons
            ],
            "labelled_predictions": labelled,
        },
    )


def build_live_asset(spec: ProductSpec) -> dg.AssetsDefinition:
    """Per model version and window: primary metric, group metrics and counts on live data."""
    model = spec.model
    assert model is not None
    key = dg.AssetKey([spec.name, names.GROUP, LIVE])
    table = f"{spec.schema('monitoring')}.{LIVE}"
    columns = [model.entity_key, model.time_column, model.target, *model.sensitive]

    @dg.asset(
        key=key,
        deps=[dg.AssetKey([spec.name, "gold", model.table])],
        group_name=names.GROUP,
        kinds={"duckdb", "polars"},
        op_tags=DUCKDB_TAG,
        tags={"medallion/product": spec.name},
        description=(
            f"The champion and every shadow challenger of {spec.name} compared on live "
            f"predictions (the service's log) whose labels arrived in gold: `{table}`."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                LIVE_CHECK,
                asset=key,
                blocking=False,
                description="Warns when a challenger beats the champion on live data by more "
                "than the noise.",
            )
        ],
    )
    def _live(warehouse: WarehouseResource) -> dg.MaterializeResult:
        # Imported here: its metrics import scikit-learn, which zone runs do not preload.
        from medallion.monitoring.live import compare, labelled_predictions, window_rows

        log = read_log(predictions_root(warehouse.database), spec.name)
        with warehouse.get_connection() as con:
            selected = ", ".join(quote(c) for c in columns)
            gold = con.sql(f"SELECT {selected} FROM {spec.table('gold', model.table)}").pl()
            labelled = labelled_predictions(log, gold, spec)
            windows = window_rows(labelled, spec)
            comparisons = compare(labelled, spec)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('monitoring')}")
            con.register("_live_windows", windows.to_arrow())
            try:
                replace_table(con, table, "SELECT * FROM _live_windows")
            finally:
                con.unregister("_live_windows")
        outcome = live_outcome(spec, comparisons, labelled.height)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(windows.height),
                "labelled_predictions": dg.MetadataValue.int(labelled.height),
                "versions": dg.MetadataValue.json(sorted(set(windows["model_version"]))),
            },
            check_results=[to_result(outcome, key)],
        )

    return _live
