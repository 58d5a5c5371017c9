"""The physical records of a delivered text file, counted apart from the parser that reads it.

A CSV parser that meets an unbalanced quote reads on to the next quote, often the end of the
file, so its own count of rows proves nothing: bronze would balance parsed + rejected rows while
most of the file is gone. This scan works on the bytes (numpy over a memory map, chunk by chunk;
no Python loop over lines): every line, its length and its quotes. Lines with an odd number of
quotes open or close a value that spans lines; consecutive ones are paired, and a pair is kept
as one record only when its text parses as one row of the header's width within
`max_record_lines`. Otherwise the opening line alone is a bad record and reading resumes on the
next line: a stray quote costs one record, not the rest of the file.
"""

from __future__ import annotations

import csv
import io
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHUNK_BYTES = 1 << 26
NEWLINE, QUOTE, CARRIAGE_RETURN = 10, 34, 13


@dataclass(frozen=True)
class LineScan:
    """Byte offsets of every line (content without its line break) and its quote count."""

    starts: np.ndarray
    ends: np.ndarray
    quotes: np.ndarray

    @property
    def count(self) -> int:
        return len(self.starts)

    def line_of(self, offset: int) -> int:
        """0-based index of the line holding byte `offset`."""
        return int(np.searchsorted(self.starts, offset, side="right") - 1)


@dataclass(frozen=True)
class CsvLayout:
    """Where a CSV file's records are: the count, the lines cut out as bad records (each with
    the reason) and the records spanning several lines (first line → last line, 0-based)."""

    lines: LineScan
    records: int
    bad_lines: dict[int, str] = field(default_factory=dict)
    spans: dict[int, int] = field(default_factory=dict)

    def record_bytes(self, start_line: int) -> tuple[int, int]:
        """Byte range of the record starting on a line, its line breaks inside included."""
        last = self.spans.get(start_line, start_line)
        return int(self.lines.starts[start_line]), int(self.lines.ends[last])


def _scan(buffer: np.ndarray, count_quotes: bool = True) -> LineScan:
    size = len(buffer)
    breaks, quotes_before = [], []
    seen_quotes = 0
    for offset in range(0, size, CHUNK_BYTES):
        chunk = buffer[offset : offset + CHUNK_BYTES]
        local_breaks = np.flatnonzero(chunk == NEWLINE)
        local_quotes = np.flatnonzero(chunk == QUOTE) if count_quotes else local_breaks[:0]
        breaks.append(local_breaks + offset)
        quotes_before.append(np.searchsorted(local_quotes, local_breaks) + seen_quotes)
        seen_quotes += len(local_quotes)
    ends = np.concatenate(breaks) if breaks else np.zeros(0, dtype=np.int64)
    cumulative = np.concatenate(quotes_before) if quotes_before else np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([0], ends + 1)).astype(np.int64)
    if size > starts[-1]:
        ends = np.concatenate((ends, [size]))
        cumulative = np.concatenate((cumulative, [seen_quotes]))
    else:
        starts = starts[:-1]
    ends = ends.astype(np.int64)
    carriage = (ends > starts) & (buffer[np.maximum(ends - 1, 0)] == CARRIAGE_RETURN)
    ends = ends - carriage
    quotes = np.diff(np.concatenate(([0], cumulative))).astype(np.int64)
    return LineScan(starts=starts, ends=ends, quotes=quotes)


def _one_row(text: bytes, width: int) -> bool:
    try:
        rows = list(csv.reader(io.StringIO(text.decode("utf-8", "replace")), strict=True))
    except csv.Error:
        return False
    return len(rows) == 1 and len(rows[0]) == width


def _one_record(buffer: np.ndarray, lines: LineScan, first: int, last: int, width: int) -> bool:
    """Lines first..last read as one record of `width` fields, and no line between them is a
    whole record by itself (two stray quotes a few lines apart would swallow those)."""
    for inner in range(first + 1, last):
        if _one_row(bytes(buffer[lines.starts[inner] : lines.ends[inner]]), width):
            return False
    return _one_row(bytes(buffer[lines.starts[first] : lines.ends[last]]), width)


def _pair_quoted_lines(
    buffer: np.ndarray, lines: LineScan, width: int, max_record_lines: int
) -> tuple[dict[int, str], dict[int, int]]:
    """Pair lines with an odd number of quotes into multi-line records, or cut them out.

    The loop runs over the odd lines only, a handful in a clean file.
    """
    odd = np.flatnonzero(lines.quotes[1:] % 2 == 1) + 1
    bad: dict[int, str] = {}
    spans: dict[int, int] = {}
    index = 0
    while index < len(odd):
        first = int(odd[index])
        if _one_row(bytes(buffer[lines.starts[first] : lines.ends[first]]), width):
            index += 1  # a quote inside an unquoted value (SPR"ING) opens nothing
            continue
        if index + 1 < len(odd):
            last = int(odd[index + 1])
            if last - first + 1 <= max_record_lines and _one_record(
                buffer, lines, first, last, width
            ):
                spans[first] = last
                index += 2
                continue
        bad[first] = (
            "unbalanced quote: a quoted value opens on this line and does not close within "
            f"{max_record_lines} line(s) as one record of {width} fields; the line was cut out "
            "and reading resumed on the next line"
        )
        index += 1
    return bad, spans


def _records(lines: LineScan, spans: dict[int, int], skip: int) -> int:
    filled = (lines.ends > lines.starts).astype(np.int64)
    filled[:skip] = 0
    filled_before = np.concatenate(([0], np.cumsum(filled)))
    inside = sum(
        int(filled_before[last + 1] - filled_before[first]) for first, last in spans.items()
    )
    return int(filled_before[-1]) - inside + len(spans)


def _mapped(path: Path):
    handle = path.open("rb")
    try:
        return handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except BaseException:
        handle.close()
        raise


def scan_csv(path: Path, width: int, max_record_lines: int) -> CsvLayout:
    """The records of a CSV file with a header line of `width` fields (blank lines are none)."""
    if path.stat().st_size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CsvLayout(LineScan(empty, empty, empty), 0)
    handle, mapped = _mapped(path)
    try:
        buffer = np.frombuffer(mapped, dtype=np.uint8)
        lines = _scan(buffer)
        bad, spans = _pair_quoted_lines(buffer, lines, width, max_record_lines)
        del buffer
    finally:
        mapped.close()
        handle.close()
    return CsvLayout(
        lines=lines, records=_records(lines, spans, skip=1), bad_lines=bad, spans=spans
    )


def scan_text_lines(path: Path) -> LineScan:
    """Every line of a file (for newline-delimited JSON: one record per non-blank line; a line
    break cannot occur inside a JSON string, so quotes are not looked at)."""
    if path.stat().st_size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return LineScan(empty, empty, empty)
    handle, mapped = _mapped(path)
    try:
        buffer = np.frombuffer(mapped, dtype=np.uint8)
        lines = _scan(buffer, count_quotes=False)
        del buffer
    finally:
        mapped.close()
        handle.close()
    return lines


def read_range(path: Path, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file: the raw text of one record."""
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def placeholder(length: int) -> bytes:
    """Bytes of the same length as a cut-out line that the CSV parser rejects as one line
    (invalid UTF-8), so its byte positions and line numbers stay those of the file.

    A line of empty fields would not do: DuckDB reads surplus empty fields as a row.
    """
    return b"\xff" * length
