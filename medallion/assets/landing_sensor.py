"""The landing sensor: ingest each newly landed file content.

One run per file content (the run key holds the SHA-256), selecting the file's bronze and
silver assets and the gold products reading them. It hashes only files that arrived since its
cursor, minus a minute for files renamed in while it was listing (the cursor remembers what it
requested in that minute). On in every new instance: its first tick (no cursor) passes over
the file contents bronze already holds (`medallion demo`, a job launched by hand) and requests
the rest.
"""

import json
from collections.abc import Collection
from pathlib import Path

import dagster as dg
import duckdb

from medallion.assets.jobs import ingest_job_name, ingest_keys
from medallion.lake.catalog import is_lake_target
from medallion.resources.landing import LandingResource
from medallion.resources.warehouse import WarehouseResource, connect, is_lock_error
from medallion.spec import ProductSpec
from medallion.zones.arrivals import arrival_partition, ingest_run_key, landed_since, seen_by_bronze

ARRIVAL_LAG_NS = 60 * 1_000_000_000
"""Files that arrived up to a minute before the cursor are looked at again (and skipped by
their run key when already requested)."""

LEDGER_WAIT_S = 10.0
"""How long a first tick waits for a writer holding the warehouse before trying next tick."""


def landing_requests(
    landing: Path,
    spec: ProductSpec,
    cursor: str | None,
    ingested: Collection[tuple[str, str]] = (),
) -> tuple[list[dg.RunRequest], str]:
    """Run requests for file contents not requested before, and the next cursor.

    The cursor holds the latest arrival time seen and the run keys of the files that arrived
    in the minute before it, which are looked at again and must not be requested twice.
    `ingested` (source, SHA-256) pairs are passed over (what bronze holds, on a first tick).
    """
    state = json.loads(cursor) if cursor else {}
    last = int(state.get("arrived_ns", 0))
    seen = set(state.get("recent", []))
    landed = landed_since(landing, spec, max(last - ARRIVAL_LAG_NS, 0) if last else 0)
    seen |= {ingest_run_key(spec, f) for f in landed if (f.source, f.sha256) in ingested}
    requests = [
        dg.RunRequest(
            run_key=ingest_run_key(spec, file),
            asset_selection=ingest_keys(spec, file.source),
            partition_key=arrival_partition(spec, file),
            tags={
                "medallion/product": spec.name,
                "medallion/source": file.source,
                "medallion/file": file.path.name,
                "medallion/sha256": file.sha256,
            },
        )
        for file in landed
        if ingest_run_key(spec, file) not in seen
    ]
    unique = list({request.run_key: request for request in requests}.values())
    newest = max([last, *(f.arrived_ns for f in landed)])
    recent = sorted(
        {ingest_run_key(spec, f) for f in landed if f.arrived_ns >= newest - ARRIVAL_LAG_NS}
    )
    return unique, json.dumps({"arrived_ns": newest, "recent": recent})


def build_landing_sensor(spec: ProductSpec) -> dg.SensorDefinition:
    """Requests `<product>_ingest` for each new landing file content."""

    @dg.sensor(
        name=f"{spec.name}_landing",
        job_name=ingest_job_name(spec),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description=(
            f"Watches landing/{spec.name}/<source>/ of its sources and requests "
            f"{ingest_job_name(spec)} once per new file content (run key: its SHA-256), for "
            "the file's bronze and silver assets and the gold products reading them. "
            "Its first tick passes over the file contents bronze already holds."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext, landing: LandingResource, warehouse: WarehouseResource
    ):
        ingested: set[tuple[str, str]] = set()
        if context.cursor is None:
            try:
                ingested = ingested_contents(warehouse, spec)
            except duckdb.Error as error:
                if not is_lock_error(error):
                    raise
                return dg.SensorResult(skip_reason=f"warehouse busy, trying again: {error}")
        requests, cursor = landing_requests(landing.path(), spec, context.cursor, ingested)
        if not requests:
            return dg.SensorResult(skip_reason="no new landing file", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor


def ingested_contents(warehouse: WarehouseResource, spec: ProductSpec) -> set[tuple[str, str]]:
    """What bronze already holds of the product's landing files, read without writing; none
    while the warehouse does not exist yet."""
    database = warehouse.database
    if not is_lake_target(database) and not Path(database).exists():
        return set()
    con = connect(
        database,
        read_only=True,
        config=dict(warehouse.connection_config),
        lock_timeout_s=LEDGER_WAIT_S,
    )
    try:
        return seen_by_bronze(con, spec)
    finally:
        con.close()
