"""The step executors of medallion's runs: steps fork from a server that imported what the
run needs once, and the DuckDB writers run one at a time (local profile) or side by side
(lake profile: DuckLake commits are transactional, per-table pools serialize one table).

Zone runs preload the zones only, ingest runs add Great Expectations, model and monitoring
runs everything: a run never pays for imports it does not use.
"""

import os

import dagster as dg

from medallion.assets.constants import DUCKDB_CONCURRENCY

ZONES_PRELOAD = "medallion.preload_zones"
INGEST_PRELOAD = "medallion.preload_ingest"
ML_PRELOAD = "medallion.preload"


def writer_limits(profile: str | None = None) -> list[dict]:
    """One DuckDB writer at a time on a file; none on the lake (profile from
    MEDALLION_PROFILE when not given)."""
    profile = profile or os.environ.get("MEDALLION_PROFILE") or "local"
    return [] if profile == "lake" else DUCKDB_CONCURRENCY


def step_executor(preload: str, profile: str | None = None) -> dg.ExecutorDefinition:
    """The multiprocess executor forking steps from a server that imported `preload`."""
    return dg.multiprocess_executor.configured(
        {
            "max_concurrent": 2,
            "tag_concurrency_limits": writer_limits(profile),
            "start_method": {"forkserver": {"preload_modules": [preload]}},
        },
        name=f"multiprocess_{preload.rsplit('.', 1)[-1]}",
    )
