"""Leak scan: look for recognisable PII (e.g. the generator's canary values) everywhere data
is allowed to flow after silver: the silver, gold, audit and monitoring tables, the MLflow
store (params, tags, metrics and artifacts), the Dagster instance (event log, compute logs)
and any other log files. Bronze and quarantine hold raw deliveries by design and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from medallion.zones.sql import literal, quote

SCANNED_ZONES = ("silver", "gold", "audit", "monitoring")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Hit:
    """Where a PII value was found."""

    location: str
    detail: str

    def __str__(self) -> str:
        return f"{self.location}: {self.detail}"


def scan_warehouse(
    con: duckdb.DuckDBPyConnection, pattern: str, zones: Iterable[str] = SCANNED_ZONES
) -> list[Hit]:
    """Text columns of every table in schemas ending with one of `zones` that match `pattern`."""
    suffixes = [f"%\\_{zone}" for zone in zones]
    columns = con.execute(
        """SELECT table_schema, table_name, column_name FROM information_schema.columns
           WHERE data_type = 'VARCHAR' AND list_bool_or(list_transform(?, s -> table_schema LIKE s ESCAPE '\\'))
           ORDER BY 1, 2, 3""",
        [suffixes],
    ).fetchall()
    hits = []
    for schema, table, column in columns:
        found = con.execute(
            f"SELECT count(*) FROM {quote(schema)}.{quote(table)} "
            f"WHERE regexp_matches({quote(column)}, {literal(pattern)})"
        ).fetchone()[0]
        if found:
            hits.append(Hit(f"duckdb {schema}.{table}.{column}", f"{found} value(s) match"))
    return hits


def scan_files(root: Path, pattern: str, skip: Iterable[Path] = ()) -> list[Hit]:
    """Every file below `root` (databases, logs, artifacts) whose bytes match `pattern`."""
    regex = re.compile(pattern.encode())
    skipped = [p.resolve() for p in skip]
    hits: list[Hit] = []
    if not root.exists():
        return hits
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        resolved = path.resolve()
        if any(resolved == s or s in resolved.parents for s in skipped):
            continue
        offset = _first_match(path, regex)
        if offset is not None:
            hits.append(Hit(f"file {path}", f"first match at byte {offset}"))
    return hits


def _first_match(path: Path, regex: re.Pattern[bytes], overlap: int = 256) -> int | None:
    """Offset of the first match, reading in chunks that overlap so no match is split."""
    position, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            window = tail + chunk
            found = regex.search(window)
            if found:
                return position - len(tail) + found.start()
            tail = window[-overlap:]
            position += len(chunk)
    return None


def scan_installation(
    warehouse: Path, data: Path, pattern: str, extra_roots: Iterable[Path] = ()
) -> list[Hit]:
    """The whole installation: the warehouse's tables after silver, then every file under
    the data folder (MLflow store, Dagster instance, logs, snapshots, bench output) except
    the landing folder and the warehouse file, which hold raw deliveries by design."""
    hits: list[Hit] = []
    if warehouse.exists():
        from medallion.resources.warehouse import connect

        with connect(warehouse, read_only=True) as con:
            hits += scan_warehouse(con, pattern)
    skip = [data / "landing", warehouse, warehouse.with_name(warehouse.name + ".wal")]
    for root in (data, *extra_roots):
        hits += scan_files(root, pattern, skip=skip)
    return hits
