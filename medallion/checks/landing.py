"""Landing → bronze contracts: every file readable, each ingested once and in full, and
schema drift against the spec and the previous batch made visible."""

from __future__ import annotations

import duckdb

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome
from medallion.spec import ProductSpec
from medallion.zones.bronze import LEDGER, IngestionReport


def files_readable(report: IngestionReport) -> CheckOutcome:
    """Every delivered file was ingested, was already in the ledger, or was refused before and
    acknowledged by a person (`medallion landing ack`)."""
    return CheckOutcome(
        name=names.FILES_READABLE,
        passed=not report.failed,
        severity="ERROR",
        description=(
            "every landing file was readable"
            if not report.failed
            else f"{len(report.failed)} landing file(s) refused; nothing of them was ingested "
            "(`medallion landing refused` lists them, `medallion landing ack` passes one over)"
        ),
        metadata={
            "files_ingested": len(report.ingested),
            "files_already_ingested": len(report.skipped),
            "files_refused": len(report.failed),
            "files_acknowledged": len(report.acknowledged),
            "refused": report.failed[:20],
            "acknowledged": report.acknowledged[:20],
            "duplicates": report.duplicates[:20],
        },
    )


def file_changes(report: IngestionReport) -> CheckOutcome:
    """Files still being written, and files changed after they were ingested, by name."""
    found = len(report.in_flight) + len(report.changed)
    return CheckOutcome(
        name=names.FILE_CHANGES,
        passed=found == 0,
        severity="WARN",
        description=(
            "no file in flight or changed after ingestion"
            if found == 0
            else f"{len(report.in_flight)} file(s) still being written (left for a later run), "
            f"{len(report.changed)} changed after ingestion (new content = new batch)"
        ),
        metadata={
            "files_in_flight": len(report.in_flight),
            "files_changed_after_ingestion": len(report.changed),
            "in_flight": report.in_flight[:20],
            "changed": report.changed[:20],
        },
    )


def file_ledger(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str
) -> CheckOutcome:
    """The ledger and bronze agree batch by batch: no content twice, no rows missing or extra."""
    table = spec.table("bronze", source_name)
    ledger = f"{spec.schema('bronze')}.{LEDGER}"
    uncounted = con.execute(
        f"""SELECT file_name, records, row_count FROM {ledger}
            WHERE source = ? AND records IS NOT NULL AND records <> row_count
            ORDER BY file_name""",
        [source_name],
    ).fetchall()
    duplicated, mismatched, unledgered, missing, batches = con.execute(
        f"""
        WITH b AS (SELECT _batch_id, count(*) AS n FROM {table} GROUP BY 1),
             l AS (SELECT batch_id, row_count FROM {ledger} WHERE source = ?),
             twice AS (SELECT sha256 FROM {ledger} WHERE source = ? GROUP BY 1 HAVING count(*) > 1)
        SELECT (SELECT count(*) FROM twice),
               count(*) FILTER (b.n IS NOT NULL AND l.row_count IS NOT NULL AND b.n <> l.row_count),
               count(*) FILTER (l.batch_id IS NULL),
               count(*) FILTER (b._batch_id IS NULL),
               count(*)
        FROM b FULL JOIN l ON b._batch_id = l.batch_id
        """,
        [source_name, source_name],
    ).fetchone()
    problems = duplicated + mismatched + unledgered + missing + len(uncounted)
    lost = [
        f"{name}: {records:,} records in the file, {rows:,} rows in bronze ({rows - records:+,})"
        for name, records, rows in uncounted
    ]
    return CheckOutcome(
        name=names.FILE_LEDGER,
        passed=problems == 0,
        severity="ERROR",
        description=(
            f"{batches} batch(es), each ingested once and in full"
            if problems == 0
            else "; ".join(lost[:3]) or "bronze and the file ledger disagree"
        ),
        metadata={
            "records_not_in_bronze": lost[:20],
            "batches": batches,
            "content_ingested_twice": duplicated,
            "row_count_mismatches": mismatched,
            "batches_without_ledger_entry": unledgered,
            "ledger_entries_without_rows": missing,
        },
    )


def schema_drift(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str, batch_ids: list[str]
) -> CheckOutcome:
    """New, missing or retyped columns in the files ingested now, against the spec and the
    batch delivered before each of them."""
    ledger = f"{spec.schema('bronze')}.{LEDGER}"
    rows = con.execute(
        f"""
        WITH ordered AS (
            SELECT batch_id, file_name, extra_columns, missing_columns, retyped_columns,
                   lag(extra_columns) OVER w AS previous_extra,
                   lag(missing_columns) OVER w AS previous_missing
            FROM {ledger} WHERE source = ?
            WINDOW w AS (ORDER BY ingested_at, file_name)
        )
        SELECT file_name, extra_columns, missing_columns, retyped_columns,
               extra_columns IS DISTINCT FROM previous_extra
                 OR missing_columns IS DISTINCT FROM previous_missing AS changed_since_previous
        FROM ordered WHERE list_contains(?, batch_id) ORDER BY file_name
        """,
        [source_name, batch_ids],
    ).fetchall()
    drifted = [r for r in rows if r[1] or r[2] or r[3]]
    policy = spec.sources[source_name].schema_drift
    return CheckOutcome(
        name=names.SCHEMA_DRIFT,
        passed=not drifted,
        severity="WARN",
        description=(
            f"{len(rows)} new file(s) match the declared columns"
            if not drifted
            else f"{len(drifted)} new file(s) differ from the declared columns (policy: {policy})"
        ),
        metadata={
            "policy": policy,
            "files_checked": len(rows),
            "files_with_drift": len(drifted),
            "new_columns": sorted({c for r in drifted for c in r[1]}),
            "missing_columns": sorted({c for r in drifted for c in r[2]}),
            "retyped_columns": sorted({c for r in drifted for c in r[3]}),
            "changed_since_previous_batch": [r[0] for r in rows if r[4]][:20],
        },
    )
