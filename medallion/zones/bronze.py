"""Landing → bronze: each delivered file ingested once, as delivered, with lineage.

Text formats (CSV, JSON) land as VARCHAR so no value is lost to type inference; typing happens
in silver, where a value that does not convert is quarantined, not dropped. A Parquet column
delivered with its declared type lands typed; delivered with another type, its values land as
their exact text in `_retyped_data` (JSON, column → text) so nothing is rounded or shifted in
bronze, and silver converts them under its lossy-cast rules. Every record of a text file is
counted apart from the parser and must equal the rows appended. Each file is appended together
with its ledger row in one transaction, so a file is either wholly ingested and recorded, or not
at all.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from medallion.lake.dialect import claim, ensure_claim
from medallion.spec import ProductSpec, SourceSpec
from medallion.zones import landing as files
from medallion.zones.landing import LEDGER, FileState, discover, file_sha256
from medallion.zones.sql import literal, quote, transaction
from medallion.zones.text_files import (
    PARSE_ERROR_COLUMN,
    RESCUED_COLUMN,
    LandingFileError,
    append_csv,
    json_keys_sql,
    json_lines,
    json_records_sql,
    json_rescue,
    json_value,
)

RETYPED_COLUMN = "_retyped_data"
EXTENSIONS = files.EXTENSIONS
log = logging.getLogger(__name__)

__all__ = [
    "LEDGER",
    "PARSE_ERROR_COLUMN",
    "RESCUED_COLUMN",
    "RETYPED_COLUMN",
    "IngestionReport",
    "LandingFile",
    "LandingFileError",
    "discover",
    "file_sha256",
    "ingest_file",
    "ingest_source",
]


@dataclass(frozen=True)
class LandingFile:
    """A delivered file and its content hash, which identifies it in the ledger."""

    source: str
    path: Path
    sha256: str
    size_bytes: int
    mtime_ns: int | None = None

    @property
    def batch_id(self) -> str:
        """The file name plus a content hash prefix: a corrected re-delivery is a new batch."""
        return f"{self.path.stem}@{self.sha256[:12]}"


@dataclass
class IngestionReport:
    """What one bronze run did, file by file; every list names the files."""

    ingested: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    refusals: list[tuple[Path, str, int, str]] = field(default_factory=list)

    @property
    def rows_added(self) -> int:
        return sum(rows for _, rows in self.ingested)


def bronze_column_type(source: SourceSpec, column: str) -> str:
    """VARCHAR for text formats (typed in silver), the declared type for Parquet."""
    return source.columns[column].type if source.format == "parquet" else "VARCHAR"


def ensure_bronze(con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str) -> str:
    """Create the product's bronze schema, the source table and the ledger if missing."""
    source = spec.sources[source_name]
    schema = spec.schema("bronze")
    table = spec.table("bronze", source_name)
    columns = [f"{quote(c)} {bronze_column_type(source, c)}" for c in source.columns]
    columns += [
        f"{RESCUED_COLUMN} VARCHAR",
        f"{PARSE_ERROR_COLUMN} VARCHAR",
        "_batch_id VARCHAR NOT NULL",
        "_source_file VARCHAR NOT NULL",
        "_ingested_at TIMESTAMP NOT NULL",
        "_row_number BIGINT NOT NULL",
    ]
    files.ensure_landing_tables(con, schema)
    ensure_claim(con, schema, source_name)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})")
    if source.format == "parquet":
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {RETYPED_COLUMN} VARCHAR")
    return table


def csv_header(path: Path) -> list[str]:
    """Column names from a CSV file's first line: the header defines the columns, no sniffing."""
    try:
        with path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LandingFileError(f"{path}: header is not utf-8 encoded; nothing ingested") from None
    names = [name.strip() for name in next(csv.reader([first]), [])]
    if not names or not any(names):
        raise LandingFileError(
            f"{path}: first line is not a header of column names; nothing ingested"
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates or "" in names:
        raise LandingFileError(
            f"{path}: header has {'duplicate' if duplicates else 'empty'} column name(s) "
            f"{duplicates or ['']}; nothing ingested"
        )
    return names


def _delivered_columns(
    con: duckdb.DuckDBPyConnection, fmt: str, path: Path, lines: pa.Table | None
) -> dict[str, str]:
    """Delivered column names and their types (VARCHAR for text, which carries none)."""
    if fmt == "csv":
        return dict.fromkeys(csv_header(path), "VARCHAR")
    if fmt == "json":
        con.register(JSON_VIEW, lines)
        try:
            keys = [row[0] for row in con.execute(json_keys_sql(JSON_VIEW)).fetchall()]
        finally:
            con.unregister(JSON_VIEW)
        return dict.fromkeys(keys, "VARCHAR")
    rows = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))}, file_row_number = true)"
    ).fetchall()
    return {row[0]: row[1] for row in rows if row[0] != "file_row_number"}


JSON_VIEW = "_json_lines"


def _retyped(source: SourceSpec, delivered: dict[str, str]) -> list[str]:
    if source.format != "parquet":
        return []
    return [
        f"{name}: {kind} (declared {source.columns[name].type})"
        for name, kind in delivered.items()
        if name in source.columns and _differs(kind, source.columns[name].type)
    ]


def _differs(delivered: str, declared: str) -> bool:
    return delivered.replace(" ", "") != declared.replace(" ", "")


def _select_list(
    source: SourceSpec, delivered: dict[str, str], extra: list[str], rescue: bool
) -> list[str]:
    """Declared columns as delivered; for Parquet, retyped ones as exact text in _retyped_data."""
    select = []
    retyped = []
    for column in source.columns:
        kind = bronze_column_type(source, column)
        if column in delivered and source.format == "parquet":
            if _differs(delivered[column], kind):
                retyped.append(column)
                select.append(f"CAST(NULL AS {kind}) AS {quote(column)}")
            else:
                select.append(quote(column))
            continue
        value = quote(column) if column in delivered else "NULL"
        select.append(f"CAST({value} AS {kind}) AS {quote(column)}")
    if extra and rescue:
        pairs = ", ".join(f"{literal(c)}, {quote(c)}" for c in extra)
        select.append(f"json_object({pairs})::VARCHAR AS {RESCUED_COLUMN}")
    else:
        select.append(f"CAST(NULL AS VARCHAR) AS {RESCUED_COLUMN}")
    select.append(f"CAST(NULL AS VARCHAR) AS {PARSE_ERROR_COLUMN}")
    if source.format == "parquet":
        pairs = ", ".join(f"{literal(c)}, CAST({quote(c)} AS VARCHAR)" for c in retyped)
        text = f"json_object({pairs})::VARCHAR" if retyped else "CAST(NULL AS VARCHAR)"
        select.append(f"{text} AS {RETYPED_COLUMN}")
    return select


def _semicolon_hint(path: Path, source: SourceSpec, delivered: dict[str, str]) -> str:
    if source.format == "csv" and len(delivered) == 1 and ";" in next(iter(delivered)):
        return " (the header holds ';' but no ','; CSV files must be ','-separated)"
    return ""


def _check_drift(
    path: Path, source: SourceSpec, delivered: dict[str, str], drift: tuple[list, list, list]
) -> None:
    missing, extra, retyped = drift
    required = [c for c in source.required_columns if c in missing]
    if required:
        raise LandingFileError(
            f"{path}: missing required column(s) {required} (rule: required column)"
            f"{_semicolon_hint(path, source, delivered)}; nothing ingested"
        )
    if source.schema_drift == "fail" and (missing or extra or retyped):
        found = "; ".join(
            part
            for part in (
                f"new {extra}" if extra else "",
                f"missing {missing}" if missing else "",
                f"retyped {retyped}" if retyped else "",
            )
            if part
        )
        raise LandingFileError(
            f"{path}: columns differ from the spec ({found}) and the source's schema_drift "
            "policy is 'fail'; nothing ingested"
        )


def _already_ingested(con: duckdb.DuckDBPyConnection, ledger: str, landing: LandingFile) -> bool:
    return bool(
        con.execute(
            f"SELECT count(*) FROM {ledger} WHERE source = ? AND sha256 = ?",
            [landing.source, landing.sha256],
        ).fetchone()[0]
    )


@dataclass(frozen=True)
class _Delivered:
    """What a file delivered against what its source declares."""

    columns: dict[str, str]
    missing: list[str]
    extra: list[str]
    retyped: list[str]
    lines: pa.Table | None = field(default=None, compare=False, repr=False)


def _inspect(
    con: duckdb.DuckDBPyConnection, source: SourceSpec, landing: LandingFile
) -> _Delivered:
    """Read a file's columns and hold them against the spec's required columns and drift
    policy (metadata, header or keys only).

    Raises:
        LandingFileError: empty, unreadable, a required column missing, or drift refused.
    """
    path = landing.path
    if landing.size_bytes == 0:
        raise LandingFileError(f"{path}: empty file (0 bytes); nothing ingested")
    lines = json_lines(path)[0] if source.format == "json" else None
    try:
        delivered = _delivered_columns(con, source.format, path, lines)
    except duckdb.Error as error:
        raise LandingFileError(
            f"{path}: cannot read as {source.format}: {readable(error)}; nothing ingested"
        ) from None
    missing = [c for c in source.columns if c not in delivered]
    extra = [c for c in delivered if c not in source.columns]
    retyped = _retyped(source, delivered)
    _check_drift(path, source, delivered, (missing, extra, retyped))
    return _Delivered(delivered, missing, extra, retyped, lines)


@dataclass(frozen=True)
class _Counts:
    rows: int
    malformed: int
    records: int


def _record(
    con: duckdb.DuckDBPyConnection,
    ledger: str,
    landing: LandingFile,
    delivered: _Delivered,
    counts: _Counts,
    stamp: datetime,
) -> None:
    """The file's ledger row; its key (source, content hash) refuses a second append (on the
    lake, the source's claim makes a racing second append conflict)."""
    claim(con, ledger.rsplit(".", 1)[0], landing.source)
    con.execute(
        f"""INSERT INTO {ledger} (source, file_name, path, sha256, size_bytes, batch_id,
                row_count, malformed_rows, extra_columns, missing_columns, retyped_columns,
                ingested_at, records, mtime_ns)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            landing.source,
            landing.path.name,
            str(landing.path),
            landing.sha256,
            landing.size_bytes,
            landing.batch_id,
            counts.rows,
            counts.malformed,
            delivered.extra,
            delivered.missing,
            delivered.retyped,
            stamp,
            counts.records,
            landing.mtime_ns,
        ],
    )


def _append_csv(con, spec, source_name, landing, delivered, stamp) -> _Counts:
    source = spec.sources[source_name]
    table = spec.table("bronze", source_name)
    select = ", ".join(
        _select_list(source, delivered.columns, delivered.extra, source.schema_drift == "rescue")
    )
    lineage = [landing.batch_id, str(landing.path), stamp]

    def insert_parsed(reader: str) -> int:
        return con.execute(
            f"""INSERT INTO {table} BY NAME
                SELECT {select}, ? AS _batch_id, ? AS _source_file,
                       ? AS _ingested_at, row_number() OVER () AS _row_number
                FROM {reader}""",
            lineage,
        ).fetchone()[0]

    def insert_raw(rejected: pa.Table, parsed: int) -> int:
        con.register("_rejected_records", rejected)
        try:
            return con.execute(
                f"""INSERT INTO {table} BY NAME
                    SELECT {RESCUED_COLUMN}, {PARSE_ERROR_COLUMN}, ? AS _batch_id,
                           ? AS _source_file, ? AS _ingested_at,
                           ? + row_number() OVER () AS _row_number
                    FROM _rejected_records""",
                [*lineage, parsed],
            ).fetchone()[0]
        finally:
            con.unregister("_rejected_records")

    def discard() -> None:
        con.execute(f"DELETE FROM {table} WHERE _batch_id = ?", [landing.batch_id])

    appended = append_csv(
        con,
        landing.path,
        list(delivered.columns),
        source.max_record_lines,
        insert_parsed,
        insert_raw,
        discard,
    )
    return _Counts(appended.parsed + appended.malformed, appended.malformed, appended.records)


def _append_json(con, spec, source_name, landing, delivered, stamp) -> _Counts:
    """Each non-blank line one row: a JSON object's values, or the raw line and why not."""
    source = spec.sources[source_name]
    table = spec.table("bronze", source_name)
    present = [c for c in source.columns if c in delivered.columns]
    values = [
        f"{json_value(present.index(c)) if c in present else 'NULL'} AS {quote(c)}"
        for c in source.columns
    ]
    extra = delivered.extra if source.schema_drift == "rescue" else []
    lines = delivered.lines
    records = lines.num_rows
    con.register(JSON_VIEW, lines)
    try:
        rows = con.execute(
            f"""INSERT INTO {table} BY NAME
                SELECT {", ".join(values)}, {json_rescue(extra)} AS {RESCUED_COLUMN},
                       _problem AS {PARSE_ERROR_COLUMN}, ? AS _batch_id,
                       ? AS _source_file, ? AS _ingested_at, _record AS _row_number
                FROM ({json_records_sql(JSON_VIEW, present)})""",
            [landing.batch_id, str(landing.path), stamp],
        ).fetchone()[0]
        malformed = con.execute(
            f"""SELECT count(*) FROM {table}
                WHERE _batch_id = ? AND {PARSE_ERROR_COLUMN} IS NOT NULL""",
            [landing.batch_id],
        ).fetchone()[0]
    finally:
        con.unregister(JSON_VIEW)
    if rows != records:
        raise LandingFileError(
            f"{landing.path}: the file holds {records:,} non-blank lines but {rows:,} rows were "
            f"appended ({rows - records:+,}); nothing ingested"
        )
    return _Counts(int(rows), int(malformed), records)


def _append(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    landing: LandingFile,
    stamp: datetime,
) -> int:
    """Append one file and its ledger row inside the caller's transaction; returns rows."""
    source = spec.sources[source_name]
    delivered = _inspect(con, source, landing)
    appenders = {"csv": _append_csv, "json": _append_json, "parquet": _append_parquet_file}
    try:
        counts = appenders[source.format](con, spec, source_name, landing, delivered, stamp)
    except duckdb.Error as error:
        raise LandingFileError(
            f"{landing.path}: cannot ingest as {source.format}: {readable(error)}; nothing ingested"
        ) from None
    if counts.rows == 0:
        raise LandingFileError(f"{landing.path}: no data records; nothing ingested")
    _record(con, f"{spec.schema('bronze')}.{LEDGER}", landing, delivered, counts, stamp)
    return counts.rows


def _append_parquet_file(con, spec, source_name, landing, delivered, stamp) -> _Counts:
    appended = _append_parquet_group(con, spec, source_name, [(landing, delivered)], stamp)
    return _Counts(appended, 0, appended)


PARQUET_SCAN_COLUMNS = ("filename", "file_row_number")
"""Columns read_parquet adds for lineage; a source delivering one of them is appended file by
file instead."""


def _parquet_rows(con: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> dict[str, int]:
    """Rows of each Parquet file from its footer, read apart from the data."""
    return dict(
        con.execute(
            "SELECT file_name, sum(num_rows) FROM parquet_file_metadata(?) GROUP BY file_name",
            [[str(landing.path) for landing in files]],
        ).fetchall()
    )


def _append_parquet_group(con, spec, source_name, group, stamp) -> int:
    """One statement appending Parquet files of one delivered schema, each with its lineage."""
    source = spec.sources[source_name]
    delivered = group[0][1]
    select = ", ".join(
        _select_list(source, delivered.columns, delivered.extra, source.schema_drift == "rescue")
    )
    paths = [str(landing.path) for landing, _ in group]
    expected = sum(_parquet_rows(con, [landing for landing, _ in group]).values())
    if expected == 0:
        raise LandingFileError(
            f"{group[0][0].path}: 0 rows in the Parquet file (its columns are there, no data); "
            "nothing ingested"
        )
    inserted = con.execute(
        f"""INSERT INTO {spec.table("bronze", source_name)} BY NAME
            SELECT {select}, lineage._batch_id, lineage._source_file,
                   ? AS _ingested_at, file_row_number + 1 AS _row_number
            FROM read_parquet(?, filename = true, file_row_number = true)
            JOIN (SELECT unnest(?) AS filename, unnest(?) AS _batch_id,
                         unnest(?) AS _source_file) AS lineage USING (filename)""",
        [stamp, paths, paths, [landing.batch_id for landing, _ in group], paths],
    ).fetchone()[0]
    if inserted != expected:
        raise LandingFileError(
            f"{group[0][0].path.parent}: appended {inserted:,} rows of {expected:,} in the "
            "files' metadata; nothing ingested"
        )
    return int(inserted)


def _append_parquet_files(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    landings: list[LandingFile],
    stamp: datetime,
) -> list[tuple[LandingFile, int]]:
    """Append Parquet files with one statement per delivered schema, inside the caller's
    transaction, and a ledger row each.

    One scan of many files runs on every core; a statement per file reads one small file at a
    time. Lineage is the same: each row's file, batch and row number in its file.

    Raises:
        LandingFileError: as `_append`, for the first file that cannot be appended.
    """
    source = spec.sources[source_name]
    ledger = f"{spec.schema('bronze')}.{LEDGER}"
    inspected = [(landing, _inspect(con, source, landing)) for landing in landings]
    counts = _parquet_rows(con, landings)
    for landing, _ in inspected:
        if not counts.get(str(landing.path)):
            raise LandingFileError(
                f"{landing.path}: 0 rows in the Parquet file (its columns are there, no data); "
                "nothing ingested"
            )
    groups: dict[tuple, list[tuple[LandingFile, _Delivered]]] = {}
    for landing, delivered in inspected:
        groups.setdefault(tuple(delivered.columns.items()), []).append((landing, delivered))
    for group in groups.values():
        try:
            _append_parquet_group(con, spec, source_name, group, stamp)
        except duckdb.Error as error:
            raise LandingFileError(
                f"{group[0][0].path.parent}: cannot ingest {len(group)} parquet file(s): "
                f"{readable(error)}"
            ) from None
    for landing, delivered in inspected:
        rows = int(counts[str(landing.path)])
        _record(con, ledger, landing, delivered, _Counts(rows, 0, rows), stamp)
    return [(landing, int(counts[str(landing.path)])) for landing in landings]


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    landing: LandingFile,
    *,
    ingested_at: datetime | None = None,
) -> int | None:
    """Append one file to bronze and the ledger in one transaction.

    Records that do not parse (wrong number of fields, unbalanced quotes, bad bytes, a JSON
    line that is not an object) are kept in bronze with their whole raw text and the reason,
    for silver to quarantine.

    Returns:
        Rows appended, or None when a file with the same content was ingested before.

    Raises:
        LandingFileError: the file is empty, has no records, misses a required column, breaks
            the schema drift policy, cannot be parsed at all, or its records are not all
            accounted for; nothing is written.
    """
    ensure_bronze(con, spec, source_name)
    if _already_ingested(con, f"{spec.schema('bronze')}.{LEDGER}", landing):
        return None
    stamp = ingested_at or datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        # again inside: a writer that appended the file since is seen here, or (on the lake)
        # its concurrent commit conflicts with ours (medallion.lake.dialect.claim)
        if _already_ingested(con, f"{spec.schema('bronze')}.{LEDGER}", landing):
            return None
        return _append(con, spec, source_name, landing, stamp)


def readable(error: BaseException) -> str:
    """DuckDB's message without the SQL it quotes, the caret, or its list of reader options."""
    kept = []
    for line in str(error).strip().splitlines():
        text = line.strip()
        if not text or text.startswith(("LINE ", "^", "*", "Possible fixes")):
            continue
        if "=" in text and text.split("=", 1)[0].strip().replace("_", "").isalpha():
            continue
        kept.append(text.split(" Error: ", 1)[-1])
    message = " ".join(kept[:2]) if kept else type(error).__name__
    if "state machine reached an invalid state" in message:
        message = (
            "the CSV parser cannot follow the file's structure (line breaks that mix \\r\\n "
            "and \\n, or a stray carriage return)"
        )
    if "Footer length error" in message or "No magic bytes" in message:
        message = "not a complete Parquet file (its footer is missing or cut)"
    return message


def _classify(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    states: list[FileState],
    report: IngestionReport,
) -> dict[str, LandingFile]:
    """New or changed files to ingest; files known by path, size and mtime are not hashed."""
    known = files.known_files(con, spec.schema("bronze"), source_name)
    pending: dict[str, LandingFile] = {}
    for state in states:
        path = str(state.path)
        seen = known.by_state.get((path, state.size_bytes, state.mtime_ns))
        if seen is not None:
            report.skipped.append(state.path.name)
            continue
        landing = LandingFile(
            source_name, state.path, file_sha256(state.path), state.size_bytes, state.mtime_ns
        )
        before = known.by_path.get(path)
        if (path, landing.sha256) in known.acknowledged:
            report.acknowledged.append(f"{path}: refused and acknowledged; not ingested")
        elif landing.sha256 in known.by_sha:
            batch, name = known.by_sha[landing.sha256]
            report.skipped.append(state.path.name)
            if name != state.path.name:
                report.duplicates.append(f"{path}: same content as batch {batch} ({name})")
        elif landing.sha256 in pending:
            report.skipped.append(state.path.name)
            other = pending[landing.sha256]
            report.duplicates.append(
                f"{path}: same content as batch {other.batch_id} ({other.path.name})"
            )
        else:
            if before is not None:
                report.changed.append(
                    f"{path}: changed after it was ingested as batch {before[1]}; its new "
                    f"content is batch {landing.batch_id}"
                )
            pending[landing.sha256] = landing
    return pending


def _refuse_unknown(
    source_name: str,
    source: SourceSpec,
    unknown: list[Path],
    acknowledged: set[tuple[str, str]],
    report: IngestionReport,
) -> None:
    for path in unknown:
        sha = file_sha256(path)
        if (str(path), sha) in acknowledged:
            report.acknowledged.append(f"{path}: refused and acknowledged; not ingested")
            continue
        message = files.unknown_type_message(path, source_name, source)
        report.failed.append(message)
        report.refusals.append((path, sha, path.stat().st_size, message))


def _take(con, spec, source_name, pending: dict[str, LandingFile], report: IngestionReport) -> None:
    """Ingest the pending files in one transaction, or one by one when any is refused.

    All new files go in one transaction (committing file by file makes DuckDB write every
    small batch twice, through the WAL), Parquet
    files in one statement per delivered schema. When any file is refused, that transaction is
    rolled back and the files are taken one by one, each in its own transaction, so the bad
    ones are named and the good ones still land.
    """
    stamp = datetime.now(UTC).replace(tzinfo=None)
    source = spec.sources[source_name]
    together = source.format == "parquet" and not set(PARQUET_SCAN_COLUMNS) & set(source.columns)
    ledger = f"{spec.schema('bronze')}.{LEDGER}"
    try:
        with transaction(con):
            # looked up again inside: a writer that appended a file since is seen here, or
            # (on the lake) its concurrent commit conflicts with ours (lake.dialect.claim)
            fresh = [f for f in pending.values() if not _already_ingested(con, ledger, f)]
            if together and fresh:
                appended = _append_parquet_files(con, spec, source_name, fresh, stamp)
            else:
                appended = [
                    (landing, _append(con, spec, source_name, landing, stamp)) for landing in fresh
                ]
    except LandingFileError:
        appended = []
        for landing in pending.values():
            try:
                appended.append(
                    (landing, ingest_file(con, spec, source_name, landing, ingested_at=stamp))
                )
            except LandingFileError as error:
                report.failed.append(str(error))
                report.refusals.append(
                    (landing.path, landing.sha256, landing.size_bytes, str(error))
                )
    for landing, rows in appended:
        report.ingested.append((landing.path.name, rows))
        report.batch_ids.append(landing.batch_id)


def ingest_source(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str, landing_root: Path
) -> IngestionReport:
    """Ingest every new, complete file of a source; a bad file is reported, the good ones
    still land, and files refused before but acknowledged are passed over."""
    ensure_bronze(con, spec, source_name)
    source = spec.sources[source_name]
    paths, unknown = files.discover_all(landing_root, source_name, source)
    report = IngestionReport()
    known = files.known_files(con, spec.schema("bronze"), source_name)
    _refuse_unknown(source_name, source, unknown, known.acknowledged, report)
    states = []
    for path in paths:
        try:
            states.append(FileState.of(path))
        except FileNotFoundError:
            continue
    fresh = [s for s in states if (str(s.path), s.size_bytes, s.mtime_ns) not in known.by_state]
    complete, report.in_flight = files.settled(fresh, source.quiet_seconds)
    taken = {s.path for s in complete}
    states = [s for s in states if s.path in taken or s not in fresh]
    pending = _classify(con, spec, source_name, states, report)
    if pending:
        _take(con, spec, source_name, pending, report)
    acknowledged = {a.split(": ", 1)[0] for a in report.acknowledged}
    report.refusals = [r for r in report.refusals if str(r[0]) not in acknowledged]
    files.record_refusals(con, spec.schema("bronze"), source_name, report.refusals)
    return report
