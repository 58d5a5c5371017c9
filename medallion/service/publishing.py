"""Published gold: immutable, check-passing snapshots that readers open instead of the
writer's DuckDB file.

After a gold materialization whose blocking checks all passed, the table is copied to one
Parquet file inside a new version folder, written under a temporary name and renamed into
place, then `current.json` (the manifest of the version to read) is replaced atomically.
A reader reads `current.json` and then the immutable folder it names, so it sees either the
old or the new version, never a mix, and never waits for (or slows) a pipeline run. The last
`service.keep_published` versions are kept so that a reader holding the previous manifest
still finds its file. On the lake profile a version also records the DuckLake snapshot it was
copied from (`extra["lake_snapshot"]`): the catalog read as of it gives the same rows.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from medallion.checks.outcome import CheckOutcome
from medallion.lake.dialect import on_lake
from medallion.lake.timetravel import SNAPSHOT_KEY, pinned_snapshot
from medallion.ml.snapshot import file_digest
from medallion.spec import ProductSpec
from medallion.zones.column_notes import gold_column_notes
from medallion.zones.sql import literal

CURRENT = "current.json"
MANIFEST = "manifest.json"
DATA_FILE = "data.parquet"
VERSIONS = "versions"
TEMPORAL_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


def published_root(warehouse: str | Path) -> Path:
    """Published snapshots live beside the warehouse file, in `published/`."""
    return Path(warehouse).resolve().parent / "published"


def table_folder(root: Path, product: str, table: str) -> Path:
    return root / product / table


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str | None = None


@dataclass(frozen=True)
class Publication:
    """The manifest of one published version of a gold table."""

    product: str
    table: str
    version_id: str
    data_version: str
    published_at: str
    rows: int
    columns: list[Column]
    grain: list[str]
    key: str
    time_column: str | None
    checks: dict[str, bool]
    run_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def folder(self, root: Path) -> Path:
        return table_folder(root, self.product, self.table) / VERSIONS / self.version_id

    def data_file(self, root: Path) -> Path:
        return self.folder(root) / DATA_FILE

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Publication:
        raw = json.loads(text)
        raw["columns"] = [Column(**column) for column in raw["columns"]]
        return cls(**raw)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _columns(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> list[Column]:
    """The table's columns minus any declared PII column (no_pii already refused those:
    this keeps a served snapshot free of them even if that check changes)."""
    pii = {c for source in spec.sources.values() for c in source.pii_columns}
    described = con.execute(f"DESCRIBE {spec.table('gold', name)}").fetchall()
    notes = gold_column_notes(spec, name)
    return [Column(c, kind, notes.get(c)) for c, kind, *_ in described if c not in pii]


def _copy(con: duckdb.DuckDBPyConnection, statement: str) -> dict[str, object]:
    """Run the COPY; on the lake inside one read transaction, returning the DuckLake snapshot
    it read (medallion.lake.timetravel): the same rows can be read from the catalog as of it."""
    if not on_lake(con):
        con.execute(statement)
        return {}
    with pinned_snapshot(con) as snapshot:
        con.execute(statement)
    return {SNAPSHOT_KEY: snapshot}


def publish(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    root: Path,
    checks: dict[str, bool],
    run_id: str | None = None,
) -> Publication:
    """Copy a gold table to a new immutable version and make it current (atomically)."""
    from medallion.zones.sql import quote

    columns = _columns(con, spec, name)
    folder = table_folder(root, spec.name, name)
    (folder / VERSIONS).mkdir(parents=True, exist_ok=True)
    staging = folder / VERSIONS / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        selected = ", ".join(quote(c.name) for c in columns)
        target = staging / DATA_FILE
        extra = _copy(
            con,
            f"COPY (SELECT {selected} FROM {spec.table('gold', name)}) TO {literal(str(target))} "
            "(FORMAT parquet, COMPRESSION zstd)",
        )
        rows = con.execute(f"SELECT count(*) FROM read_parquet({literal(str(target))})").fetchone()
        digest = file_digest(target)
        now = datetime.now(UTC)
        gold = spec.gold[name]
        temporal = [c.name for c in columns if c.name in gold.grain and c.type in TEMPORAL_TYPES]
        publication = Publication(
            product=spec.name,
            table=name,
            version_id=f"{now:%Y%m%dT%H%M%S%fZ}-{digest[:8]}",
            data_version=digest,
            published_at=now.isoformat(),
            rows=int(rows[0]),
            columns=columns,
            grain=list(gold.grain),
            key=gold.key or gold.grain[0],
            time_column=temporal[0] if temporal else None,
            checks=checks,
            run_id=run_id,
            extra=extra,
        )
        _write_atomic(staging / MANIFEST, publication.to_json())
        os.rename(staging, publication.folder(root))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _write_atomic(folder / CURRENT, publication.to_json())
    prune(folder, spec.service.keep_published)
    return publication


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` versions (never the current one)."""
    current = read_current(folder)
    versions = sorted(p for p in (folder / VERSIONS).iterdir() if not p.name.startswith("."))
    removable = [p for p in versions[:-keep] if current is None or p.name != current.version_id]
    for path in removable:
        shutil.rmtree(path, ignore_errors=True)
    return removable


def read_current(folder: Path) -> Publication | None:
    """The manifest of the version readers should open, or None before the first one."""
    try:
        return Publication.from_json((folder / CURRENT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def publish_checked(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    outcomes: list[CheckOutcome],
    blocking: dict[str, tuple[bool, str]],
    warehouse: str | Path,
    run_id: str | None = None,
) -> Publication | None:
    """Publish a gold table only when every blocking check passed; None otherwise."""
    if not all(o.passed for o in outcomes if blocking.get(o.name, (True,))[0]):
        return None
    checks = {o.name: o.passed for o in outcomes}
    return publish(con, spec, name, published_root(warehouse), checks, run_id)
