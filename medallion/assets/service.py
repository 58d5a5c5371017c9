"""Dagster asset of a product's service: its responsiveness measured against the spec's
budgets, so the UI shows whether the service meets them (check `service_budget`).

Materializing it starts `medallion serve` for the product on a free loopback port, runs the
bounded load generator (key lookups at each concurrency, scoring at one client), stops the
service and reports. No job selects it: it runs when asked (UI, `medallion bench-service`).
"""

from __future__ import annotations

import os
import sys

import dagster as dg

from medallion.assets.checks import to_result
from medallion.assets.keys import gold_key, zone_key
from medallion.resources.tracking import TrackingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.service.budget import (
    SERVICE_BUDGET,
    budget_outcome,
    measure,
    sample_keys,
    served_table,
)
from medallion.service.publishing import published_root
from medallion.spec import ProductSpec

GROUP = "service"


def service_assets(spec: ProductSpec) -> list[dg.AssetsDefinition]:
    table = served_table(spec)
    return [build_responsiveness_asset(spec, table)] if table else []


def service_env(spec: ProductSpec, warehouse: str, tracking_uri: str) -> dict[str, str]:
    """The environment of a `medallion serve` that reads what this pipeline publishes."""
    assert spec.path is not None
    return dict(os.environ) | {
        "MEDALLION_WAREHOUSE": str(warehouse),
        "MEDALLION_PRODUCTS": str(spec.path.parent.parent),
        "MEDALLION_TRACKING_URI": tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def build_responsiveness_asset(spec: ProductSpec, table: str) -> dg.AssetsDefinition:
    key = zone_key(spec, GROUP, "responsiveness")

    @dg.asset(
        key=key,
        deps=[gold_key(spec, table)],
        group_name=GROUP,
        kinds={"fastapi"},
        tags={"medallion/product": spec.name},
        description=(
            f"p95 of key lookups on {table} and of scoring calls of {spec.name}'s service, "
            "measured by a bounded load generator against 127.0.0.1 (budgets: service.*)."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                SERVICE_BUDGET,
                asset=key,
                blocking=False,
                description="Key lookup and scoring p95 within the spec's budgets, no failure.",
            )
        ],
    )
    def _responsiveness(
        warehouse: WarehouseResource, tracking: TrackingResource
    ) -> dg.MaterializeResult:
        from medallion.service.runner import running_service

        keys = sample_keys(spec, table, published_root(warehouse.anchor))
        results = []
        if keys:
            env = service_env(spec, warehouse.anchor, tracking.tracking_uri)
            with running_service([spec.name], env) as (url, health):
                scoring = bool(health["champions"].get(spec.name))
                results = measure(spec, url, keys, scoring)
        outcome = budget_outcome(spec, results)
        return dg.MaterializeResult(
            metadata={
                f"{r.name}_c{r.concurrency}_p95_ms": dg.MetadataValue.float(r.p95_ms)
                for r in results
            }
            | {"python": dg.MetadataValue.text(sys.version.split()[0])},
            check_results=[to_result(outcome, key)],
        )

    return _responsiveness
