"""The churn pipeline in a process of its own: what the crash-safety and concurrency tests
start, kill and run side by side; and how far a run has come, read from its Dagster
instance as the UI reads it.

Each pipeline process forks from one server per test process that imported the zones and
Great Expectations once, as the steps of a medallion run fork from their run's server
(medallion.assets.executors). Started fresh, each process would spend about 4 s of CPU on
imports before its first step; the runs themselves, their DuckDB file and Dagster instance,
are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import dagster as dg

from medallion.assets.executors import CHECKS_PRELOAD

PRELOAD = [CHECKS_PRELOAD, "medallion.demo"]
"""What a zone run imports: the zones, Great Expectations, the in-process materialization."""

_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload(PRELOAD)


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


def _materialize_churn(env: dict[str, str], cwd: str) -> None:
    """The body of a pipeline process: a process group of its own (so a test can kill it
    whole), the given environment and folder, its output in `pipeline-<pid>.log` there;
    every churn zone materialized in process, as `dagster dev` runs them, in the instance
    DAGSTER_HOME names."""
    os.setsid()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    log = os.open(f"pipeline-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)

    from medallion.demo import materialize_all
    from medallion.settings import Settings
    from medallion.spec import load_specs

    settings = Settings.from_env()
    with dg.DagsterInstance.get() as instance:
        specs = [s for s in load_specs(settings.product_files()) if s.name == "churn"]
        result = materialize_all(specs, settings, instance)
    raise SystemExit(0 if result.success else 1)


class PipelineProcess:
    """A running pipeline, with the part of subprocess.Popen's interface the tests use:
    `pid` (also its process group), `poll()` and `wait()` (exit code; -N when killed by
    signal N)."""

    def __init__(self, home: Path, landing: Path) -> None:
        self._process = _FORKSERVER.Process(
            target=_materialize_churn, args=(pipeline_env(home, landing), str(home))
        )
        self._process.start()
        self.pid = self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise TimeoutError(f"pipeline process {self.pid} still runs after {timeout} s")
        return self._process.exitcode


def start_pipeline(home: Path, landing: Path) -> PipelineProcess:
    """Materialize every churn zone in a new process (and process group)."""
    return PipelineProcess(home, landing)


def pipeline_logs(home: Path) -> str:
    """The end of each pipeline process's output under `home`, for a failure message."""
    return "\n".join(
        f"{p.name}: {p.read_text()[-3000:]}" for p in sorted(home.glob("pipeline-*.log"))
    )


def step_starts(instance: dg.DagsterInstance, run_id: str) -> list[float]:
    """When each step of a run started (epoch seconds), in the order they started."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START)
    return [record.timestamp for record in records.records]
