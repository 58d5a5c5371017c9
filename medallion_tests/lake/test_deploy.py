"""The many-machine deployment files load: the Celery Definitions over the lake profile, and
the deployment's Dagster instance (and the demo's lake instance) on a real PostgreSQL."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import dagster as dg
import pytest

from medallion.lake.instance import write_instance_yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "celery"


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("deploy_definitions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_celery_definitions_load_on_the_lake_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDALLION_HOME", str(tmp_path))
    monkeypatch.setenv("MEDALLION_PROFILE", "lake")
    monkeypatch.setenv("MEDALLION_PG_URL", "postgresql://postgres@127.0.0.1:5999/postgres")
    defs = load_module(DEPLOY / "definitions.py").defs
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == "celery_lake"
    warehouse = defs.resources["warehouse"]
    assert warehouse.database.startswith("ducklake:postgres:dbname=medallion_lake")


def test_the_catalog_password_stays_out_of_the_resource_config(monkeypatch, tmp_path):
    """What the UI shows of the resources (the repository snapshot) names the variable."""
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    from medallion.build import build_definitions

    monkeypatch.setenv("MEDALLION_HOME", str(tmp_path))
    monkeypatch.setenv("MEDALLION_PROFILE", "lake")
    monkeypatch.setenv(
        "MEDALLION_LAKE_CATALOG",
        "ducklake:postgres:dbname=medallion_lake host=pg.internal user=medallion password=s3cret",
    )
    snapshot = serialize_value(RepositorySnap.from_def(build_definitions().get_repository_def()))
    assert "s3cret" not in snapshot
    assert "MEDALLION_LAKE_CATALOG" in snapshot


@pytest.mark.parametrize("instance_home", ["deploy", "demo"])
def test_instances_load_on_postgres(pg_server, monkeypatch, tmp_path, instance_home):
    database = pg_server.create_database(f"dagster_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv(
        "MEDALLION_DAGSTER_PG_URL", pg_server.url(database, driver="postgresql+psycopg2")
    )
    home = DEPLOY if instance_home == "deploy" else tmp_path / "dagster"
    if instance_home == "demo":
        write_instance_yaml(home, tmp_path / "data")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.get_runs() == []


def test_the_worker_config_reads_broker_and_backend_from_the_environment(monkeypatch):
    from dagster_celery.cli import get_validated_config

    broker = "sqla+postgresql+psycopg2://medallion@pg.internal:5432/medallion_celery"
    monkeypatch.setenv("MEDALLION_CELERY_BROKER", broker)
    monkeypatch.setenv("MEDALLION_CELERY_BACKEND", "db+" + broker.removeprefix("sqla+"))
    config = get_validated_config(str(DEPLOY / "worker.yaml"))
    assert config["broker"] == broker
    assert (
        config["backend"] == "db+postgresql+psycopg2://medallion@pg.internal:5432/medallion_celery"
    )
