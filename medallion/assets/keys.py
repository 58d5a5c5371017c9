"""Asset keys, one place: every asset of a product is <product>/<zone or group>/<name>."""

import dagster as dg

from medallion.monitoring import names
from medallion.spec import ProductSpec


def zone_key(spec: ProductSpec, zone: str, name: str) -> dg.AssetKey:
    """e.g. churn/gold/customer_features"""
    return dg.AssetKey([spec.name, zone, name])


def bronze_key(spec: ProductSpec, source_name: str) -> dg.AssetKey:
    return zone_key(spec, "bronze", source_name)


def silver_key(spec: ProductSpec, entity: str) -> dg.AssetKey:
    return zone_key(spec, "silver", entity)


def gold_key(spec: ProductSpec, table: str) -> dg.AssetKey:
    return zone_key(spec, "gold", table)


def ml_key(spec: ProductSpec, name: str) -> dg.AssetKey:
    """The snapshot, baseline, a variant or the champion."""
    return zone_key(spec, "ml", name)


def monitoring_key(spec: ProductSpec, name: str) -> dg.AssetKey:
    """Drift, performance or the live comparison."""
    return zone_key(spec, names.GROUP, name)
