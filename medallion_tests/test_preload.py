"""Steps fork from a server that imported what the run needs once: zone runs without MLflow,
scikit-learn or (but for ingest runs, which validate) Great Expectations; model runs with
everything. Every preloaded module is safe to fork after (it starts no thread and opens no
file in the data folder)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from medallion.build import build_definitions
from medallion_tests.conftest import home_settings


def _preload(executor) -> list[str]:
    config = executor.config_schema.resolve_config({}).value["config"]
    assert config["tag_concurrency_limits"] == [
        {"key": "medallion/db", "value": "duckdb", "limit": 1}
    ]
    return config["start_method"]["forkserver"]["preload_modules"]


def test_each_run_preloads_what_it_needs(tmp_path):
    defs = build_definitions(settings=home_settings(tmp_path))
    assert _preload(defs.executor) == ["medallion.preload_zones"]
    jobs = {job.name: job for job in defs.jobs}
    assert _preload(jobs["churn_ingest"].executor_def) == ["medallion.preload_ingest"]
    assert _preload(jobs["churn_retrain"].executor_def) == ["medallion.preload"]
    assert _preload(jobs["churn_monitoring"].executor_def) == ["medallion.preload"]


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("medallion.preload_zones", ("mlflow", "sklearn", "great_expectations")),
        ("medallion.preload_ingest", ("mlflow", "sklearn")),
        ("medallion.preload", ()),
    ],
)
def test_preloading_starts_no_thread_touches_no_data_and_imports_only_its_share(
    tmp_path, module, absent
):
    code = (
        f"import sys, threading, {module};"
        f"print(threading.active_count(), [m for m in {absent!r} if m in sys.modules])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDALLION_")}
    env["MEDALLION_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "1 []"
    assert not (tmp_path / "data").exists()
