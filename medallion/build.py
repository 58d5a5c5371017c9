"""The factory: data product specs in, one dagster.Definitions out."""

from __future__ import annotations

import dagster as dg

from medallion.assets.automation import build_automation_sensor
from medallion.assets.bronze import build_bronze_asset
from medallion.assets.catalog import in_catalog
from medallion.assets.constants import LANDING, PSEUDONYMIZATION, WAREHOUSE
from medallion.assets.executors import step_executor
from medallion.assets.gold import build_gold_asset, build_version_checks
from medallion.assets.jobs import has_model, product_jobs
from medallion.assets.landing_sensor import build_landing_sensor
from medallion.assets.live import live_assets
from medallion.assets.ml import TRACKING, ml_assets
from medallion.assets.monitoring import monitoring_assets
from medallion.assets.retrain_sensor import build_retrain_sensor
from medallion.assets.schedules import product_schedules
from medallion.assets.service import service_assets
from medallion.assets.silver import build_reference_checks, build_silver_asset
from medallion.resources.landing import LandingResource
from medallion.resources.pseudonymization import PseudonymizationResource
from medallion.resources.tracking import TrackingResource
from medallion.resources.warehouse import WarehouseResource
from medallion.settings import Settings
from medallion.spec import ProductSpec, load_specs


def product_assets(spec: ProductSpec) -> list[dg.AssetsDefinition]:
    """Every zone asset of one product, with the checks that run apart from them."""
    assets = [build_bronze_asset(spec, source) for source in spec.sources]
    assets += [build_silver_asset(spec, source) for source in spec.sources]
    assets += [build_gold_asset(spec, name) for name, gold in spec.gold.items() if not gold.retired]
    assets += build_reference_checks(spec)
    assets += build_version_checks(spec)
    return assets


def cataloged_assets(spec: ProductSpec) -> list[dg.AssetsDefinition]:
    """Every asset and check of one product, grouped, tagged and owned for the UI."""
    return in_catalog(
        spec,
        [
            *product_assets(spec),
            *ml_assets(spec),
            *monitoring_assets(spec),
            *live_assets(spec),  # service: live comparison
            *service_assets(spec),  # service: budgets
        ],
    )


def product_sensors(spec: ProductSpec) -> list[dg.SensorDefinition]:
    """The landing sensor, the automation sensor of its zones, and the retrain sensor when the
    product trains models (medallion.assets.automation says which does what)."""
    sensors = [build_landing_sensor(spec), build_automation_sensor(spec)]
    if has_model(spec):
        sensors.append(build_retrain_sensor(spec))
    return sensors


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources pointing at the settings' paths and stores; nothing read from the environment
    here (a PII key or lake catalog named by `settings.pii_key_env` / `lake_catalog_env` is
    read by Dagster when a run starts: the UI shows the variable's name, not its secret)."""
    if settings.pii_key_env:
        pseudonymization = PseudonymizationResource(key=dg.EnvVar(settings.pii_key_env))
    elif settings.pii_key:
        pseudonymization = PseudonymizationResource(key=settings.pii_key)
    else:
        pseudonymization = PseudonymizationResource(dev_key_file=str(settings.pii_dev_key))
    lake_env = settings.profile == "lake" and settings.lake_catalog_env
    return {
        WAREHOUSE: WarehouseResource(
            database=dg.EnvVar(settings.lake_catalog_env)
            if lake_env
            else settings.warehouse_target,
            files_beside=str(settings.warehouse),
            connection_config=settings.duckdb_config(),
        ),
        LANDING: LandingResource(root=str(settings.landing)),
        PSEUDONYMIZATION: pseudonymization,
        TRACKING: TrackingResource.for_settings(settings),
    }


def build_definitions(
    specs: list[ProductSpec] | None = None,
    settings: Settings | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    """Turn product specs (by default every product.yaml found) into Definitions; a
    deployment may give the executor of ad hoc runs (e.g. Celery, deploy/celery)."""
    settings = settings or Settings.from_env()
    specs = specs if specs is not None else load_specs(settings.product_files())
    assets = [asset for spec in specs for asset in cataloged_assets(spec)]
    executor = executor or step_executor()
    return dg.Definitions(
        assets=assets,
        jobs=[job for spec in specs for job in product_jobs(spec)],
        schedules=[schedule for spec in specs for schedule in product_schedules(spec)],
        sensors=[sensor for spec in specs for sensor in product_sensors(spec)],
        resources=build_resources(settings),
        executor=executor,
    )
