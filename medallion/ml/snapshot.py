"""Immutable Parquet snapshots of a gold feature table, named by their content hash.

Variants train from a file, not from the warehouse: they run in parallel processes without
contending for the DuckDB lock, and the hash (the data version) recorded with every MLflow
run names exactly the rows a model learned from, so re-training from it is reproducible.
Only the model's columns are exported (key, time, features, sensitive attributes, target),
so nothing else of the gold table, and no PII, reaches the ML zone.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from medallion.spec import ProductSpec
from medallion.zones.landing import file_sha256
from medallion.zones.sql import quote

VERSION_CHARS = 16
"""Hex characters of the SHA-256 kept as the data version (64 bits)."""


@dataclass(frozen=True)
class Snapshot:
    """One exported snapshot file and its data version."""

    path: Path
    data_version: str
    rows: int
    created: bool
    """False when a snapshot with the same content already existed."""


def snapshot_columns(spec: ProductSpec) -> list[str]:
    """The columns a snapshot holds, in a fixed order: key, time, features, sensitive, target."""
    model = spec.model
    if model is None:
        raise ValueError(f"product {spec.name!r} declares no model")
    return list(
        dict.fromkeys(
            [model.entity_key, model.time_column, *model.features, *model.sensitive, model.target]
        )
    )


def snapshot_path(root: Path, spec: ProductSpec, data_version: str) -> Path:
    """Where the snapshot of one data version lives."""
    assert spec.model is not None
    return Path(root) / spec.name / f"{spec.model.table}-{data_version}.parquet"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, shortened to the data version."""
    return file_sha256(Path(path))[:VERSION_CHARS]


def labelled_days(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> int:
    """Distinct days of the gold feature table that have a label."""
    assert spec.model is not None
    model = spec.model
    return int(
        con.execute(
            f"SELECT count(DISTINCT CAST({quote(model.time_column)} AS DATE)) "
            f"FROM {spec.table('gold', model.table)} WHERE {quote(model.target)} IS NOT NULL"
        ).fetchone()[0]
    )


def last_days(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> tuple[date | None, date | None]:
    """The gold feature table's last day and its last labelled day (None when there is none):
    the days between them are the label horizon, labels not known yet."""
    assert spec.model is not None
    model = spec.model
    day = f"CAST({quote(model.time_column)} AS DATE)"
    latest, labelled = con.execute(
        f"SELECT max({day}), max({day}) FILTER (WHERE {quote(model.target)} IS NOT NULL) "
        f"FROM {spec.table('gold', model.table)}"
    ).fetchone()
    return latest, labelled


def days_needed(spec: ProductSpec) -> int:
    """Labelled days a split needs: the holdout, the gap and at least one day to train on."""
    assert spec.model is not None
    return spec.model.holdout_days + spec.model.gap_days + 1


def export_snapshot(con: duckdb.DuckDBPyConnection, spec: ProductSpec, root: Path) -> Snapshot:
    """Export the model's columns of the gold feature table to a content-addressed Parquet file.

    Rows are written in a total order (every column), so the same table content gives the
    same bytes and the same data version; an existing snapshot of that version is kept as is.
    The file is written aside and renamed into place, so a reader never sees half a file.

    Args:
        con: a (read-only) connection to the warehouse.
        spec: the product; its `model` names the table and columns.
        root: folder of all snapshots; this product's go to `root/<product>/`.

    Returns:
        The snapshot, with `created` False when it already existed.
    """
    assert spec.model is not None
    table = spec.table("gold", spec.model.table)
    columns = snapshot_columns(spec)
    present = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [spec.schema("gold"), spec.model.table],
        ).fetchall()
    }
    if not present:
        raise ValueError(f"{spec.path}: model.table: {table} does not exist; materialize it first")
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(
            f"{spec.path}: model: column(s) {missing} are not in {table} (it has {sorted(present)})"
        )
    folder = Path(root) / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{spec.model.table}-{uuid.uuid4().hex}.parquet.tmp"
    select = ", ".join(quote(c) for c in columns)
    try:
        con.execute(
            f"COPY (SELECT {select} FROM {table} ORDER BY ALL) TO '{scratch}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{scratch}')").fetchone()[0]
        version = file_digest(scratch)
        target = snapshot_path(root, spec, version)
        created = not target.exists()
        if created:
            os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return Snapshot(path=target, data_version=version, rows=int(rows), created=created)
