"""The floor: DuckDB alone loading every landing file into a fresh database, no framework.

It is the least work any pipeline over these files must do (read each file once, write it
to a table), so the pipeline's time and memory are judged as a multiple of it. DuckDB runs
with its defaults and is given the declared column types, as the pipeline, which knows its
spec, does not sniff types either (sniffing 120 small CSV files alone costs about a second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from medallion.zones.bronze import EXTENSIONS
from medallion.zones.sql import literal, quote


@dataclass(frozen=True)
class SourceLayout:
    """How a source is delivered: its format and its declared column types."""

    format: str
    columns: dict[str, str]


@dataclass(frozen=True)
class FloorResult:
    """Wall time of the whole load (connect to close) and rows loaded per source."""

    seconds: float
    rows: dict[str, int]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _struct(columns: dict[str, str]) -> str:
    return (
        "{" + ", ".join(f"{literal(name)}: {literal(kind)}" for name, kind in columns.items()) + "}"
    )


def reader_sql(fmt: str, folder: Path, columns: dict[str, str] | None = None) -> str | None:
    """DuckDB's own reader over every file of a source at once.

    Args:
        fmt: the source format, csv, parquet or json.
        folder: the source's landing folder.
        columns: declared column types, used for CSV and JSON; without them DuckDB detects
            the types itself.

    Returns:
        A table function call reading all the folder's files of that format, or None when
        the folder holds none.
    """
    found = (
        {p.suffix.lower() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    )
    present = sorted(found & set(EXTENSIONS[fmt]))
    if not present:
        return None
    globs = [literal(str(folder / f"*{extension}")) for extension in present]
    files = f"[{', '.join(globs)}]" if len(globs) > 1 else globs[0]
    if fmt == "csv":
        typed = f", auto_detect = false, columns = {_struct(columns)}" if columns else ""
        return f"read_csv({files}, header = true{typed})"
    if fmt == "json":
        typed = f", columns = {_struct(columns)}" if columns else ""
        return f"read_json({files}, format = 'newline_delimited'{typed})"
    return f"read_parquet({files})"


def load_floor(landing: Path, sources: dict[str, SourceLayout], database: Path) -> FloorResult:
    """Load each source's files into one table of a new DuckDB file; time it, close included.

    Args:
        landing: folder with one sub-folder per source.
        sources: source name to its format and declared columns.
        database: the DuckDB file to create; it must not exist yet.

    Returns:
        Seconds from connecting to the closed, checkpointed file, and rows per source.
    """
    if database.exists():
        raise FileExistsError(f"{database}: the floor loads into a fresh database")
    started = time.perf_counter()
    rows: dict[str, int] = {}
    con = duckdb.connect(str(database))
    try:
        for source, layout in sources.items():
            reader = reader_sql(layout.format, landing / source, layout.columns)
            if reader is None:
                rows[source] = 0
                continue
            table = quote(source)
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {reader}")
            rows[source] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return FloorResult(seconds=time.perf_counter() - started, rows=rows)
