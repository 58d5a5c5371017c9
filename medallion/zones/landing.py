"""The landing folder seen by bronze: which files are delivered, complete, new, changed,
already ingested, refused or acknowledged.

A file is taken when its writer is done: a `<file>.done` marker beside it, or its size and
modification time unchanged for the source's `quiet_seconds`. Files already in the ledger are
recognised by path, size and modification time and are not read again; only new or changed
files are hashed. A refused file stays where it is until someone acknowledges it
(`medallion landing ack`), which is recorded with who, when and why.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from medallion.lake.dialect import insert_or_replace, primary_key
from medallion.spec import ProductSpec, SourceSpec
from medallion.zones.sql import transaction

EXTENSIONS = {"csv": (".csv",), "parquet": (".parquet",), "json": (".json", ".jsonl", ".ndjson")}
DONE_SUFFIX = ".done"
LEDGER = "_ingested_files"
REFUSED = "_refused_files"
ACKNOWLEDGED = "_acknowledged_files"
REFUSED_COLUMNS = ("source", "path", "file_name", "sha256", "size_bytes", "reason", "refused_at")
ACKNOWLEDGED_COLUMNS = (
    "source",
    "path",
    "file_name",
    "sha256",
    "size_bytes",
    "reason_refused",
    "acknowledged_by",
    "acknowledged_at",
    "note",
)
FILE_KEY = ("source", "path", "sha256")


@dataclass(frozen=True)
class FileState:
    """A landing file's size and last change (the later of modification and rename)."""

    path: Path
    size_bytes: int
    mtime_ns: int
    changed_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        stat = path.stat()
        return cls(path, stat.st_size, stat.st_mtime_ns, max(stat.st_mtime_ns, stat.st_ctime_ns))


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Content hash of a file, read in chunks so large files do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def discover_all(
    landing_root: Path, source_name: str, source: SourceSpec
) -> tuple[list[Path], list[Path]]:
    """Files delivered for a source in name order, and files of a type it does not take.

    Hidden and temporary files (starting with '.' or '_') are writers' work in progress;
    `<file>.done` markers are the delivery convention, not data.
    """
    folder = landing_root / source_name
    if not folder.is_dir():
        return [], []
    accepted = EXTENSIONS[source.format]
    files: list[Path] = []
    unknown: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")) or path.is_dir():
            continue
        if path.suffix.lower() in accepted:
            files.append(path)
        elif path.suffix.lower() != DONE_SUFFIX:
            unknown.append(path)
    return files, unknown


def unknown_type_message(path: Path, source_name: str, source: SourceSpec) -> str:
    accepted = EXTENSIONS[source.format]
    return (
        f"{path}: unknown file type {path.suffix or '(none)'!r} for source {source_name!r}, "
        f"which is delivered as {source.format} ({', '.join(accepted)})"
    )


def discover(
    landing_root: Path, source_name: str, source: SourceSpec
) -> tuple[list[Path], list[str]]:
    """Files delivered for a source, in name order, and errors for files of a wrong format."""
    files, unknown = discover_all(landing_root, source_name, source)
    return files, [unknown_type_message(path, source_name, source) for path in unknown]


def has_marker(path: Path) -> bool:
    """The writer's completion marker `<file>.done` is there."""
    return path.with_name(path.name + DONE_SUFFIX).exists()


def settled(
    states: list[FileState], quiet_seconds: float, *, sleep=time.sleep
) -> tuple[list[FileState], list[str]]:
    """The files whose writer is done, and a reason for each one still being written.

    A file changed less than `quiet_seconds` ago is looked at again once that period has
    passed (one wait for all of them, never longer than the quiet period): unchanged, it is
    taken; changed, it is in flight and left for a later run.
    """
    now = time.time_ns()
    quiet_ns = int(quiet_seconds * 1e9)
    young = [
        s
        for s in states
        if quiet_ns > 0 and now - s.changed_ns < quiet_ns and not has_marker(s.path)
    ]
    if not young:
        return states, []
    sleep(max(quiet_ns - (now - min(s.changed_ns for s in young)), 0) / 1e9)
    in_flight: list[str] = []
    gone = set()
    for state in young:
        try:
            again = FileState.of(state.path)
        except FileNotFoundError:
            gone.add(state.path)
            continue
        if (again.size_bytes, again.mtime_ns) != (state.size_bytes, state.mtime_ns):
            gone.add(state.path)
            in_flight.append(
                f"{state.path}: still being written (size {state.size_bytes:,} -> "
                f"{again.size_bytes:,} bytes within {quiet_seconds:g} s); taken once unchanged "
                f"for {quiet_seconds:g} s or marked complete by {state.path.name}{DONE_SUFFIX}"
            )
    return [s for s in states if s.path not in gone], in_flight


def ensure_landing_tables(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """The ledger, the refused files and their acknowledgements, created or brought up to date."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {schema}.{LEDGER} (
            source VARCHAR NOT NULL, file_name VARCHAR NOT NULL, path VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, batch_id VARCHAR NOT NULL,
            row_count BIGINT NOT NULL, malformed_rows BIGINT NOT NULL,
            extra_columns VARCHAR[] NOT NULL, missing_columns VARCHAR[] NOT NULL,
            retyped_columns VARCHAR[] NOT NULL, ingested_at TIMESTAMP NOT NULL
            {primary_key(con, "source", "sha256")})"""
    )
    con.execute(f"ALTER TABLE {schema}.{LEDGER} ADD COLUMN IF NOT EXISTS records BIGINT")
    con.execute(f"ALTER TABLE {schema}.{LEDGER} ADD COLUMN IF NOT EXISTS mtime_ns BIGINT")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {schema}.{REFUSED} (
            source VARCHAR NOT NULL, path VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, reason VARCHAR NOT NULL,
            refused_at TIMESTAMP NOT NULL {primary_key(con, *FILE_KEY)})"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {schema}.{ACKNOWLEDGED} (
            source VARCHAR NOT NULL, path VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, reason_refused VARCHAR NOT NULL,
            acknowledged_by VARCHAR NOT NULL, acknowledged_at TIMESTAMP NOT NULL,
            note VARCHAR NOT NULL {primary_key(con, *FILE_KEY)})"""
    )


@dataclass(frozen=True)
class Known:
    """What the ledger and the acknowledgements already know about a source's files."""

    by_state: dict[tuple[str, int, int], tuple[str, str]]
    by_path: dict[str, tuple[str, str]]
    by_sha: dict[str, tuple[str, str]]
    acknowledged: set[tuple[str, str]]


def known_files(con: duckdb.DuckDBPyConnection, schema: str, source_name: str) -> Known:
    """Ledger entries by (path, size, mtime), by path (latest) and by content hash, each to
    (batch id, file name); acknowledged (path, content hash) pairs."""
    rows = con.execute(
        f"""SELECT path, size_bytes, mtime_ns, sha256, batch_id, file_name
            FROM {schema}.{LEDGER} WHERE source = ? ORDER BY ingested_at""",
        [source_name],
    ).fetchall()
    acknowledged = con.execute(
        f"SELECT path, sha256 FROM {schema}.{ACKNOWLEDGED} WHERE source = ?", [source_name]
    ).fetchall()
    return Known(
        by_state={(p, s, m): (sha, b) for p, s, m, sha, b, _ in rows if m is not None},
        by_path={p: (sha, b) for p, _, _, sha, b, _ in rows},
        by_sha={sha: (b, name) for _, _, _, sha, b, name in rows},
        acknowledged={(p, sha) for p, sha in acknowledged},
    )


def record_refusals(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    source_name: str,
    refusals: list[tuple[Path, str, int, str]],
) -> None:
    """Keep each refused file (path, content hash, size, reason) for `medallion landing
    refused`, in one transaction; the latest reason wins."""
    if not refusals:
        return
    stamp = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        for path, sha, size, reason in refusals:
            insert_or_replace(
                con,
                f"{schema}.{REFUSED}",
                FILE_KEY,
                REFUSED_COLUMNS,
                [source_name, str(path), path.name, sha, size, reason, stamp],
            )


@dataclass(frozen=True)
class RefusedFile:
    """A refused file not acknowledged yet."""

    product: str
    source: str
    path: str
    sha256: str
    reason: str
    refused_at: datetime


def refused_files(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> list[RefusedFile]:
    """Refused files of a product that are still delivered as refused and not acknowledged."""
    schema = spec.schema("bronze")
    ensure_landing_tables(con, schema)
    rows = con.execute(
        f"""SELECT r.source, r.path, r.sha256, r.reason, r.refused_at
            FROM {schema}.{REFUSED} AS r
            ANTI JOIN {schema}.{ACKNOWLEDGED} AS a USING (source, path, sha256)
            ANTI JOIN {schema}.{LEDGER} AS l USING (source, sha256)
            ORDER BY r.source, r.path"""
    ).fetchall()
    found = []
    for source, path, sha, reason, refused_at in rows:
        if Path(path).is_file() and file_sha256(Path(path)) == sha:
            found.append(RefusedFile(spec.name, source, path, sha, reason, refused_at))
    return found


def acknowledge(con: duckdb.DuckDBPyConnection, refused: RefusedFile, by: str, note: str) -> None:
    """Record that a person decided about a refused file: the source carries on without it."""
    schema = f"{refused.product}_bronze"
    insert_or_replace(
        con,
        f"{schema}.{ACKNOWLEDGED}",
        FILE_KEY,
        ACKNOWLEDGED_COLUMNS,
        [
            refused.source,
            refused.path,
            Path(refused.path).name,
            refused.sha256,
            os.path.getsize(refused.path),
            refused.reason,
            by,
            datetime.now(UTC).replace(tzinfo=None),
            note,
        ],
    )
