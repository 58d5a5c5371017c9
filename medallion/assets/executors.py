"""The step executor of medallion's runs: steps fork from a server that imported what the
run's steps need, once, and the DuckDB writers run one at a time (local profile) or side by
side (lake profile: DuckLake commits are transactional, per-table pools serialize one table).

What is preloaded follows the steps a run executes, not the job it belongs to: a run of
bronze only imports the zones, silver and gold (which validate) add Great Expectations,
models and monitoring everything. So a UI "Materialize all" or an automation run imports
Great Expectations once instead of once per silver and gold step, and a bronze-only run
never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import dagster as dg

# The class behind dg.multiprocess_executor; the public definition fixes its preload list
# when the executor is built, before the run's steps are known.
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.multiprocess import MultiprocessExecutor

from medallion.assets.constants import DUCKDB_CONCURRENCY

ZONES_PRELOAD = "medallion.preload_zones"
CHECKS_PRELOAD = "medallion.preload_ingest"
ML_PRELOAD = "medallion.preload"

PRELOADS = (ZONES_PRELOAD, CHECKS_PRELOAD, ML_PRELOAD)
"""Each preload module imports the one before it."""

_ZONE_PRELOADS = {"bronze": ZONES_PRELOAD, "silver": CHECKS_PRELOAD, "gold": CHECKS_PRELOAD}
"""What a step of each zone needs; ml, monitoring and service steps (and any step not named
<product>__<zone>__<name>) need everything."""

MAX_CONCURRENT_STEPS = 2


def writer_limits(profile: str | None = None) -> list[dict]:
    """One DuckDB writer at a time on a file; none on the lake (profile from
    MEDALLION_PROFILE when not given)."""
    profile = profile or os.environ.get("MEDALLION_PROFILE") or "local"
    return [] if profile == "lake" else DUCKDB_CONCURRENCY


def preload_for(step_keys: Iterable[str]) -> str:
    """The smallest preload module covering every step (keys <product>__<zone>__<name>)."""
    needed = {_ZONE_PRELOADS.get(_zone(key), ML_PRELOAD) for key in step_keys}
    return max(needed, key=PRELOADS.index, default=ZONES_PRELOAD)


def _zone(step_key: str) -> str | None:
    parts = step_key.split("__")
    return parts[1] if len(parts) >= 3 else None


class PreloadingExecutor(MultiprocessExecutor):
    """Dagster's multiprocess executor, forking each step from a server that imported
    `preload_for(the run's steps)`."""

    def __init__(self, tag_concurrency_limits: list[dict]) -> None:
        super().__init__(
            retries=RetryMode.ENABLED,
            max_concurrent=MAX_CONCURRENT_STEPS,
            tag_concurrency_limits=tag_concurrency_limits,
            start_method="forkserver",
        )
        self.tag_concurrency_limits = tag_concurrency_limits

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        preload = preload_for(execution_plan.step_keys_to_execute)
        steps = MultiprocessExecutor(
            retries=self.retries,
            max_concurrent=MAX_CONCURRENT_STEPS,
            tag_concurrency_limits=self.tag_concurrency_limits,
            start_method="forkserver",
            explicit_forkserver_preload=[preload],
            step_dependency_config=self.step_dependency_config,
        )
        yield from steps.execute(plan_context, execution_plan)


def step_executor(profile: str | None = None) -> dg.ExecutorDefinition:
    """The executor of every medallion run, ad hoc or from a job."""
    limits = writer_limits(profile)

    @dg.executor(
        name="multiprocess_preloading",
        requirements=dg.multiple_process_executor_requirements(),
    )
    def _preloading(_init_context) -> PreloadingExecutor:
        return PreloadingExecutor(limits)

    return _preloading
