"""CSV and newline-delimited JSON into bronze: every record of the file lands, parsed or raw.

Both formats are counted apart from their parser (medallion.zones.records) and the count must
equal the rows appended. A CSV line cut out by the record scan (an unbalanced quote) is replaced,
in a scratch copy of the same length, by a line the parser rejects, so its byte positions stay
those of the delivered file; a quote the scan cannot see (`"Ann" x`) makes DuckDB swallow the
rest of the file, which the count reveals: that line is cut out too and the file read again.
Rejected records keep their whole raw text, read from the delivered bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from medallion.zones.records import (
    CsvLayout,
    placeholder,
    read_range,
    scan_csv,
    scan_text_lines,
)
from medallion.zones.sql import literal, quote

RESCUED_COLUMN = "_rescued_data"
PARSE_ERROR_COLUMN = "_parse_error"
MAX_REREADS = 20
"""Re-reads of one CSV file after a quote its scan could not see; each cuts one more line."""


class LandingFileError(ValueError):
    """A landing file that cannot be ingested; names the file and the problem."""


@dataclass(frozen=True)
class TextAppend:
    """What appending one text file did: rows parsed, records kept raw, records counted."""

    parsed: int
    malformed: int
    records: int


def _struct(columns: dict[str, str]) -> str:
    return (
        "{" + ", ".join(f"{literal(name)}: {literal(kind)}" for name, kind in columns.items()) + "}"
    )


def csv_reader(path: Path, columns: list[str], rejects: str) -> str:
    """DuckDB's strict CSV reader with the header's columns as text and rejects kept."""
    return (
        f"read_csv({literal(str(path))}, header = true, auto_detect = false, delim = ',', "
        f"quote = '\"', escape = '\"', strict_mode = true, "
        f"columns = {_struct(dict.fromkeys(columns, 'VARCHAR'))}, store_rejects = true, "
        f"rejects_table = '{rejects}', rejects_scan = '{rejects}_scan')"
    )


def _scratch_copy(path: Path, layout: CsvLayout, cut: dict[int, str], folder: Path) -> Path:
    """A copy of the file with each cut line replaced by a rejected line of the same length."""
    target = folder / path.name
    with path.open("rb") as source, target.open("wb") as out:
        position = 0
        for line in sorted(cut):
            start, end = int(layout.lines.starts[line]), int(layout.lines.ends[line])
            out.write(source.read(start - position))
            out.write(placeholder(end - start))
            source.seek(end)
            position = end
        shutil.copyfileobj(source, out, 1 << 20)
    return target


def _rejects(con: duckdb.DuckDBPyConnection, rejects: str) -> list[tuple]:
    """One reject per record: its start byte, the parser's error and the column it names."""
    rows = con.execute(
        f"""SELECT line_byte_position, error_type, error_message, column_name
            FROM {rejects}
            QUALIFY row_number() OVER (PARTITION BY line_byte_position ORDER BY column_idx) = 1
            ORDER BY line_byte_position"""
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS {rejects}")
    con.execute(f"DROP TABLE IF EXISTS {rejects}_scan")
    return rows


def _reason(layout: CsvLayout, cut: dict[int, str], reject: tuple) -> tuple[int, str]:
    position, error_type, message, column = reject
    line = layout.lines.line_of(int(position))
    if line in cut:
        return line, f"line {line + 1}: {cut[line]}"
    where = f"line {line + 1}" + (f", column {column}" if column else "")
    return line, f"{where}: {error_type}: {message}"


def _swallowing(layout: CsvLayout, cut: dict[int, str], rejects: list[tuple]) -> dict[int, str]:
    """Lines where the parser met a quote it could not close and may have read on."""
    found = {}
    for position, error_type, message, _ in rejects:
        line = layout.lines.line_of(int(position))
        if error_type == "UNQUOTED VALUE" and line not in cut:
            found[line] = (
                f"badly quoted value ({message.rstrip('.')}); the line was cut out and "
                "reading resumed on the next line"
            )
    return found


def append_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: list[str],
    max_record_lines: int,
    insert_parsed: Callable[[str], int],
    insert_raw: Callable[[pa.Table, int], int],
    discard: Callable[[], None],
) -> TextAppend:
    """Append a CSV file's records: parsed rows by `insert_parsed(reader)`, rejected records
    whole by `insert_raw(table, first_row_number)`, inside the caller's transaction;
    `discard()` removes a read that lost records before the file is read again.

    Raises:
        LandingFileError: no data records, or records that the parser cannot account for.
    """
    layout = scan_csv(path, len(columns), max_record_lines)
    if layout.records == 0:
        raise LandingFileError(f"{path}: header only, no data records; nothing ingested")
    cut = dict(layout.bad_lines)
    with tempfile.TemporaryDirectory(prefix="medallion-csv-") as scratch:
        for attempt in range(MAX_REREADS + 1):
            read = _scratch_copy(path, layout, cut, Path(scratch)) if cut else path
            rejects_table = f"_rejects_{attempt}"
            parsed = insert_parsed(csv_reader(read, columns, rejects_table))
            rejects = _rejects(con, rejects_table)
            if parsed + len(rejects) == layout.records:
                break
            more = _swallowing(layout, cut, rejects)
            if not more:
                _mismatch(path, layout.records, parsed, len(rejects))
            cut.update(more)
            discard()
        else:
            _mismatch(path, layout.records, parsed, len(rejects))
    raw = [_reason(layout, cut, reject) for reject in rejects]
    malformed = insert_raw(_raw_table(path, layout, raw), parsed) if raw else 0
    return TextAppend(parsed=parsed, malformed=malformed, records=layout.records)


def _mismatch(path: Path, records: int, parsed: int, rejected: int) -> None:
    raise LandingFileError(
        f"{path}: the file holds {records:,} records but the CSV parser read {parsed:,} and "
        f"rejected {rejected:,} ({parsed + rejected - records:+,}); nothing ingested"
    )


def _raw_table(path: Path, layout: CsvLayout, raw: list[tuple[int, str]]) -> pa.Table:
    """Rejected records with their whole raw text (no parser cap) and their reason."""
    texts, reasons = [], []
    for line, reason in raw:
        start, end = layout.record_bytes(line)
        texts.append(
            json.dumps(
                {"raw_line": read_range(path, start, end).decode("utf-8", "backslashreplace")},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        )
        reasons.append(reason)
    return pa.table({RESCUED_COLUMN: texts, PARSE_ERROR_COLUMN: reasons})


def json_lines(path: Path) -> tuple[pa.Table, int]:
    """A newline-delimited JSON file's non-blank lines as an Arrow table (slices of the file's
    bytes, line breaks included; no Python loop), each with its line and record number, and
    how many there are."""
    lines = scan_text_lines(path)
    data = pa.py_buffer(path.read_bytes())
    offsets = np.concatenate((lines.starts, [data.size])).astype(np.int64)
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), lines.count, [None, pa.py_buffer(offsets), data]
    )
    filled = lines.ends > lines.starts
    table = pa.table(
        {
            "_line": array,
            "_line_number": np.arange(1, lines.count + 1, dtype=np.int64),
            "_record": np.cumsum(filled, dtype=np.int64),
        }
    ).filter(pa.array(filled))
    return table, table.num_rows


def json_records_sql(view: str, columns: list[str] | None = None) -> str:
    """Each record (non-blank line): its numbers, text, kind, why it is not a JSON object, and
    the values of `columns` as text (one parse of the line for all of them)."""
    paths = ", ".join(literal("$." + json.dumps(c)) for c in columns or [])
    values = f"json_extract_string(_text, [{paths}])" if columns else "NULL"
    return f"""
        WITH decoded AS (
            SELECT _line_number, _record, _line,
                   ltrim(rtrim(try(decode(_line)), chr(10) || chr(13)), chr(65279)) AS _text
            FROM {view}
        ),
        kinds AS (SELECT *, try(json_type(_text)) AS _kind FROM decoded)
        SELECT *,
               CASE WHEN _text IS NULL THEN 'line ' || _line_number || ': not UTF-8 text'
                    WHEN _kind IS NULL THEN 'line ' || _line_number || ': not valid JSON'
                    WHEN _kind <> 'OBJECT' THEN 'line ' || _line_number || ': a JSON '
                         || lower(_kind) || ', not an object of named values'
               END AS _problem,
               CASE WHEN _kind = 'OBJECT' THEN {values} END AS _values
        FROM kinds
    """


def json_keys_sql(view: str) -> str:
    """The keys of a file's JSON objects, in order of first appearance."""
    return f"""
        SELECT key FROM (
            SELECT unnest(json_keys(_text)) AS key, _record
            FROM ({json_records_sql(view)}) WHERE _kind = 'OBJECT'
        ) GROUP BY key ORDER BY min(_record), key
    """


def json_value(index: int) -> str:
    """SQL of the index-th (0-based) extracted column's delivered value as text."""
    return f"_values[{index + 1}]"


def json_rescue(extra: list[str]) -> str:
    """SQL keeping a bad line's raw text (bytes that are not UTF-8 escaped), or the extra
    columns of a good one, as JSON."""
    escaped = "regexp_replace(CAST(_line AS VARCHAR), '(\\\\x0D)?\\\\x0A$', '')"
    raw = f"json_object('raw_line', coalesce(_text, {escaped}))::VARCHAR"
    if not extra:
        return f"CASE WHEN _problem IS NOT NULL THEN {raw} END"
    pairs = ", ".join(
        f"{literal(c)}, json_extract(_text, {literal('$.' + json.dumps(c))})" for c in extra
    )
    return f"CASE WHEN _problem IS NOT NULL THEN {raw} ELSE json_object({pairs})::VARCHAR END"


def quoted(columns: list[str]) -> str:
    return ", ".join(quote(c) for c in columns)
