"""Jobs per product, named in one place: what schedules and sensors start.

`<product>_ingest` builds bronze, silver and gold; `<product>_retrain` the ML zone (snapshot,
baseline, variants, champion); `<product>_monitoring` evaluates drift and performance.
"""

import dagster as dg

from medallion.assets.executors import step_executor
from medallion.assets.keys import bronze_key, gold_key, silver_key
from medallion.spec import ZONES, ProductSpec


def ingest_job_name(spec: ProductSpec) -> str:
    return f"{spec.name}_ingest"


def retrain_job_name(spec: ProductSpec) -> str:
    return f"{spec.name}_retrain"


def monitoring_job_name(spec: ProductSpec) -> str:
    return f"{spec.name}_monitoring"


def has_model(spec: ProductSpec) -> bool:
    """True when the product trains models, so it has an ML zone to retrain and monitor."""
    return spec.model is not None and bool(spec.model.variants)


def ingest_keys(spec: ProductSpec, source: str) -> list[dg.AssetKey]:
    """What a new file of `source` changes: its bronze and silver assets and every gold
    product reading them, directly or through other gold products."""
    affected: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, gold in spec.gold.items():
            if gold.retired or name in affected:
                continue
            inputs = spec.gold_inputs(name)
            if ("silver", source) in inputs or any(
                zone == "gold" and table in affected for zone, table in inputs
            ):
                affected.add(name)
                changed = True
    keys = [bronze_key(spec, source), silver_key(spec, source)]
    return keys + [gold_key(spec, name) for name in sorted(affected)]


def product_jobs(spec: ProductSpec) -> list:
    """The product's ingest job, and its retrain and monitoring jobs when it has models."""
    jobs = [
        dg.define_asset_job(
            ingest_job_name(spec),
            selection=dg.AssetSelection.key_prefixes(*[[spec.name, zone] for zone in ZONES]),
            description=f"{spec.name}: landing files to bronze, silver and gold.",
            tags={"medallion/product": spec.name, "medallion/job": "ingest"},
            executor_def=step_executor(),
        )
    ]
    if has_model(spec):
        jobs += [
            dg.define_asset_job(
                retrain_job_name(spec),
                selection=dg.AssetSelection.key_prefixes([spec.name, "ml"]),
                description=f"{spec.name}: snapshot, baseline, every variant, promotion.",
                tags={"medallion/product": spec.name, "medallion/job": "retrain"},
                executor_def=step_executor(),
            ),
            dg.define_asset_job(
                monitoring_job_name(spec),
                selection=dg.AssetSelection.key_prefixes([spec.name, "monitoring"]),
                description=f"{spec.name}: drift and performance of the champion.",
                tags={"medallion/product": spec.name, "medallion/job": "monitoring"},
                executor_def=step_executor(),
            ),
        ]
    return jobs
