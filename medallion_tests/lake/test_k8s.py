"""The Kubernetes deployment files load without a cluster: the instance of deploy/k8s on a real
PostgreSQL with dagster-k8s's K8sRunLauncher built from the shipped config (pointed at a
kubeconfig of a cluster that does not exist: building it reads the file, contacts nothing),
and the Definitions of deploy/k8s with the k8s_job_executor validating its config."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import dagster as dg
import yaml
from dagster._config import validate_config
from dagster_k8s import K8sRunLauncher

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
    "users": [{"name": "none", "user": {"token": "unused"}}],
    "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
    "current-context": "none",
}


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("k8s_definitions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_run_launcher_config_is_valid():
    shipped = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["run_launcher"]
    assert (shipped["module"], shipped["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = validate_config(K8sRunLauncher.config_type(), shipped["config"])
    assert result.success, result.errors


def test_the_k8s_instance_loads_on_postgres(pg_server, monkeypatch, tmp_path):
    database = pg_server.create_database(f"dagster_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv(
        "MEDALLION_DAGSTER_PG_URL", pg_server.url(database, driver="postgresql+psycopg2")
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    instance_yaml = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    # outside a cluster: the same launcher, reading the kubeconfig instead of the pod's account
    instance_yaml["run_launcher"]["config"] |= {
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig),
    }
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, K8sRunLauncher)
        assert launcher.job_namespace == "medallion"
        assert launcher.instance_config_map == "medallion-dagster-instance"
        assert launcher.env_secrets == ["medallion-env"]
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_definitions_load_with_the_k8s_job_executor(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDALLION_HOME", str(tmp_path))
    monkeypatch.setenv("MEDALLION_PROFILE", "lake")
    monkeypatch.setenv("MEDALLION_PG_URL", "postgresql://postgres@127.0.0.1:5999/postgres")
    defs = load_module(DEPLOY / "definitions.py").defs
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == "k8s_lake"
    # the configured executor config maps onto k8s_job_executor's schema: invalid keys fail here
    config = dg.validate_run_config(job, {})["execution"]["k8s_lake"]
    assert config["job_namespace"] == "medallion"
    assert config["env_secrets"] == ["medallion-env"]
