"""The churn pipeline in a process of its own, as `dagster dev` or the CLI would run it: what
the crash-safety and concurrency tests start, kill and run side by side; and how far a run
has come, read from its Dagster instance as the UI reads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

SCRIPT = """
import dagster as dg
from medallion.demo import materialize_all
from medallion.settings import Settings
from medallion.spec import load_specs
settings = Settings.from_env()
with dg.DagsterInstance.get() as instance:
    specs = [s for s in load_specs(settings.product_files()) if s.name == "churn"]
    result = materialize_all(specs, settings, instance)
raise SystemExit(0 if result.success else 1)
"""


def pipeline_env(home: Path, landing: Path) -> dict[str, str]:
    """This environment without MEDALLION_* and DAGSTER_* variables, pointed at `home`."""
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_"))}
    env.update(
        MEDALLION_HOME=str(home),
        MEDALLION_LANDING=str(landing),
        MEDALLION_PII_KEY="crash-test-key-0123456789abcdef",
        DAGSTER_HOME=str(home / "dagster"),
    )
    return env


def start_pipeline(home: Path, landing: Path) -> subprocess.Popen:
    """Materialize every churn zone in a new process group (so a test can kill it whole)."""
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        env=pipeline_env(home, landing),
        cwd=home,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def step_starts(instance: dg.DagsterInstance, run_id: str) -> list[float]:
    """When each step of a run started (epoch seconds), in the order they started."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START)
    return [record.timestamp for record in records.records]
