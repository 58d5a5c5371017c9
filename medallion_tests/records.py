"""The invariant every test that ingests must keep: each delivered file's records, counted here
from the file itself, equal its rows in bronze, and the ledger says the same.

The count here is independent of both the CSV parser and medallion's record scan: a text file's
physical non-blank lines equal its records plus the line breaks kept inside values (a quoted
value over several lines, or the raw text of a rejected record); a JSON file has one record per
non-blank line; a Parquet file's footer gives its rows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow.parquet as pq


def _physical_records(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip(b"\r\n"))
    return lines - 1 if fmt == "csv" else lines


def _kept_breaks(con: duckdb.DuckDBPyConnection, table: str, batch: str) -> int:
    columns = [
        name
        for name, kind in con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE {table})"
        ).fetchall()
        if kind == "VARCHAR" and name not in ("_batch_id", "_source_file", "_parse_error")
    ]
    text = " + ".join(
        f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)"
        if c != "_rescued_data"
        else "coalesce(length(json_extract_string(_rescued_data, '$.raw_line')) - "
        "length(replace(json_extract_string(_rescued_data, '$.raw_line'), chr(10), '')), 0)"
        for c in columns
    )
    return int(
        con.execute(
            f"SELECT coalesce(sum({text}), 0) FROM {table} WHERE _batch_id = ?", [batch]
        ).fetchone()[0]
    )


def assert_every_record_landed(con: duckdb.DuckDBPyConnection) -> int:
    """Check every ledger entry of every product in the warehouse; returns files checked."""
    schemas = [
        row[0]
        for row in con.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = '_ingested_files'"
        ).fetchall()
    ]
    checked = 0
    for schema in schemas:
        entries = con.execute(
            f"SELECT source, path, sha256, batch_id, records, row_count FROM {schema}._ingested_files"
        ).fetchall()
        for source, path, sha, batch, records, row_count in entries:
            table = f"{schema}.{source}"
            rows = con.execute(
                f"SELECT count(*) FROM {table} WHERE _batch_id = ?", [batch]
            ).fetchone()[0]
            assert rows == row_count == records, (
                f"{path}: ledger records {records}, ledger rows {row_count}, bronze rows {rows}"
            )
            file = Path(path)
            if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != sha:
                continue
            fmt = (
                "parquet"
                if file.suffix == ".parquet"
                else "csv"
                if file.suffix == ".csv"
                else "json"
            )
            physical = _physical_records(file, fmt)
            breaks = _kept_breaks(con, table, batch) if fmt == "csv" else 0
            assert physical == rows + breaks, (
                f"{path}: {physical} physical records in the file, {rows} rows in bronze "
                f"(+{breaks} line breaks kept inside values)"
            )
            checked += 1
    return checked
