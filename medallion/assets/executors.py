"""The step executors of medallion's runs: steps fork from a server that imported what the
run needs once, and the DuckDB writers run one at a time.

Zone runs preload the zones only, ingest runs add Great Expectations, model and monitoring
runs everything: a run never pays for imports it does not use.
"""

import dagster as dg

from medallion.assets.constants import DUCKDB_CONCURRENCY

ZONES_PRELOAD = "medallion.preload_zones"
INGEST_PRELOAD = "medallion.preload_ingest"
ML_PRELOAD = "medallion.preload"


def step_executor(preload: str) -> dg.ExecutorDefinition:
    """The multiprocess executor forking steps from a server that imported `preload`."""
    return dg.multiprocess_executor.configured(
        {
            "max_concurrent": 2,
            "tag_concurrency_limits": DUCKDB_CONCURRENCY,
            "start_method": {"forkserver": {"preload_modules": [preload]}},
        },
        name=f"multiprocess_{preload.rsplit('.', 1)[-1]}",
    )
