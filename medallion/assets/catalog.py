"""How a product's assets are found in the Dagster UI: one group per product and zone, named
like the zone's DuckDB schema (`churn_silver`), tags `medallion/product` and `medallion/zone`
(filters of the lineage and the catalog: `tag:medallion/product=churn`), owners from the
spec's `owner`, and the kinds a zone adds (its Great Expectations suites).

Applied once to every asset of a product by the factory (`medallion.build`), so the asset
factories say what an asset does and this module says where the UI shows it. Asset checks
have no tags in Dagster 1.x: they are found under their asset, and a selection of a
product's assets includes their checks.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from medallion.assets.constants import PRODUCT_TAG, ZONE_TAG
from medallion.spec import ProductSpec

ZONE_KINDS = {"silver": {"greatexpectations"}, "gold": {"greatexpectations"}}
"""Kinds every asset of a zone has beside its own: silver and gold contracts run a Great
Expectations suite."""


def zone_of(key: dg.AssetKey) -> str:
    """The zone (or ML, monitoring, service group) of `<product>/<zone>/<name>`."""
    return key.path[1]


def group_name(spec: ProductSpec, zone: str) -> str:
    """e.g. churn_silver: the product's zone, named like its DuckDB schema."""
    return f"{spec.name}_{zone}"


def dagster_owners(owner: str | None) -> list[str]:
    """The spec's owner as Dagster wants it: an email as is, a team as `team:<name>`."""
    if not owner:
        return []
    if "@" in owner or owner.startswith("team:"):
        return [owner]
    return [f"team:{owner}"]


def _label(spec: ProductSpec, asset: dg.AssetSpec) -> dg.AssetSpec:
    zone = zone_of(asset.key)
    return asset.replace_attributes(
        group_name=group_name(spec, zone), owners=dagster_owners(spec.owner)
    ).merge_attributes(
        tags={PRODUCT_TAG: spec.name, ZONE_TAG: zone}, kinds=ZONE_KINDS.get(zone, set())
    )


def in_catalog(
    spec: ProductSpec, definitions: Iterable[dg.AssetsDefinition]
) -> list[dg.AssetsDefinition]:
    """A product's assets grouped, tagged and owned for the UI; checks defined apart from
    their asset pass through as they are."""
    return [
        definition
        if isinstance(definition, dg.AssetChecksDefinition)
        else definition.map_asset_specs(lambda asset: _label(spec, asset))
        for definition in definitions
    ]
