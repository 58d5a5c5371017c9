"""What the ML asset tests share: in-process materializations of the ML or monitoring assets,
and reading their check evaluations and metadata back."""

from __future__ import annotations

import dagster as dg

from medallion.assets.ml import TRACKING
from medallion.build import build_resources
from medallion.settings import Settings


def materialize(
    settings: Settings, instance: dg.DagsterInstance, assets: list
) -> dg.ExecuteInProcessResult:
    """Materialize `assets` in process with the warehouse and tracking resources."""
    resources = build_resources(settings)
    return dg.materialize(
        assets,
        resources={"warehouse": resources["warehouse"], TRACKING: resources[TRACKING]},
        instance=instance,
        raise_on_error=False,
    )


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], object]:
    """(asset name, check name) -> the check's evaluation, for every check of the run."""
    return {
        (e.asset_key.path[-1], e.check_name): e
        for e in (
            event.asset_check_evaluation_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
    }


def ml_metadata(result: dg.ExecuteInProcessResult, product: str, name: str) -> dict:
    """The metadata values of one ML asset's materialization in the run."""
    materialization = result.asset_materializations_for_node(f"{product}__ml__{name}")[0]
    return {k: v.value for k, v in materialization.metadata.items()}
