"""Steps fork from a server that imported what the run's steps need once: bronze-only runs
without MLflow, scikit-learn or Great Expectations, runs with silver or gold (which validate)
with Great Expectations, runs with model or monitoring steps with everything. Every preloaded module is safe to fork after (it starts no thread and opens no
file in the data folder)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from medallion.assets.executors import (
    CHECKS_PRELOAD,
    ML_PRELOAD,
    ZONES_PRELOAD,
    PreloadingExecutor,
    preload_for,
    step_executor,
)
from medallion.build import build_definitions
from medallion_tests.conftest import home_settings


def test_each_run_preloads_what_its_steps_need():
    assert preload_for(["churn__bronze__customers", "churn__bronze__payments"]) == ZONES_PRELOAD
    for step in ("churn__silver__payments", "churn__silver__payments_referential_integrity"):
        assert preload_for(["churn__bronze__payments", step]) == CHECKS_PRELOAD
    assert preload_for(["shop__gold__revenue_by_country"]) == CHECKS_PRELOAD
    for step in ("churn__ml__random_forest", "churn__monitoring__evaluate", "x__service__y"):
        assert preload_for(["churn__bronze__payments", step]) == ML_PRELOAD
    assert preload_for(["an_op_of_another_shape"]) == ML_PRELOAD
    assert preload_for([]) == ZONES_PRELOAD


def test_ad_hoc_runs_and_jobs_share_the_preloading_executor(tmp_path, monkeypatch):
    defs = build_definitions(settings=home_settings(tmp_path))
    executors = [defs.executor, *(job.executor_def for job in defs.jobs)]
    assert {executor.name for executor in executors} == {"multiprocess_preloading"}
    made = defs.executor.executor_creation_fn(None)
    assert isinstance(made, PreloadingExecutor)
    assert made.tag_concurrency_limits == [{"key": "medallion/db", "value": "duckdb", "limit": 1}]
    monkeypatch.setenv("MEDALLION_PROFILE", "lake")  # DuckLake: writers side by side
    assert step_executor().executor_creation_fn(None).tag_concurrency_limits == []


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
