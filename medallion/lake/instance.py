"""The Dagster instance of the lake profile: runs, event logs and schedules in PostgreSQL
(dagster-postgres), runs queued with a concurrency limit and per-table limits.

The PostgreSQL URL is read from MEDALLION_DAGSTER_PG_URL when the instance loads, with the
`postgresql+psycopg2` driver: with the SQLAlchemy dagster-postgres pulls in, a plain
`postgresql://` URL picks psycopg 3 and fails on Dagster's NOTIFY statements.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

MAX_CONCURRENT_RUNS = 4
"""Runs the queue starts at once (two cores here; raise it on a bigger machine)."""


def instance_config(data: Path) -> dict:
    """dagster.yaml of the lake profile; local files (compute logs, artifacts) under `data`."""
    root = Path(data).resolve() / "dagster-lake"
    return {
        "storage": {"postgres": {"postgres_url": {"env": "MEDALLION_DAGSTER_PG_URL"}}},
        "local_artifact_storage": {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": str(root)},
        },
        "compute_logs": {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(root / "compute_logs")},
        },
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
        },
        # Runs queued, a few at a time; one step per pool at a time across runs: each zone
        # table is its own pool (medallion.assets.constants.table_pool).
        "concurrency": {
            "runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
            "pools": {"default_limit": 1},
        },
        "run_retries": {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False},
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }


def write_instance_yaml(dagster_home: Path, data: Path) -> Path:
    """Write the lake profile's dagster.yaml into `dagster_home` (created if needed)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    path.write_text(
        "# Written by medallion (lake profile): Dagster's storage on PostgreSQL.\n"
        + yaml.safe_dump(instance_config(data), sort_keys=False)
    )
    return path


def pools(defs: dg.Definitions) -> set[str]:
    """The concurrency pools the Definitions' assets name (one per zone table)."""
    found = set()
    for asset in defs.assets or []:
        if isinstance(asset, dg.AssetsDefinition):
            found.update(op.pool for op in asset.node_def.iterate_op_defs() if op.pool)
    return found


def initialize_pools(instance: dg.DagsterInstance, defs: dg.Definitions) -> int:
    """Give every pool its default limit before runs start in parallel; returns the pools.

    Dagster creates a pool's limit when a step first claims it; two runs doing so at once on
    PostgreSQL fail one of them (a unique violation on `concurrency_limits`, dagster 1.13.27).
    """
    names = pools(defs)
    for name in sorted(names):
        instance.event_log_storage.initialize_concurrency_limit_to_default(name)
    return len(names)
