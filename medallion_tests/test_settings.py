"""Settings are the one reader of the environment: an entry point reads it, everything below
receives Settings, so a developer's exported variables never reach a test's stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from medallion.assets.constants import PSEUDONYMIZATION
from medallion.assets.ml import TRACKING
from medallion.build import build_definitions, build_resources
from medallion.settings import PII_KEY_ENV, TRACKING_URI_ENV, Settings
from medallion_tests.conftest import home_settings


def test_an_exported_tracking_uri_does_not_reach_a_tests_mlflow(tmp_path, monkeypatch):
    elsewhere = tmp_path / "developer" / "mlflow.db"
    monkeypatch.setenv(TRACKING_URI_ENV, f"sqlite:///{elsewhere}")
    monkeypatch.setenv(PII_KEY_ENV, "the-developers-own-key-0123456789")
    settings = home_settings(tmp_path / "home")

    tracking = build_resources(settings)[TRACKING]
    assert tracking.tracking_uri == f"sqlite:///{tmp_path}/home/data/mlflow/mlflow.db"
    client = tracking.activate()
    experiment = client.create_experiment("isolated", tracking.artifact_location("isolated"))
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "x", 1.0)

    assert (tmp_path / "home" / "data" / "mlflow" / "mlflow.db").is_file()
    assert not elsewhere.parent.exists()
    assert client.get_run(run.info.run_id).data.metrics == {"x": 1.0}
    defs = build_definitions([], settings)
    assert defs.resources[TRACKING].tracking_uri == tracking.tracking_uri
    pseudonymization = build_resources(settings)[PSEUDONYMIZATION]
    assert pseudonymization.key is None
    assert pseudonymization.dev_key_file == str(settings.pii_dev_key)


def test_an_entry_point_reads_the_tracking_uri_and_names_the_key_variable(tmp_path):
    environ = {
        "MEDALLION_HOME": str(tmp_path),
        TRACKING_URI_ENV: "http://127.0.0.1:5000",
        PII_KEY_ENV: "a-production-key-0123456789abcdef",
    }
    settings = Settings.from_env(environ)
    assert settings.tracking_uri == "http://127.0.0.1:5000"
    assert settings.pii_key_env == PII_KEY_ENV and settings.pii_key is None
    resources = build_resources(settings)
    assert resources[TRACKING].tracking_uri == "http://127.0.0.1:5000"
    assert resources[TRACKING].artifact_root is None
    # Dagster resolves the variable when a run starts; the resource holds only its name
    assert isinstance(resources[PSEUDONYMIZATION].key, dg.EnvVar)
    assert resources[PSEUDONYMIZATION].key.env_var_name == PII_KEY_ENV
    plain = Settings.from_env({"MEDALLION_HOME": str(tmp_path)})
    assert plain.tracking_uri is None and plain.pii_key_env is None


def test_an_explicit_key_is_used_and_never_shown(tmp_path):
    settings = Settings(
        home=tmp_path,
        data=tmp_path / "data",
        warehouse=tmp_path / "data" / "warehouse.duckdb",
        landing=tmp_path / "landing",
        products=(),
        pii_key="an-explicit-key-0123456789abcdef",
        tracking_uri="postgresql+psycopg://user:secret@127.0.0.1/mlflow",
    )
    assert build_resources(settings)[PSEUDONYMIZATION].key_bytes() == settings.pii_key.encode()
    assert "0123456789abcdef" not in repr(settings) and "secret" not in repr(settings)


def test_no_test_starts_with_the_developers_variables():
    """The autouse fixtures of conftest.py cleared them (also for session and module fixtures)."""
    leaked = [
        name
        for name in os.environ
        if name.startswith("MEDALLION_") or name in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI")
    ]
    assert leaked == []


@pytest.mark.slow
def test_a_developers_exported_variables_are_cleared_for_the_suite(tmp_path):
    """pytest started from a shell with MEDALLION_TRACKING_URI and DAGSTER_HOME exported."""
    env = dict(os.environ) | {
        TRACKING_URI_ENV: f"sqlite:///{tmp_path}/developer.db",
        "MEDALLION_HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path),
    }
    node = f"{Path(__file__).name}::test_no_test_starts_with_the_developers_variables"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", node, "-q", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=Path(__file__).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert not (tmp_path / "developer.db").exists()
