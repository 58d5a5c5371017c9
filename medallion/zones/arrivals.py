"""Files that arrived in landing: when, with which content, for which daily partition.

Pure helpers of the landing sensor (medallion.assets.landing_sensor): a file arrived at the
later of its modification and inode change time, which a rename into the folder updates; one
ingestion per file content, keyed by its SHA-256.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from medallion.spec import ProductSpec
from medallion.zones.bronze import discover, file_sha256
from medallion.zones.landing import ACKNOWLEDGED, LEDGER, REFUSED
from medallion.zones.tables import table_exists


@dataclass(frozen=True)
class LandedFile:
    """A landing file, when it arrived, and its content hash."""

    source: str
    path: Path
    arrived_ns: int
    sha256: str


def arrival_ns(path: Path) -> int:
    """When a file arrived: the later of its modification and inode change times (a rename
    into the folder updates the latter, a copy the former)."""
    stat = path.stat()
    return max(stat.st_mtime_ns, stat.st_ctime_ns)


def landed_since(landing: Path, spec: ProductSpec, since_ns: int) -> list[LandedFile]:
    """Files of the product's sources that arrived at or after `since_ns`, oldest first."""
    found = []
    for source_name, source in spec.sources.items():
        files, _ = discover(spec.landing(landing), source_name, source)
        for path in files:
            try:
                arrived = arrival_ns(path)
            except FileNotFoundError:
                continue
            if arrived >= since_ns:
                found.append(LandedFile(source_name, path, arrived, file_sha256(path)))
    return sorted(found, key=lambda f: (f.arrived_ns, f.source, f.path.name))


def arrival_partition(spec: ProductSpec, landed: LandedFile) -> str | None:
    """The daily partition an ingest run of a product with incremental gold targets: the day
    the file arrived (UTC), so the UI shows each day's delivery on that day. The run still
    recomputes every older day the new data reaches; None for products without partitions."""
    if spec.partitions_start is None:
        return None
    day = datetime.fromtimestamp(landed.arrived_ns / 1e9, UTC).date()
    return max(day, spec.partitions_start).isoformat()


def ingest_run_key(spec: ProductSpec, landed: LandedFile) -> str:
    """One ingestion per file content (and source): the same bytes delivered again, under
    any name, request nothing new."""
    return f"{spec.name}-{landed.source}-{landed.sha256}"


def seen_by_bronze(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> set[tuple[str, str]]:
    """(source, SHA-256) of every file content bronze has ingested, refused or had
    acknowledged: what a landing sensor starting without a cursor need not request again."""
    schema = spec.schema("bronze")
    tables = [f"{schema}.{t}" for t in (LEDGER, REFUSED, ACKNOWLEDGED)]
    union = " UNION ".join(
        f"SELECT source, sha256 FROM {t}" for t in tables if table_exists(con, t)
    )
    return {(source, sha) for source, sha in con.execute(union).fetchall()} if union else set()
