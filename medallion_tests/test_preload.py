"""Steps fork from a server that imported the heavy libraries once per run: the executor is
configured for it, and the preloaded module is safe to fork after (it starts no thread and
opens no file in the data folder)."""

from __future__ import annotations

import os
import subprocess
import sys

from medallion.build import build_definitions
from medallion_tests.conftest import home_settings


def test_the_executor_forks_steps_from_a_preloaded_server(tmp_path):
    executor = build_definitions(settings=home_settings(tmp_path)).executor
    config = executor.config_schema.resolve_config({}).value["config"]
    assert config["start_method"] == {"forkserver": {"preload_modules": ["medallion.preload"]}}
    assert config["tag_concurrency_limits"] == [
        {"key": "medallion/db", "value": "duckdb", "limit": 1}
    ]


def test_preloading_starts_no_thread_and_touches_no_data(tmp_path):
    code = (
        "import threading, medallion.preload, great_expectations, mlflow, sklearn;"
        "print(threading.active_count())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDALLION_")}
    env["MEDALLION_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "1"
    assert not (tmp_path / "data").exists()
